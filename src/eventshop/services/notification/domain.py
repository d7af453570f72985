"""What to tell the customer about each event, in full sentences: one email per step a customer cares about.

An order gets its confirmation, then either the shipping email (with the tracking number) or one cancellation
email saying why and what happened to the money (nothing charged, or refunded). The failure events that lead to a
cancellation (payment failed, shipping failed) are recorded without an email, so a customer is not told the same
thing twice within a second; an order cancelled for stock is told by the out-of-stock email, which names the
products. Account changes are told field by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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
from eventshop.contracts.money import format_money as _format_money
from eventshop.contracts.values import OrderLine, StockShortage

# Babel takes ~40 µs a price and an order's emails show each price several times; the same prices recur.
format_money = lru_cache(maxsize=4096)(_format_money)

SHOP_NAME = "eventshop"
ACCOUNT_PAGE = "/account"
VIEW_ORDER = "View your order"
GO_TO_ACCOUNT = "Go to your account"
# What a changed account field is called in a sentence: "Your delivery address was changed."
ACCOUNT_FIELDS = {
    "name": "name",
    "email": "email address",
    "address": "delivery address",
    "payment_token": "payment card",
    "password": "password",
}


@dataclass(frozen=True)
class Item:
    """One order line as the email shows it, money already in the shop's format."""

    name: str
    quantity: int
    price: str
    total: str


@dataclass(frozen=True)
class Draft:
    """An email to send, or (subject None) a record that nothing is sent, with why.

    `paragraphs` come before the items and `closing` after them; `link` is a path on the shop ("/orders/<id>"),
    shown as a button with `link_text` and, in the shipping email, behind the tracking number too.
    """

    why: str
    subject: str | None = None
    paragraphs: tuple[str, ...] = ()
    items: tuple[Item, ...] = ()
    total: str | None = None
    bullets: tuple[str, ...] = ()
    tracking_number: str | None = None
    closing: tuple[str, ...] = ()
    link: str | None = None
    link_text: str | None = None

    @property
    def sends_email(self) -> bool:
        return self.subject is not None


def short(order_id: str) -> str:
    """How the shop shows an order id on its pages (frontend templates/order.html): the first eight characters."""
    return order_id[:8]


def order_page(order_id: str) -> str:
    return f"/orders/{order_id}"


def items_of(lines: list[OrderLine]) -> tuple[Item, ...]:
    return tuple(Item(line.name, line.quantity, format_money(line.unit_price, line.currency),
                      format_money(line.line_total, line.currency)) for line in lines)


def draft_for(event: Event) -> Draft:
    match event:
        case AccountCreatedEvent() | AccountUpdatedEvent() | AccountDeactivatedEvent():
            return _account_draft(event)
        case OrderProcessedEvent():
            return _confirmation(event)
        case InventoryProcessedEvent():
            return Draft("stock reserved (internal step, no email)")
        case InventoryOutOfStockEvent():
            return _out_of_stock(event)
        case PaymentProcessedEvent():
            # The customer hears at the steps they care about: confirmed, then shipped (or cancelled).
            return Draft("payment received (told by the confirmation and shipping emails, no email)")
        case PaymentFailedEvent() if event.reason == "out_of_stock":
            return Draft("payment voided because of stock (told by the out-of-stock email, no email)")
        case PaymentFailedEvent():
            return Draft("payment failed (told by the cancellation email, no email)")
        case ShippingProcessedEvent():
            return _shipped(event)
        case ShippingFailedEvent():
            return Draft("shipping failed, refund follows (told by the cancellation email, no email)")
        case OrderCancelledEvent() if event.reason == "out_of_stock":
            return Draft("order cancelled for stock (told by the out-of-stock email, no email)")
        case OrderCancelledEvent():
            return _cancellation(event)
    return Draft(f"no email for {event.type_name()}")


def _confirmation(event: OrderProcessedEvent) -> Draft:
    number = short(event.order_id)
    return Draft(
        "order confirmed", f"Order {number} confirmed",
        (f"Thank you for your order {number}. We are reserving your items and taking the payment now.",),
        items=items_of(event.lines), total=format_money(event.total, event.currency),
        closing=("We will email you again when your parcel is on its way.",),
        link=order_page(event.order_id), link_text=VIEW_ORDER,
    )


def _shipped(event: ShippingProcessedEvent) -> Draft:
    number = short(event.order_id)
    return Draft(
        "shipped", f"Order {number} has shipped",
        (f"Good news: your order {number} is on its way. We handed your parcel to {event.carrier}.",),
        tracking_number=event.tracking_number,
        closing=("Your order page shows the tracking number and every step of the order.",),
        link=order_page(event.order_id), link_text=VIEW_ORDER,
    )


def _shortage(shortage: StockShortage) -> str:
    product = shortage.name or "A product"
    left = f"only {shortage.available} left" if shortage.available else "none left"
    return f"{product}: you asked for {shortage.requested}, we have {left}."


def _out_of_stock(event: InventoryOutOfStockEvent) -> Draft:
    number = short(event.order_id)
    count = len(event.shortages)
    which = "this product is" if count == 1 else "these products are"
    return Draft(
        "out of stock", f"Order {number} cancelled: items out of stock",
        (f"We are sorry: {which} out of stock, so we could not reserve your order {number} and have cancelled it.",),
        bullets=tuple(_shortage(s) for s in event.shortages),
        closing=(f"{wording.NOT_CHARGED} The order total was {format_money(event.total, event.currency)}.",
                 "You can place the order again without the missing items."),
        link=order_page(event.order_id), link_text=VIEW_ORDER,
    )


def _cancellation(event: OrderCancelledEvent) -> Draft:
    number = short(event.order_id)
    refunded = wording.refunded(event.reason)
    subject = f"Order {number} cancelled and refunded" if refunded else f"Order {number} cancelled"
    why = wording.reason_clause(event.reason) or "it could not be completed"
    closing = [wording.money_outcome(event.reason, event.total, event.currency)]
    if event.reason in wording.PAYMENT_REASONS:
        closing.append("You can change your payment card on your account page and order again.")
    return Draft(
        "order cancelled, refunded" if refunded else "order cancelled", subject,
        (f"We are sorry: we cancelled your order {number} because {why}.",),
        items=items_of(event.lines), total=format_money(event.total, event.currency),
        closing=tuple(closing), link=order_page(event.order_id), link_text=VIEW_ORDER,
    )


def changed_sentences(changed: list[str], email: str, name: str) -> tuple[str, ...]:
    """One sentence per changed field: "Your delivery address was changed."; fields it does not know by name."""
    sentences = []
    for field in changed:
        match field:
            case "email":
                sentences.append(f"Your email address was changed to {email}. Sign in with it from now on; "
                                 "our emails go to it too.")
            case "name":
                sentences.append(f"Your name on the account was changed to {name}.")
            case _:
                what = ACCOUNT_FIELDS.get(field, field.replace("_", " "))
                sentences.append(f"Your {what} was changed.")
    return tuple(sentences) or ("Your account details were changed.",)


def changed_subject(changed: list[str]) -> str:
    """"Your password was changed", "Your delivery address and payment card were changed"."""
    names = [ACCOUNT_FIELDS.get(field, field.replace("_", " ")) for field in changed]
    if not names:
        return "Your account details were changed"
    if len(names) == 1:
        return f"Your {names[0]} was changed"
    return f"Your {', '.join(names[:-1])} and {names[-1]} were changed"


def _account_draft(event: AccountCreatedEvent | AccountUpdatedEvent | AccountDeactivatedEvent) -> Draft:
    if isinstance(event, AccountCreatedEvent):
        return Draft("account created", f"Welcome to {SHOP_NAME}",
                     (f"Your {SHOP_NAME} account is ready. Your delivery address and payment card are saved "
                      "for checkout.", "Happy shopping!"), link=ACCOUNT_PAGE, link_text=GO_TO_ACCOUNT)
    if isinstance(event, AccountUpdatedEvent):
        return Draft("account updated", changed_subject(event.changed),
                     changed_sentences(event.changed, event.email, event.name),
                     closing=("If you did not make this change, change your password at once.",),
                     link=ACCOUNT_PAGE, link_text=GO_TO_ACCOUNT)
    return Draft("account deactivated", f"Your {SHOP_NAME} account is deactivated",
                 (f"Your {SHOP_NAME} account is now deactivated, so it can no longer place or pay for orders.",))


def retry_delay(attempts: int) -> float:
    """Seconds before the next SMTP try: 2, 4, 8 ... capped at five minutes."""
    return float(min(2 ** max(attempts, 1), 300))
