"""One order's story in time order: its own timeline, its payment's history, its shipment, the emails sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Chapter:
    at: datetime
    source: str  # Order, Payment, Shipping, Email
    what: str
    detail: str


def _moment(text: str) -> datetime:
    found = datetime.fromisoformat(text)
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def order_story(order: dict[str, Any], payment: dict[str, Any] | None, shipment: dict[str, Any] | None,
                notifications: list[dict[str, Any]]) -> list[Chapter]:
    """Every step any service recorded about the order, oldest first (a stable sort keeps each service's order)."""
    chapters = [Chapter(_moment(item["at"]), "Order", item["event"] or item["status"],
                        f"{item['status']}: {item['detail']}" if item["detail"] else item["status"])
                for item in order.get("timeline", [])]
    if payment:
        chapters += [Chapter(_moment(item["at"]), "Payment", item["status"], item["detail"])
                     for item in payment.get("history", [])]
    if shipment:
        words = [shipment.get("carrier") or "", shipment.get("tracking_number") or "",
                 shipment.get("failure_message") or shipment.get("failure_reason") or ""]
        chapters.append(Chapter(_moment(shipment["updated_at"]), "Shipping", f"shipment {shipment['status']}",
                                " ".join(word for word in words if word)))
    for note in notifications:
        what = f"email {note['status']}" if note["channel"] == "email" else f"no email ({note['status']})"
        to = f" to {note['recipient']}" if note.get("recipient") else ""
        chapters.append(Chapter(_moment(note.get("sent_at") or note["created_at"]), "Email", what,
                                f"{note.get('subject') or note['event_type']}{to}"))
    return sorted(chapters, key=lambda chapter: chapter.at)
