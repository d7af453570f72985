"""The orchestrated saga's rules: which call comes next, what its answer means, when to try again.

One order runs one step at a time; each answer moves it along this table (the same causes and
compensations as the choreography, where each arrow is an event instead):

| step                   | answer                 | what happened            | next                   |
|------------------------|------------------------|--------------------------|------------------------|
| notify-confirmed       | sent                   |                          | reserve                |
| reserve                | reserved               | InventoryProcessedEvent  | charge                 |
| reserve                | rejected               | InventoryOutOfStockEvent | notify-out-of-stock    |
| notify-out-of-stock    | sent                   |                          | void                   |
| void                   | voided                 | PaymentFailedEvent       | notify-cancelled       |
| charge                 | succeeded              | PaymentProcessedEvent    | ship                   |
| charge                 | failed                 | PaymentFailedEvent       | notify-payment-failed  |
| charge                 | pending, unknown       | (not yet: ask again)     | charge                 |
| notify-payment-failed  | sent                   |                          | release                |
| release                | released               |                          | notify-cancelled       |
| ship                   | created                | ShippingProcessedEvent   | notify-shipped         |
| ship                   | failed                 | ShippingFailedEvent      | notify-shipping-failed |
| notify-shipping-failed | sent                   |                          | refund                 |
| refund                 | refunded               |                          | release                |
| notify-shipped         | sent                   |                          | done                   |
| notify-cancelled       | sent                   |                          | done                   |

What happened is fed to the order state machine (domain.py) as the event of that name, so an
order moves through the same states, with the same timeline, in both styles. Every call is
idempotent on the order (and carries `idempotency_key`): an answer lost to a timeout or a crash is
found out by making the same call again, never assumed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eventshop.contracts.envelope import Event
from eventshop.contracts.events import (
    InventoryOutOfStockEvent,
    InventoryProcessedEvent,
    PaymentFailedEvent,
    PaymentProcessedEvent,
    ShippingFailedEvent,
    ShippingProcessedEvent,
)
from eventshop.contracts.values import OrderLine


class Step(StrEnum):
    NOTIFY_CONFIRMED = "notify-confirmed"
    RESERVE = "reserve"
    NOTIFY_OUT_OF_STOCK = "notify-out-of-stock"
    VOID = "void"
    CHARGE = "charge"
    NOTIFY_PAYMENT_FAILED = "notify-payment-failed"
    RELEASE = "release"
    SHIP = "ship"
    NOTIFY_SHIPPED = "notify-shipped"
    NOTIFY_SHIPPING_FAILED = "notify-shipping-failed"
    REFUND = "refund"
    NOTIFY_CANCELLED = "notify-cancelled"
    DONE = "done"


class SagaStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    PARKED = "parked"  # a call refused for good, or failing past the retry budget: an operator looks


class Answer(StrEnum):
    OK = "ok"  # the step's happy answer
    REFUSED = "refused"  # the step's unhappy but final answer (out of stock, declined, undeliverable)
    NOT_YET = "not_yet"  # the callee has not settled it yet (a charge of unknown outcome): ask again


S, A = Step, Answer
NEXT: dict[tuple[Step, Answer], Step] = {
    (S.NOTIFY_CONFIRMED, A.OK): S.RESERVE,
    (S.RESERVE, A.OK): S.CHARGE,
    (S.RESERVE, A.REFUSED): S.NOTIFY_OUT_OF_STOCK,
    (S.NOTIFY_OUT_OF_STOCK, A.OK): S.VOID,
    (S.VOID, A.OK): S.NOTIFY_CANCELLED,
    (S.CHARGE, A.OK): S.SHIP,
    (S.CHARGE, A.REFUSED): S.NOTIFY_PAYMENT_FAILED,
    (S.NOTIFY_PAYMENT_FAILED, A.OK): S.RELEASE,
    (S.RELEASE, A.OK): S.NOTIFY_CANCELLED,
    (S.SHIP, A.OK): S.NOTIFY_SHIPPED,
    (S.SHIP, A.REFUSED): S.NOTIFY_SHIPPING_FAILED,
    (S.NOTIFY_SHIPPING_FAILED, A.OK): S.REFUND,
    (S.REFUND, A.OK): S.RELEASE,
    (S.NOTIFY_SHIPPED, A.OK): S.DONE,
    (S.NOTIFY_CANCELLED, A.OK): S.DONE,
}

# The callee's `status` in its answer, per step; a status not listed is not an answer this saga expects.
STATUSES: dict[Step, dict[str, Answer]] = {
    S.RESERVE: {"reserved": A.OK, "shipped": A.OK, "rejected": A.REFUSED},
    S.VOID: {"voided": A.OK},
    S.CHARGE: {"succeeded": A.OK, "failed": A.REFUSED, "pending": A.NOT_YET, "unknown": A.NOT_YET},
    S.RELEASE: {"released": A.OK, "rejected": A.OK, "cancelled": A.OK},
    S.SHIP: {"created": A.OK, "failed": A.REFUSED},
    S.REFUND: {"refunded": A.OK, "failed": A.OK, "voided": A.OK},
}

# The notification steps, and the event (of those the saga has seen) that Notification words the email from.
NOTICES: dict[Step, str] = {
    S.NOTIFY_CONFIRMED: "OrderProcessedEvent",
    S.NOTIFY_OUT_OF_STOCK: "InventoryOutOfStockEvent",
    S.NOTIFY_PAYMENT_FAILED: "PaymentFailedEvent",
    S.NOTIFY_SHIPPED: "ShippingProcessedEvent",
    S.NOTIFY_SHIPPING_FAILED: "ShippingFailedEvent",
    S.NOTIFY_CANCELLED: "OrderCancelledEvent",
}

# Longer than the callee's own worst case: Payment waits up to 5 s for the Payment System, Shipping as long
# for the Logistics System, each after a call to Account.
TIMEOUT_SECONDS: dict[Step, float] = {S.CHARGE: 15.0, S.VOID: 10.0, S.REFUND: 15.0, S.SHIP: 15.0}
DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_KEY = 64


class UnexpectedAnswer(ValueError):
    """The callee answered with a status this step has no rule for."""


def answer_of(step: Step, body: dict[str, Any]) -> Answer:
    """What a 2xx answer means for the saga (a notification sent is always OK)."""
    if step in NOTICES:
        return A.OK
    status = str(body.get("status"))
    found = STATUSES[step].get(status)
    if found is None:
        raise UnexpectedAnswer(f"{step} answered status {status!r}")
    return found


def next_step(step: Step, answer: Answer) -> Step:
    """The step after this answer; NOT_YET repeats the step."""
    if answer is A.NOT_YET:
        return step
    return NEXT[(step, answer)]


def timeout_of(step: Step) -> float:
    return TIMEOUT_SECONDS.get(step, DEFAULT_TIMEOUT_SECONDS)


def idempotency_key(order_id: str, step: Step) -> str:
    """Derived from order and step, the same for every try of the step; at most 64 characters."""
    key = f"order-{order_id}-{step}"
    if len(key) <= MAX_KEY:
        return key
    return "order-" + hashlib.sha256(f"{order_id}\n{step}".encode()).hexdigest()[:40]


def retry_in(attempts: int, base: float, cap: float) -> float:
    """Seconds before the next try after `attempts` unsuccessful ones: capped exponential backoff."""
    return float(min(base * 2 ** max(attempts - 1, 0), cap))


def gives_up(failing_for: float, budget: float, permanent: bool) -> bool:
    """Park the saga: a refusal retrying cannot change (a 4xx), or failures for longer than the budget."""
    return permanent or failing_for >= budget


def permanent_failure(status: int) -> bool:
    """A 4xx other than 409 (the callee is not ready: e.g. a refund before the charge settled) and 429."""
    return 400 <= status < 500 and status not in (409, 429)


@dataclass(frozen=True)
class SagaOrder:
    """What the saga's calls and facts need of the order."""

    order_id: str
    customer_id: str
    lines: list[OrderLine]
    total: int
    currency: str


def fact(step: Step, answer: Answer, order: SagaOrder, body: dict[str, Any]) -> Event | None:
    """What happened, as the event the choreography would have carried it in (None: nothing to tell)."""
    o = order
    match step, answer:
        case S.RESERVE, A.OK:
            return InventoryProcessedEvent(order_id=o.order_id, customer_id=o.customer_id, lines=o.lines,
                                           total=o.total, currency=o.currency)
        case S.RESERVE, A.REFUSED:
            return InventoryOutOfStockEvent(order_id=o.order_id, customer_id=o.customer_id,
                                            shortages=body.get("shortages") or [], total=o.total, currency=o.currency)
        case S.VOID, A.OK:
            return PaymentFailedEvent(order_id=o.order_id, customer_id=o.customer_id, amount=o.total,
                                      currency=o.currency, reason="out_of_stock", message="some items are out of stock")
        case S.CHARGE, A.OK:
            return PaymentProcessedEvent(order_id=o.order_id, customer_id=o.customer_id,
                                         payment_id=body.get("provider_payment_id") or "", amount=o.total,
                                         currency=o.currency, lines=o.lines)
        case S.CHARGE, A.REFUSED:
            return PaymentFailedEvent(order_id=o.order_id, customer_id=o.customer_id,
                                      payment_id=body.get("provider_payment_id"), amount=o.total, currency=o.currency,
                                      reason=body.get("failure_reason") or "card_declined")
        case S.SHIP, A.OK:
            return ShippingProcessedEvent(order_id=o.order_id, customer_id=o.customer_id,
                                          shipment_id=body.get("shipment_id") or "", carrier=body.get("carrier") or "",
                                          tracking_number=body.get("tracking_number") or "")
        case S.SHIP, A.REFUSED:
            return ShippingFailedEvent(order_id=o.order_id, customer_id=o.customer_id,
                                       reason=body.get("failure_reason") or "refused",
                                       message=body.get("failure_message") or "")
    return None
