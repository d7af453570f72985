"""What a customer reads for an order's status and a cancellation's reason: one table for the shop's pages and emails.

The codes stay in the events, the APIs and the operator views; only these words reach a customer.
"""

from __future__ import annotations

from eventshop.contracts.money import format_money

STATUSES = {
    "created": "Placed",
    "processing": "Being processed",
    "paid": "Paid",
    "shipped": "Shipped",
    "cancelled": "Cancelled",
}
# Codes of PaymentFailedEvent (and so of a cancelled order): nothing was charged.
PAYMENT_REASONS = {
    "out_of_stock": "some items were out of stock",
    "card_declined": "the card was declined",
    "insufficient_funds": "the card has insufficient funds",
    "expired_card": "the card has expired",
    "invalid_payment_method": "the payment method on the account is not valid",
    "account_deactivated": "the account is deactivated",
    "provider_unreachable": "the payment could not be processed",
}
# Codes of ShippingFailedEvent; an order cancelled for one has reason "shipping_failed:<code>". The payment had been
# taken (shipping starts only after it), and Payment refunds it in full.
SHIPPING_FAILED = "shipping_failed:"
SHIPPING_REASONS = {
    "undeliverable_address": "the carrier cannot deliver to this address",
    "address_not_found": "the carrier could not find this address",
    "country_not_served": "the carrier does not deliver to this country",
}
UNKNOWN_PAYMENT_REASON = "the order could not be completed"
UNKNOWN_SHIPPING_REASON = "the parcel could not be shipped"
NOT_CHARGED = "Nothing was charged."
REFUNDED = "The payment of {amount} is refunded in full; it can take a few days to show on the card."
REFUNDED_IF_TAKEN = "Any payment taken for it is refunded in full."


def status_text(status: str | None) -> str:
    """"processing" -> "Being processed"; a status this table does not know reads as the word itself."""
    if not status:
        return ""
    return STATUSES.get(status, status.replace("_", " ").capitalize())


def reason_clause(code: str | None) -> str:
    """Why an order was cancelled, as a clause ("the card was declined"); never the code itself."""
    if not code:
        return ""
    if code.startswith(SHIPPING_FAILED):
        return SHIPPING_REASONS.get(code.removeprefix(SHIPPING_FAILED), UNKNOWN_SHIPPING_REASON)
    return PAYMENT_REASONS.get(code, UNKNOWN_PAYMENT_REASON)


def reason_text(code: str | None) -> str:
    """The reason as a sentence start: "The card was declined"."""
    clause = reason_clause(code)
    return clause[:1].upper() + clause[1:]


def refunded(code: str | None) -> bool:
    return bool(code and code.startswith(SHIPPING_FAILED))


def money_outcome(code: str | None, amount: int, currency: str) -> str:
    """What happened to the customer's money when an order was cancelled for `code`."""
    if refunded(code):
        return REFUNDED.format(amount=format_money(amount, currency))
    if code in PAYMENT_REASONS:
        return NOT_CHARGED
    return REFUNDED_IF_TAKEN
