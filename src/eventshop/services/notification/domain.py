"""What to tell the customer about each event: subject, plain text and HTML, or nothing and why."""

from __future__ import annotations

import html
from dataclasses import dataclass

from eventshop.contracts import wording
from eventshop.contracts.envelope import Event
from eventshop.contracts.events import (
    AccountCreatedEvent,
    AccountDeactivatedEvent,
    AccountUpdatedEvent,
    InventoryOutOfStockEvent,
    InventoryProcessedEvent,
    OrderCancelledEvent,
    OrderProcessedEvent,
    PaymentFailedEvent,
    PaymentProcessedEvent,
    ShippingFailedEvent,
    ShippingProcessedEvent,
)
from eventshop.contracts.money import format_money


@dataclass(frozen=True)
class Draft:
    """An email to send, or (subject None) a record that nothing is sent, with why."""

    why: str
    subject: str | None = None
    paragraphs: tuple[str, ...] = ()

    @property
    def sends_email(self) -> bool:
        return self.subject is not None


def short(order_id: str) -> str:
    return order_id[:8]


def draft_for(event: Event) -> Draft:
    match event:
        case AccountCreatedEvent():
            return Draft("account created", "Welcome to eventshop",
                         ("Your account is ready. Happy shopping!",))
        case AccountUpdatedEvent():
            fields = ", ".join(f.replace("_", " ") for f in event.changed) or "your details"
            return Draft("account updated", "Your account details changed",
                         (f"We changed {fields} on your account.", "If this was not you, contact us at once."))
        case AccountDeactivatedEvent():
            return Draft("account deactivated", "Your account is deactivated",
                         ("Your eventshop account is now deactivated. Orders can no longer be paid.",))
        case OrderProcessedEvent():
            items = [f"{line.quantity} x {line.name} — {format_money(line.line_total, line.currency)}"
                     for line in event.lines]
            return Draft("order confirmed", f"Order {short(event.order_id)} confirmed",
                         ("Thank you for your order. We are reserving your items.", *items,
                          f"Total: {format_money(event.total, event.currency)}"))
        case InventoryProcessedEvent():
            return Draft("stock reserved (internal step, no email)")
        case InventoryOutOfStockEvent():
            missing = [f"{s.sku}: {s.requested} wanted, {s.available} left" for s in event.shortages]
            return Draft("out of stock", f"Order {short(event.order_id)}: items out of stock",
                         ("Sorry, we could not reserve everything in your order, so it was not charged.", *missing))
        case PaymentProcessedEvent():
            # The customer hears at the steps they care about: confirmed, then shipped (or cancelled).
            return Draft("payment received (told by the confirmation and shipping emails, no email)")
        case PaymentFailedEvent() if event.reason == "out_of_stock":
            return Draft("payment voided because of stock (already told by the out-of-stock email)")
        case PaymentFailedEvent():
            return Draft("payment failed", f"Payment failed for order {short(event.order_id)}",
                         (f"We could not take your payment: {wording.reason_clause(event.reason)}.",
                          f"Your order is cancelled. {wording.NOT_CHARGED}"))
        case ShippingProcessedEvent():
            return Draft("shipped", f"Order {short(event.order_id)} has shipped",
                         (f"Your parcel was handed to {event.carrier}.",
                          f"Tracking number: {event.tracking_number}"))
        case ShippingFailedEvent():
            return Draft("shipping failed, refunded", f"We could not ship order {short(event.order_id)}",
                         (f"We could not ship your order: "
                          f"{wording.reason_clause(wording.SHIPPING_FAILED + event.reason)}.",
                          "Your payment is refunded in full; it can take a few days to show on the card."))
        case OrderCancelledEvent():
            return Draft("order cancelled", f"Order {short(event.order_id)} cancelled",
                         (f"Your order was cancelled: {wording.reason_clause(event.reason)}.",
                          wording.money_outcome(event.reason, event.total, event.currency)))
    return Draft(f"no email for {event.type_name()}")


def render(draft: Draft, name: str) -> tuple[str, str]:
    """Plain-text and HTML bodies."""
    greeting = f"Hello {name},"
    text = "\n\n".join((greeting, *draft.paragraphs, "— eventshop"))
    body = "".join(f"<p>{html.escape(p)}</p>" for p in draft.paragraphs)
    page = (
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;background:#f5f6f8;padding:24px\">"
        "<div style=\"max-width:560px;margin:auto;background:#fff;border-radius:10px;padding:24px\">"
        f"<h2 style=\"margin-top:0;color:#1f2430\">{html.escape(draft.subject or '')}</h2>"
        f"<p>{html.escape(greeting)}</p>{body}<p style=\"color:#667\">— eventshop</p></div></body></html>"
    )
    return text, page


def retry_delay(attempts: int) -> float:
    """Seconds before the next SMTP try: 2, 4, 8 ... capped at five minutes."""
    return float(min(2 ** max(attempts, 1), 300))
