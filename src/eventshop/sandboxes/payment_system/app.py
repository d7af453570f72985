"""The Payment System sandbox's HTTP API (card payments in the style of common providers)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from eventshop.sandboxes.faults import FaultConfig, install_faults, sandbox_error
from eventshop.sandboxes.payment_system.cards import TEST_CARDS
from eventshop.sandboxes.store import Store


class ChargeRequest(BaseModel):
    amount: int = Field(gt=0, description="minor units")
    currency: str = Field(min_length=3, max_length=3)
    payment_method: str
    reference: str = Field(min_length=1, max_length=100)
    capture: bool = True
    description: str | None = None


class RefundRequest(BaseModel):
    amount: int | None = Field(default=None, gt=0)


def now() -> str:
    return datetime.now(UTC).isoformat()


def fingerprint(body: BaseModel | dict[str, Any]) -> str:
    data = body.model_dump() if isinstance(body, BaseModel) else body
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


class PaymentSystem:
    """Payments, idempotency records and the ledger, kept in the sandbox's own SQLite file."""

    def __init__(self, store: Store, timeout_seconds: float) -> None:
        self.store = store
        self.timeout_seconds = timeout_seconds

    def ledger(self, kind: str, payment: dict[str, Any], amount: int) -> None:
        entry = {"id": f"led_{uuid.uuid4().hex[:12]}", "type": kind, "payment_id": payment["id"],
                 "reference": payment["reference"], "amount": amount, "currency": payment["currency"], "at": now()}
        self.store.put("ledger", entry["id"], entry)

    async def charge(self, body: ChargeRequest) -> tuple[int, dict[str, Any]]:
        card = TEST_CARDS.get(body.payment_method)
        if card is None:
            return 400, {"error": {"code": "invalid_payment_method", "message": "unknown payment method token"}}
        if card.outcome == "timeout":
            await asyncio.sleep(self.timeout_seconds)
        payment: dict[str, Any] = {
            "id": f"pay_{uuid.uuid4().hex[:16]}", "amount": body.amount, "amount_refunded": 0,
            "currency": body.currency.upper(), "reference": body.reference, "description": body.description,
            "payment_method": f"{card.token[:8]}…", "created": now(), "failure_code": None, "failure_message": None,
        }
        if card.outcome == "declined":
            payment |= {"status": "failed", "failure_code": card.failure_code, "failure_message": card.failure_message}
            self.store.put("payment", payment["id"], payment)
            return 402, payment
        payment["status"] = "succeeded" if body.capture else "authorized"
        self.store.put("payment", payment["id"], payment)
        self.ledger("charge" if body.capture else "authorization", payment, body.amount)
        return 201, payment

    def find(self, payment_id: str) -> dict[str, Any] | None:
        return self.store.get("payment", payment_id)


def create_app(data_dir: Path, faults: FaultConfig | None = None, timeout_seconds: float | None = None) -> FastAPI:
    delay = timeout_seconds if timeout_seconds is not None else float(
        os.environ.get("EVENTSHOP_PAYMENT_SYSTEM_TIMEOUT_SECONDS", "30")
    )
    system = PaymentSystem(Store(data_dir / "payment-system.sqlite3"), delay)
    app = FastAPI(title="Payment System (sandbox)", version="1")
    app.state.system = system
    install_faults(app, faults or FaultConfig.from_env("payment-system"))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        message = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors())
        return sandbox_error(422, "invalid_request", message)

    @app.get("/v1/test-tokens")
    async def test_tokens() -> list[dict[str, str]]:
        return [{"token": c.token, "label": c.label} for c in TEST_CARDS.values()]

    @app.post("/v1/payments")
    async def create_payment(
        body: ChargeRequest, idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None
    ) -> JSONResponse:
        if not idempotency_key:
            return sandbox_error(400, "idempotency_key_required", "send an Idempotency-Key header")
        return await idempotent(system, f"charge:{idempotency_key}", fingerprint(body), lambda: system.charge(body))

    @app.get("/v1/payments")
    async def list_payments(
        idempotency_key: Annotated[str | None, Query()] = None, reference: Annotated[str | None, Query()] = None
    ) -> list[dict[str, Any]]:
        if idempotency_key:
            record = system.store.get("idempotency", f"charge:{idempotency_key}")
            if not record or record.get("in_progress"):
                return []
            found = system.find(record["response"].get("id", ""))
            return [found] if found else []
        return [p for p in system.store.all("payment") if reference is None or p["reference"] == reference]

    @app.get("/v1/payments/{payment_id}")
    async def get_payment(payment_id: str) -> JSONResponse:
        found = system.find(payment_id)
        if found is None:
            return sandbox_error(404, "payment_not_found", f"no payment {payment_id}")
        return JSONResponse(found)

    @app.post("/v1/payments/{payment_id}/void")
    async def void_payment(payment_id: str) -> JSONResponse:
        payment = system.find(payment_id)
        if payment is None:
            return sandbox_error(404, "payment_not_found", f"no payment {payment_id}")
        if payment["status"] == "voided":
            return JSONResponse(payment)
        if payment["status"] != "authorized":
            return sandbox_error(409, "not_voidable", f"a {payment['status']} payment cannot be voided; refund it")
        payment["status"] = "voided"
        system.store.put("payment", payment_id, payment)
        system.ledger("void", payment, payment["amount"])
        return JSONResponse(payment)

    @app.post("/v1/payments/{payment_id}/refunds")
    async def refund_payment(
        payment_id: str,
        body: RefundRequest,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> JSONResponse:
        if not idempotency_key:
            return sandbox_error(400, "idempotency_key_required", "send an Idempotency-Key header")
        key_body = {"payment_id": payment_id, **body.model_dump()}

        async def refund() -> tuple[int, dict[str, Any]]:
            return refund_now(system, payment_id, body.amount)

        return await idempotent(system, f"refund:{idempotency_key}", fingerprint(key_body), refund)

    @app.get("/v1/ledger")
    async def ledger() -> dict[str, Any]:
        entries = system.store.all("ledger")
        totals: dict[str, int] = {}
        for entry in entries:
            sign = {"charge": 1, "refund": -1}.get(entry["type"], 0)
            totals[entry["currency"]] = totals.get(entry["currency"], 0) + sign * entry["amount"]
        return {"entries": entries, "net": totals}

    return app


def refund_now(system: PaymentSystem, payment_id: str, amount: int | None) -> tuple[int, dict[str, Any]]:
    payment = system.find(payment_id)
    if payment is None:
        return 404, {"error": {"code": "payment_not_found", "message": f"no payment {payment_id}"}}
    if payment["status"] not in ("succeeded", "partially_refunded"):
        return 409, {"error": {"code": "not_refundable", "message": f"a {payment['status']} payment has no charge"}}
    remaining = payment["amount"] - payment["amount_refunded"]
    amount = remaining if amount is None else amount
    if amount > remaining:
        return 409, {"error": {"code": "refund_exceeds_charge",
                               "message": f"refund of {amount} exceeds the {remaining} left to refund"}}
    payment["amount_refunded"] += amount
    payment["status"] = "refunded" if payment["amount_refunded"] == payment["amount"] else "partially_refunded"
    system.store.put("payment", payment_id, payment)
    system.ledger("refund", payment, amount)
    return 201, {"id": f"re_{uuid.uuid4().hex[:12]}", "payment_id": payment_id, "amount": amount,
                 "status": "succeeded", "payment": payment}


async def idempotent(system: PaymentSystem, key: str, body_hash: str, operation: Any) -> JSONResponse:
    """Same key + same body -> the stored answer; same key + other body -> error; in flight -> 409."""
    record = system.store.get("idempotency", key)
    if record is not None:
        if record["fingerprint"] != body_hash:
            return sandbox_error(422, "idempotency_key_reused", "this Idempotency-Key was used with another body")
        if record.get("in_progress"):
            return sandbox_error(409, "idempotency_in_progress", "a request with this key is still being processed")
        return JSONResponse(status_code=record["status"], content=record["response"],
                            headers={"Idempotent-Replayed": "true"})
    system.store.put("idempotency", key, {"fingerprint": body_hash, "in_progress": True})
    status, response = await operation()
    system.store.put("idempotency", key, {"fingerprint": body_hash, "status": status, "response": response})
    return JSONResponse(status_code=status, content=response)
