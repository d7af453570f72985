"""The Payment System sandbox and the Payment service's adapter against it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from eventshop.sandboxes.faults import FaultConfig
from eventshop.sandboxes.payment_system.app import create_app
from eventshop.services.payment.payment_system import (
    ChargeOutcome,
    PaymentSystemClient,
    PaymentSystemUnavailable,
)
from tests.integration.sandboxes.conftest import serving

CHARGE = {"amount": 1500, "currency": "EUR", "payment_method": "tok_visa", "reference": "o1"}


async def test_the_same_idempotency_key_never_charges_twice(tmp_path: Path) -> None:
    async with serving(create_app(tmp_path)) as url, httpx.AsyncClient(base_url=url) as http:
        first = await http.post("/v1/payments", json=CHARGE, headers={"Idempotency-Key": "k1"})
        again = await http.post("/v1/payments", json=CHARGE, headers={"Idempotency-Key": "k1"})
        assert first.status_code == again.status_code == 201
        assert first.json()["id"] == again.json()["id"]
        assert again.headers["Idempotent-Replayed"] == "true"
        other_body = await http.post("/v1/payments", json=CHARGE | {"amount": 1}, headers={"Idempotency-Key": "k1"})
        assert other_body.status_code == 422 and other_body.json()["error"]["code"] == "idempotency_key_reused"
        ledger = (await http.get("/v1/ledger")).json()
        assert [e["type"] for e in ledger["entries"]] == ["charge"] and ledger["net"] == {"EUR": 1500}


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [("tok_visa", 201, None), ("tok_mastercard", 201, None), ("tok_declined", 402, "card_declined"),
     ("tok_insufficient_funds", 402, "insufficient_funds"), ("tok_expired", 402, "expired_card")],
)
async def test_each_test_token_has_its_outcome(tmp_path: Path, token: str, status: int, code: str | None) -> None:
    async with serving(create_app(tmp_path)) as url, httpx.AsyncClient(base_url=url) as http:
        response = await http.post("/v1/payments", json=CHARGE | {"payment_method": token},
                                   headers={"Idempotency-Key": token})
        assert response.status_code == status
        assert response.json()["failure_code"] == code


async def test_refunds_partial_then_full_and_never_more_than_charged(tmp_path: Path) -> None:
    async with serving(create_app(tmp_path)) as url, httpx.AsyncClient(base_url=url) as http:
        paid = (await http.post("/v1/payments", json=CHARGE, headers={"Idempotency-Key": "k"})).json()
        part = await http.post(f"/v1/payments/{paid['id']}/refunds", json={"amount": 500},
                               headers={"Idempotency-Key": "r1"})
        assert part.status_code == 201 and part.json()["payment"]["status"] == "partially_refunded"
        too_much = await http.post(f"/v1/payments/{paid['id']}/refunds", json={"amount": 1001},
                                   headers={"Idempotency-Key": "r2"})
        assert too_much.status_code == 409 and too_much.json()["error"]["code"] == "refund_exceeds_charge"
        rest = await http.post(f"/v1/payments/{paid['id']}/refunds", json={}, headers={"Idempotency-Key": "r3"})
        assert rest.json()["amount"] == 1000 and rest.json()["payment"]["status"] == "refunded"
        assert (await http.get("/v1/ledger")).json()["net"] == {"EUR": 0}


async def test_an_authorization_can_be_voided_but_a_capture_cannot(tmp_path: Path) -> None:
    async with serving(create_app(tmp_path)) as url, httpx.AsyncClient(base_url=url) as http:
        held = (await http.post("/v1/payments", json=CHARGE | {"capture": False},
                                headers={"Idempotency-Key": "a"})).json()
        assert held["status"] == "authorized"
        voided = await http.post(f"/v1/payments/{held['id']}/void")
        assert voided.json()["status"] == "voided"
        captured = (await http.post("/v1/payments", json=CHARGE, headers={"Idempotency-Key": "c"})).json()
        assert (await http.post(f"/v1/payments/{captured['id']}/void")).status_code == 409


async def test_missing_fields_and_keys_are_clear_errors(tmp_path: Path) -> None:
    async with serving(create_app(tmp_path)) as url, httpx.AsyncClient(base_url=url) as http:
        no_key = await http.post("/v1/payments", json=CHARGE)
        assert no_key.status_code == 400 and no_key.json()["error"]["code"] == "idempotency_key_required"
        bad = await http.post("/v1/payments", json={"amount": -1}, headers={"Idempotency-Key": "x"})
        assert bad.status_code == 422 and "amount" in bad.json()["error"]["message"]


async def test_adapter_resolves_a_timeout_by_looking_up_the_idempotency_key(tmp_path: Path) -> None:
    async with serving(create_app(tmp_path, timeout_seconds=1.0)) as url:
        client = PaymentSystemClient(url, timeout=0.4, attempts=5)
        result = await client.charge(amount=900, currency="EUR", token="tok_timeout", reference="o9",
                                     idempotency_key="order-o9")
        assert result.outcome is ChargeOutcome.SUCCEEDED and result.payment_id
        again = await client.charge(amount=900, currency="EUR", token="tok_timeout", reference="o9",
                                    idempotency_key="order-o9")
        assert again.payment_id == result.payment_id
        async with httpx.AsyncClient(base_url=url) as http:
            assert len((await http.get("/v1/ledger")).json()["entries"]) == 1
        await client.aclose()


async def test_adapter_reports_unknown_when_the_provider_never_answers_in_time(tmp_path: Path) -> None:
    async with serving(create_app(tmp_path, timeout_seconds=5.0)) as url:
        client = PaymentSystemClient(url, timeout=0.2, attempts=2)
        result = await client.charge(amount=900, currency="EUR", token="tok_timeout", reference="o8",
                                     idempotency_key="order-o8")
        assert result.outcome is ChargeOutcome.UNKNOWN
        await client.aclose()


async def test_outage_makes_the_adapter_raise_unavailable_and_admin_endpoint_toggles_it(tmp_path: Path) -> None:
    async with serving(create_app(tmp_path, FaultConfig(outage=True))) as url:
        client = PaymentSystemClient(url, attempts=2)
        with pytest.raises(PaymentSystemUnavailable):
            await client.charge(amount=1, currency="EUR", token="tok_visa", reference="o", idempotency_key="k")
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.put("/admin/faults", json={"outage": False})).json()["outage"] is False
        result = await client.charge(amount=1, currency="EUR", token="tok_visa", reference="o", idempotency_key="k")
        assert result.outcome is ChargeOutcome.SUCCEEDED
        declined = await client.charge(amount=1, currency="EUR", token="tok_declined", reference="p",
                                       idempotency_key="k2")
        assert (declined.outcome, declined.failure_code) == (ChargeOutcome.DECLINED, "card_declined")
        await client.aclose()
