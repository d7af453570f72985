"""What the Payment System does with each request: charge, capture, void, refund, exactly once per key."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from eventshop.contracts.values import WholeNumber
from eventshop.sandboxes.payment_system.cards import TEST_CARDS, Outcome
from eventshop.sandboxes.payment_system.store import Answer, KeyState, Movement, PaymentStore, Replay

CHARGED = ("succeeded", "partially_refunded", "refunded")


class ChargeRequest(BaseModel):
    amount: WholeNumber = Field(gt=0, le=99_999_999, description="in minor units, e.g. cents")
    currency: str = Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code")
    payment_method: str = Field(min_length=1, max_length=100, description="a test token, see /v1/test-tokens")
    reference: str = Field(min_length=1, max_length=100, description="the shop's order id")
    capture: bool = Field(default=True, description="false: only authorize; capture or void later")
    description: str | None = Field(default=None, max_length=500)


class RefundRequest(BaseModel):
    amount: int | None = Field(default=None, gt=0, le=99_999_999, description="default: everything not yet refunded")


class Interrupted(Exception):
    """The sandbox is stopping while a request waits; nothing was charged."""


@dataclass(frozen=True)
class Result:
    """An answer and the state change behind it, stored together."""

    status: int
    body: dict[str, Any]
    payment: dict[str, Any] | None = None
    movement: Movement | None = None
    refund: dict[str, Any] | None = None


def now() -> str:
    return datetime.now(UTC).isoformat()


def error(status: int, code: str, message: str) -> Result:
    return Result(status, {"error": {"code": code, "message": message}})


def fingerprint(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


class PaymentSystem:
    def __init__(self, store: PaymentStore, timeout_seconds: float) -> None:
        self.store = store
        self.timeout_seconds = timeout_seconds  # how late a tok_timeout charge answers

    async def once(
        self, key: str, request: dict[str, Any], operation: Callable[[], Awaitable[Result]]
    ) -> tuple[Result, bool]:
        """Same key and body: the stored answer (and True). Same key, other body: an error. Never twice."""
        claimed = self.store.claim(key, fingerprint(request))
        if isinstance(claimed, Replay):
            return Result(claimed.status, claimed.body), True
        if claimed is KeyState.REUSED:
            return error(422, "idempotency_key_reused", "this Idempotency-Key was used with a different request"), False
        if claimed is KeyState.IN_PROGRESS:
            message = "a request with this Idempotency-Key is still in progress; retry later"
            return error(409, "idempotency_in_progress", message), False
        try:
            result = await operation()
        except Interrupted:
            self.store.release(key)
            return error(503, "shutting_down", "stopped before charging; retry with the same key"), False
        except BaseException:
            self.store.release(key)  # abandoned before anything was stored: nothing happened
            raise
        answer = Answer(key, result.status, result.body)
        self.store.save(result.payment, movement=result.movement, refund=result.refund, answer=answer, at=now())
        return result, False

    async def charge(self, request: ChargeRequest) -> Result:
        card = TEST_CARDS.get(request.payment_method)
        if card is None:
            return error(400, "invalid_payment_method", "no such payment method; see GET /v1/test-tokens")
        if card.outcome is Outcome.TIMEOUT:
            await self._answer_late()
        payment: dict[str, Any] = {
            "id": f"pay_{uuid.uuid4().hex[:20]}", "object": "payment", "amount": request.amount,
            "amount_refunded": 0, "currency": request.currency.upper(), "reference": request.reference,
            "description": request.description, "payment_method": {"brand": card.brand, "last4": card.last4},
            "failure_code": None, "failure_message": None, "created": now(),
        }
        if card.outcome is Outcome.DECLINED:
            payment |= {"status": "failed", "failure_code": card.failure_code, "failure_message": card.failure_message}
            return Result(402, payment, payment)
        payment["status"] = "succeeded" if request.capture else "authorized"
        movement = Movement("charge" if request.capture else "authorization", request.amount)
        return Result(201, payment, payment, movement)

    async def _answer_late(self) -> None:
        try:
            await asyncio.sleep(self.timeout_seconds)
        except asyncio.CancelledError:
            # The server cancels requests still running when it stops: answer like a provider going down.
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            raise Interrupted from None

    def capture(self, payment_id: str) -> Result:
        payment = self.store.payment(payment_id)
        if payment is None:
            return error(404, "payment_not_found", f"no payment {payment_id}")
        if payment["status"] in CHARGED:
            return Result(200, payment)
        if payment["status"] != "authorized":
            return error(409, "not_capturable", f"a {payment['status']} payment cannot be captured")
        payment["status"] = "succeeded"
        return self._apply(Result(200, payment, payment, Movement("charge", payment["amount"])))

    def void(self, payment_id: str) -> Result:
        payment = self.store.payment(payment_id)
        if payment is None:
            return error(404, "payment_not_found", f"no payment {payment_id}")
        if payment["status"] == "voided":
            return Result(200, payment)
        if payment["status"] != "authorized":
            return error(409, "not_voidable",
                         f"only an authorized, uncaptured payment can be voided; this one is {payment['status']}"
                         + (" (refund it instead)" if payment["status"] in CHARGED else ""))
        payment["status"] = "voided"
        return self._apply(Result(200, payment, payment, Movement("void", payment["amount"])))

    async def refund(self, payment_id: str, request: RefundRequest) -> Result:
        payment = self.store.payment(payment_id)
        if payment is None:
            return error(404, "payment_not_found", f"no payment {payment_id}")
        if payment["status"] not in CHARGED:
            return error(409, "not_refundable", f"a {payment['status']} payment has no captured amount to refund")
        remaining = payment["amount"] - payment["amount_refunded"]
        amount = remaining if request.amount is None else request.amount
        if amount > remaining or remaining == 0:
            return error(409, "refund_exceeds_charge",
                         f"a refund of {amount} exceeds the {remaining} {payment['currency']} left to refund")
        payment["amount_refunded"] += amount
        payment["status"] = "refunded" if payment["amount_refunded"] == payment["amount"] else "partially_refunded"
        refund = {"id": f"re_{uuid.uuid4().hex[:20]}", "object": "refund", "payment_id": payment_id,
                  "amount": amount, "currency": payment["currency"], "status": "succeeded", "created": now()}
        return Result(201, refund | {"payment": payment}, payment, Movement("refund", amount), refund)

    def _apply(self, result: Result) -> Result:
        self.store.save(result.payment, movement=result.movement, at=now())
        return result

    def ledger(self) -> dict[str, Any]:
        entries = self.store.ledger()
        totals: dict[str, dict[str, int]] = {}
        for entry in entries:
            sums = totals.setdefault(entry["currency"], dict.fromkeys(
                ("charged", "refunded", "authorized", "voided", "net"), 0))
            kind = {"charge": "charged", "refund": "refunded", "authorization": "authorized", "void": "voided"}
            sums[kind[entry["type"]]] += entry["amount"]
            sums["net"] = sums["charged"] - sums["refunded"]
        return {"entries": entries, "totals": totals,
                "net": {currency: sums["net"] for currency, sums in totals.items()}}
