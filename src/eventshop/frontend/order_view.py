"""An order as its customer sees it: status, reason, money and timeline in the words of contracts/wording.py.

The page and its live stream both show this, so what a reload shows and what arrives live read the same.
"""

from __future__ import annotations

from typing import Any

from eventshop.contracts import wording
from eventshop.contracts.money import format_money

FINAL = frozenset({"shipped", "cancelled"})
HEADLINES = {
    "created": "Thank you! Your order is placed. We are reserving your items and taking the payment.",
    "processing": "Thank you! Your order is placed. We are reserving your items and taking the payment.",
    "paid": "Your order is paid. We are handing it to the carrier.",
    "shipped": "Your order is on its way.",
}
NOTES = {
    "shipped": "This order is complete.",
    "cancelled": "This order is closed: nothing more happens with it.",
}
LIVE_NOTE = "This page updates by itself as the order moves on."


def headline(order: dict[str, Any]) -> str:
    if order.get("status") == "cancelled":
        return f"This order is cancelled: {wording.reason_clause(order.get('reason')) or 'it could not be completed'}."
    return HEADLINES.get(str(order.get("status")), "")


def money_note(order: dict[str, Any]) -> str:
    """For a cancelled order, what happened to the money (a refund or nothing charged); otherwise nothing."""
    if order.get("status") != "cancelled":
        return ""
    return wording.money_outcome(order.get("reason"), int(order.get("total") or 0), str(order.get("currency") or "EUR"))


def note(status: str | None) -> str:
    return NOTES.get(status or "", LIVE_NOTE)


def _entry_text(event: str, order: dict[str, Any]) -> str:
    total = format_money(int(order.get("total") or 0), str(order.get("currency") or "EUR"))
    match event:
        case "OrderCreated":
            return "Order placed"
        case "ShoppingCartOrderedEvent":
            return "Order confirmed; reserving your items"
        case "PaymentProcessedEvent":
            return f"Payment of {total} received"
        case "ShippingProcessedEvent":
            return f"Handed to {order.get('carrier') or 'the carrier'}, tracking number {order.get('tracking_number')}"
        case "PaymentFailedEvent" | "ShippingFailedEvent":
            return f"{wording.reason_text(order.get('reason'))}. {money_note(order)}".strip()
    return wording.status_text(str(order.get("status")))


def timeline(order: dict[str, Any]) -> list[dict[str, str]]:
    """The steps that moved the order; the operator's entries for stale or repeated events are left out."""
    steps: list[dict[str, str]] = []
    before: str | None = None
    for entry in order.get("timeline") or []:
        status = str(entry.get("status"))
        if status == before:
            continue  # an event that did not move the order (a duplicate, or one after it was final)
        before = status
        steps.append({"at": str(entry.get("at")), "status": status, "status_text": wording.status_text(status),
                      "text": _entry_text(str(entry.get("event")), order)})
    return steps


def customer_view(order: dict[str, Any]) -> dict[str, Any]:
    """What the page shows of an order, and what its live stream sends whenever that changes."""
    status = str(order.get("status"))
    return {
        "status": status,
        "status_text": wording.status_text(status),
        "reason_text": wording.reason_text(order.get("reason")),
        "headline": headline(order),
        "money_note": money_note(order),
        "note": note(status),
        "final": status in FINAL,
        "carrier": order.get("carrier"),
        "tracking_number": order.get("tracking_number"),
        "timeline": timeline(order),
    }
