"""Shopping Cart Topic events."""

from __future__ import annotations

from eventshop.contracts.envelope import Event
from eventshop.contracts.values import OrderLine


class ShoppingCartOrderedEvent(Event):
    """A cart was checked out and its order created; carries the priced lines and total."""

    topic = "shopping-cart"

    cart_id: str
    order_id: str
    customer_id: str
    lines: list[OrderLine]
    total: int
    currency: str
