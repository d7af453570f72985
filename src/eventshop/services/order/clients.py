"""Order's calls in the orchestrated style: "Update Inventory", "Payment for Order", "Ship Order", "Notify Customer"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventshop.platform.http import Answer, ServiceClient, url_path
from eventshop.platform.settings import Settings
from eventshop.services.order.saga import NOTICES, SagaOrder, Step, idempotency_key, timeout_of


@dataclass(frozen=True)
class Call:
    callee: str
    method: str
    path: str
    body: dict[str, Any] | None = None


def call_for(step: Step, order: SagaOrder, facts: dict[str, Any]) -> Call:
    """The one HTTP call of a step (every one idempotent on the order)."""
    o = order
    lines = [line.model_dump() for line in o.lines]
    payment = {"customer_id": o.customer_id, "amount": o.total, "currency": o.currency, "lines": lines}
    match step:
        case Step.RESERVE:
            return Call("inventory", "POST", "/reservations", {"order_id": o.order_id, "customer_id": o.customer_id,
                                                               "lines": lines, "total": o.total,
                                                               "currency": o.currency})
        case Step.RELEASE:
            return Call("inventory", "DELETE", url_path("reservations", o.order_id))
        case Step.CHARGE:
            return Call("payment", "POST", url_path("payments", o.order_id, "pay"), payment)
        case Step.VOID:
            return Call("payment", "POST", url_path("payments", o.order_id, "void"), payment)
        case Step.REFUND:
            return Call("payment", "POST", url_path("payments", o.order_id, "refund"))
        case Step.SHIP:
            return Call("shipping", "POST", "/shipments", {"order_id": o.order_id, "customer_id": o.customer_id,
                                                           "lines": lines})
    event_type = NOTICES[step]
    return Call("notification", "POST", "/notifications", {"customer_id": o.customer_id, "order_id": o.order_id,
                                                           "event_type": event_type, "event": facts[event_type]})


class SagaClients:
    """One pooled client per callee, made at start and closed at stop."""

    def __init__(self, settings: Settings) -> None:
        self.clients = {callee: ServiceClient(settings, "order", callee)
                        for callee in ("inventory", "payment", "shipping", "notification")}

    async def run(self, step: Step, order: SagaOrder, facts: dict[str, Any]) -> Answer:
        """The step's call, answered whole; NotConnected or TransportFailed (platform/http.py) when no answer came."""
        call = call_for(step, order, facts)
        return await self.clients[call.callee].request(
            call.method, call.path, json=call.body, timeout=timeout_of(step),
            headers={"Idempotency-Key": idempotency_key(order.order_id, step)},
        )

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()
