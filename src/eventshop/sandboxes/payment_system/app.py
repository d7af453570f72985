"""The Payment System sandbox's HTTP API: card payments in the style of common providers."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query
from fastapi.responses import JSONResponse

from eventshop.platform.settings import float_from_env
from eventshop.sandboxes.faults import FaultConfig
from eventshop.sandboxes.operator import OperatorKey
from eventshop.sandboxes.payment_system.cards import TEST_CARDS
from eventshop.sandboxes.payment_system.processing import ChargeRequest, PaymentSystem, RefundRequest, Result
from eventshop.sandboxes.payment_system.store import PaymentStore
from eventshop.sandboxes.sandbox_app import new_sandbox_app

TIMEOUT_SECONDS_ENV = "EVENTSHOP_PAYMENT_SYSTEM_TIMEOUT_SECONDS"
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]

DESCRIPTION = """Card payments with test tokens (`GET /v1/test-tokens`). Every `POST` that moves money needs an
`Idempotency-Key` header: the same key and body replay the stored answer, and never charge twice."""


def answer(result: Result, replayed: bool = False) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(status_code=result.status, content=result.body, headers=headers)


def key_required() -> JSONResponse:
    return answer(Result(400, {"error": {"code": "idempotency_key_required",
                                         "message": "send an Idempotency-Key header (any unique string)"}}))


def create_app(
    data_dir: Path,
    faults: FaultConfig | None = None,
    *,
    timeout_seconds: float | None = None,
    api_key: str | None = None,
    operator_key: str | None = None,
) -> FastAPI:
    """`timeout_seconds`: how late tok_timeout answers (default EVENTSHOP_PAYMENT_SYSTEM_TIMEOUT_SECONDS or 30);
    `operator_key`: who may switch faults at run time."""
    delay = timeout_seconds if timeout_seconds is not None else float_from_env(TIMEOUT_SECONDS_ENV, 30)
    store = PaymentStore(data_dir / "payment-system.sqlite3", owner=uuid.uuid4().hex)
    system = PaymentSystem(store, delay)
    app = new_sandbox_app("payment-system", "Payment System (sandbox)", DESCRIPTION,
                          faults or FaultConfig.from_env("payment-system"), ("/v1/",),
                          api_key=api_key, operator_key=OperatorKey("payment-system", operator_key),
                          on_close=store.close)
    app.state.system = system

    @app.get("/v1/test-tokens", tags=["payments"])
    async def test_tokens() -> list[dict[str, str | None]]:
        """The payment-method tokens this sandbox knows and what charging each does."""
        return [card.as_json() for card in TEST_CARDS.values()]

    @app.post("/v1/payments", tags=["payments"], status_code=201,
              responses={402: {"description": "Declined: the failed payment (status failed, failure_code)",
                               "content": {"application/json": {"schema": {"type": "object"}}}}})
    async def create_payment(body: ChargeRequest, idempotency_key: IdempotencyKey = None) -> JSONResponse:
        """Charge (or with `capture: false` only authorize) a payment method; a decline is 402."""
        if not idempotency_key:
            return key_required()
        result, replayed = await system.once(f"charge:{idempotency_key}", body.model_dump(),
                                             lambda: system.charge(body))
        return answer(result, replayed)

    @app.get("/v1/payments", tags=["payments"])
    async def find_payments(
        idempotency_key: Annotated[str | None, Query(description="the key the charge was sent with")] = None,
        reference: Annotated[str | None, Query(description="the shop's order id")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        """Newest first. By idempotency key: empty while that charge is still in progress."""
        if idempotency_key is not None:
            found = store.payment_for_key(f"charge:{idempotency_key}")
            return [found] if found else []
        return store.payments(reference, limit)

    @app.get("/v1/charge-requests/{idempotency_key}", tags=["payments"])
    async def find_charge_request(idempotency_key: str) -> JSONResponse:
        """What became of the charge sent with this key: `in_progress`, or `completed` with the answer given
        (status code and body); 404 `charge_request_not_found` if no charge with this key ever arrived."""
        found = store.request_for_key(f"charge:{idempotency_key}")
        if found is None:
            return answer(Result(404, {"error": {"code": "charge_request_not_found",
                                                 "message": f"no charge was sent with key {idempotency_key}"}}))
        return JSONResponse({"idempotency_key": idempotency_key, **found})

    @app.get("/v1/payments/{payment_id}", tags=["payments"])
    async def get_payment(payment_id: str) -> JSONResponse:
        found = store.payment(payment_id)
        if found is None:
            return answer(Result(404, {"error": {"code": "payment_not_found", "message": f"no payment {payment_id}"}}))
        return JSONResponse(found)

    @app.post("/v1/payments/{payment_id}/capture", tags=["payments"])
    async def capture_payment(payment_id: str) -> JSONResponse:
        """Capture an authorization; capturing again answers the captured payment."""
        return answer(system.capture(payment_id))

    @app.post("/v1/payments/{payment_id}/void", tags=["payments"])
    async def void_payment(payment_id: str) -> JSONResponse:
        """Release an authorization (never a captured charge: refund that); voiding again is harmless."""
        return answer(system.void(payment_id))

    @app.post("/v1/payments/{payment_id}/refunds", tags=["payments"], status_code=201)
    async def refund_payment(
        payment_id: str, body: RefundRequest | None = None, idempotency_key: IdempotencyKey = None
    ) -> JSONResponse:
        """Give back part or all of a captured charge, never more than is left."""
        if not idempotency_key:
            return key_required()
        request = body or RefundRequest()
        key = f"refund:{idempotency_key}"
        result, replayed = await system.once(key, {"payment_id": payment_id, **request.model_dump()},
                                             lambda: system.refund(payment_id, request))
        return answer(result, replayed)

    @app.get("/v1/ledger", tags=["ledger"])
    async def ledger() -> dict[str, Any]:
        """Every money movement in order (charge, authorization, void, refund) and totals per currency."""
        return system.ledger()

    return app
