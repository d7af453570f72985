"""The order state machine: which event moves an order where, and what it then announces.

| from       | event                    | to         | emits               |
|------------|--------------------------|------------|---------------------|
| created    | ShoppingCartOrderedEvent | processing | OrderProcessedEvent |
| processing | PaymentProcessedEvent    | paid       |                     |
| processing | PaymentFailedEvent       | cancelled  | OrderCancelledEvent |
| processing | ShippingProcessedEvent   | shipped    |                     |
| processing | ShippingFailedEvent      | cancelled  | OrderCancelledEvent |
| paid       | ShippingProcessedEvent   | shipped    |                     |
| paid       | ShippingFailedEvent      | cancelled  | OrderCancelledEvent |

Anything else is stale or a duplicate and is ignored, except a payment or shipping
result for an order still `created`, which is early and retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OrderStatus(StrEnum):
    CREATED = "created"
    PROCESSING = "processing"
    PAID = "paid"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (OrderStatus.SHIPPED, OrderStatus.CANCELLED)


class Outcome(StrEnum):
    APPLY = "apply"
    IGNORE = "ignore"  # stale or duplicate: the order is past this point
    EARLY = "early"  # the order is not there yet: retry later


class Emit(StrEnum):
    NONE = "none"
    PROCESSED = "OrderProcessedEvent"
    CANCELLED = "OrderCancelledEvent"


@dataclass(frozen=True)
class Transition:
    source: OrderStatus
    event: str
    target: OrderStatus
    emit: Emit = Emit.NONE


S = OrderStatus
TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.CREATED, "ShoppingCartOrderedEvent", S.PROCESSING, Emit.PROCESSED),
    Transition(S.PROCESSING, "PaymentProcessedEvent", S.PAID),
    Transition(S.PROCESSING, "PaymentFailedEvent", S.CANCELLED, Emit.CANCELLED),
    Transition(S.PROCESSING, "ShippingProcessedEvent", S.SHIPPED),
    Transition(S.PROCESSING, "ShippingFailedEvent", S.CANCELLED, Emit.CANCELLED),
    Transition(S.PAID, "ShippingProcessedEvent", S.SHIPPED),
    Transition(S.PAID, "ShippingFailedEvent", S.CANCELLED, Emit.CANCELLED),
)
_TABLE = {(t.source, t.event): t for t in TRANSITIONS}
SAGA_EVENTS = frozenset(t.event for t in TRANSITIONS)


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    transition: Transition | None = None


def decide(status: OrderStatus | None, event: str) -> Decision:
    """What an event does to an order in `status` (None: the order does not exist yet)."""
    if event not in SAGA_EVENTS:
        raise ValueError(f"the order saga has no event {event}")
    if status is None:
        return Decision(Outcome.EARLY)
    found = _TABLE.get((status, event))
    if found is not None:
        return Decision(Outcome.APPLY, found)
    if status is OrderStatus.CREATED:
        return Decision(Outcome.EARLY)
    return Decision(Outcome.IGNORE)


NOT_FINAL = (OrderStatus.CREATED, OrderStatus.PROCESSING, OrderStatus.PAID)
WAITING_FOR = {
    OrderStatus.CREATED: "ShoppingCartOrderedEvent (the cart's checkout event)",
    OrderStatus.PROCESSING: "PaymentProcessedEvent or PaymentFailedEvent (stock, then the charge)",
    OrderStatus.PAID: "ShippingProcessedEvent or ShippingFailedEvent",
}


def waiting_for(status: OrderStatus) -> str:
    """What an order that is not final waits for, for an operator looking at a stuck one."""
    return WAITING_FOR.get(status, "nothing: the order is final")


def cancellation_reason(event: str, reason: str) -> str:
    """Stable reason codes: a payment failure keeps its code; shipping failures are prefixed."""
    return f"shipping_failed:{reason}" if event == "ShippingFailedEvent" else reason


def order_total(lines: list[tuple[int, int]]) -> int:
    """Sum of quantity x unit price, in minor units."""
    return sum(quantity * unit_price for quantity, unit_price in lines)
