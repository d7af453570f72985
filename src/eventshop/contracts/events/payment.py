"""Payment Topic events."""

from __future__ import annotations

from eventshop.contracts.envelope import Event
from eventshop.contracts.values import OrderLine


class PaymentProcessedEvent(Event):
    """The order's amount was charged; carries the lines so Shipping can build the parcel."""

    topic = "payment"

    order_id: str
    customer_id: str
    payment_id: str
    amount: int
    currency: str
    lines: list[OrderLine]


class PaymentFailedEvent(Event):
    """The order could not be paid. `reason` is a stable code (card_declined, out_of_stock, ...)."""

    topic = "payment"

    order_id: str
    customer_id: str
    payment_id: str | None = None
    amount: int
    currency: str
    reason: str
    message: str = ""
