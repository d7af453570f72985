"""The Payment System sandbox over HTTP: test tokens, idempotency keys, voids, refunds, the ledger."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from eventshop.sandboxes.faults import FaultConfig
from eventshop.sandboxes.payment_system.app import create_app
from eventshop.sandboxes.payment_system.cards import TEST_CARDS
from tests.integration.sandboxes.conftest import TOK_TIMEOUT_SECONDS, Sandbox, serving, unique


def charge(reference: str, **changes: Any) -> dict[str, Any]:
    return {"amount": 1500, "currency": "EUR", "payment_method": "tok_visa", "reference": reference} | changes


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def movements(sandbox: Sandbox, reference: str) -> list[tuple[str, int]]:
    entries = (await sandbox.http.get("/v1/ledger")).json()["entries"]
    return [(e["type"], e["amount"]) for e in entries if e["reference"] == reference]


@pytest.mark.asyncio
async def test_the_test_tokens_are_listed_with_descriptions(payment_system: Sandbox) -> None:
    cards = (await payment_system.http.get("/v1/test-tokens")).json()
    assert [c["token"] for c in cards] == list(TEST_CARDS)
    assert all(c["description"] and c["label"] for c in cards)


@pytest.mark.asyncio
async def test_the_same_idempotency_key_never_charges_twice(payment_system: Sandbox) -> None:
    http, order, k1, k2 = payment_system.http, unique("order"), unique("key"), unique("key")
    first = await http.post("/v1/payments", json=charge(order), headers=key(k1))
    again = await http.post("/v1/payments", json=charge(order), headers=key(k1))
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    other_body = await http.post("/v1/payments", json=charge(order, amount=1), headers=key(k1))
    assert other_body.status_code == 422 and other_body.json()["error"]["code"] == "idempotency_key_reused"
    declined = [await http.post("/v1/payments", json=charge(order, payment_method="tok_declined"), headers=key(k2))
                for _ in range(2)]
    assert [d.status_code for d in declined] == [402, 402] and declined[0].json() == declined[1].json()
    assert await movements(payment_system, order) == [("charge", 1500)]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("token", "status", "state", "code"),
    [("tok_visa", 201, "succeeded", None), ("tok_mastercard", 201, "succeeded", None),
     ("tok_declined", 402, "failed", "card_declined"), ("tok_insufficient_funds", 402, "failed", "insufficient_funds"),
     ("tok_expired", 402, "failed", "expired_card")],
)
async def test_each_test_token_has_its_outcome(
    payment_system: Sandbox, token: str, status: int, state: str, code: str | None
) -> None:
    response = await payment_system.http.post("/v1/payments", json=charge(unique("order"), payment_method=token),
                                              headers=key(unique(token)))
    payment = response.json()
    assert (response.status_code, payment["status"], payment["failure_code"]) == (status, state, code)
    assert payment["id"].startswith("pay_") and payment["amount"] == 1500 and payment["amount_refunded"] == 0
    assert f'"{token}"' not in response.text  # the token is never echoed; brand and last four digits are
    assert (await payment_system.http.get(f"/v1/payments/{payment['id']}")).json() == payment


@pytest.mark.asyncio
async def test_an_unknown_token_is_an_invalid_payment_method(payment_system: Sandbox) -> None:
    response = await payment_system.http.post("/v1/payments", json=charge(unique("order"), payment_method="tok_nope"),
                                              headers=key(unique("key")))
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_payment_method"


@pytest.mark.asyncio
async def test_tok_timeout_answers_late_and_the_same_key_meanwhile_is_in_progress(payment_system: Sandbox) -> None:
    http, body, slow_key = payment_system.http, charge(unique("order"), payment_method="tok_timeout"), unique("slow")
    started = asyncio.get_running_loop().time()
    both = {asyncio.create_task(http.post("/v1/payments", json=body, headers=key(slow_key))) for _ in range(2)}
    done, pending = await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
    [quick], [slow] = done, pending
    assert quick.result().status_code == 409 and quick.result().json()["error"]["code"] == "idempotency_in_progress"
    assert (await http.get("/v1/payments", params={"idempotency_key": slow_key})).json() == []
    response = await slow
    assert response.status_code == 201 and response.json()["status"] == "succeeded"
    assert asyncio.get_running_loop().time() - started >= TOK_TIMEOUT_SECONDS
    [found] = (await http.get("/v1/payments", params={"idempotency_key": slow_key})).json()
    assert found["id"] == response.json()["id"]
    assert await movements(payment_system, body["reference"]) == [("charge", 1500)]


@pytest.mark.asyncio
async def test_refunds_partial_then_full_and_never_more_than_charged(payment_system: Sandbox) -> None:
    http, order = payment_system.http, unique("order")
    paid = (await http.post("/v1/payments", json=charge(order), headers=key(unique("key")))).json()
    refunds, first_key = f"/v1/payments/{paid['id']}/refunds", unique("refund")
    part = await http.post(refunds, json={"amount": 500}, headers=key(first_key))
    assert part.status_code == 201 and part.json()["payment"]["status"] == "partially_refunded"
    assert (await http.post(refunds, json={"amount": 500}, headers=key(first_key))).json()["id"] == part.json()["id"]
    too_much = await http.post(refunds, json={"amount": 1001}, headers=key(unique("refund")))
    assert too_much.status_code == 409 and too_much.json()["error"]["code"] == "refund_exceeds_charge"
    rest = await http.post(refunds, json={}, headers=key(unique("refund")))
    assert rest.json()["amount"] == 1000 and rest.json()["payment"]["status"] == "refunded"
    nothing_left = await http.post(refunds, json={"amount": 1}, headers=key(unique("refund")))
    assert nothing_left.status_code == 409 and nothing_left.json()["error"]["code"] == "refund_exceeds_charge"
    assert (await http.post(refunds, json={"amount": 1})).json()["error"]["code"] == "idempotency_key_required"
    assert await movements(payment_system, order) == [("charge", 1500), ("refund", 500), ("refund", 1000)]


@pytest.mark.asyncio
async def test_only_an_authorization_can_be_voided_and_voiding_twice_is_harmless(payment_system: Sandbox) -> None:
    http, order = payment_system.http, unique("order")
    held = (await http.post("/v1/payments", json=charge(order, capture=False), headers=key(unique("k")))).json()
    assert held["status"] == "authorized"
    refused_refund = await http.post(f"/v1/payments/{held['id']}/refunds", json={}, headers=key(unique("r")))
    assert refused_refund.status_code == 409 and refused_refund.json()["error"]["code"] == "not_refundable"
    first, second = [await http.post(f"/v1/payments/{held['id']}/void") for _ in range(2)]
    assert first.json()["status"] == second.json()["status"] == "voided"
    captured = (await http.post("/v1/payments", json=charge(order), headers=key(unique("k")))).json()
    not_voidable = await http.post(f"/v1/payments/{captured['id']}/void")
    assert not_voidable.status_code == 409 and not_voidable.json()["error"]["code"] == "not_voidable"
    later = (await http.post("/v1/payments", json=charge(order, capture=False), headers=key(unique("k")))).json()
    assert (await http.post(f"/v1/payments/{later['id']}/capture")).json()["status"] == "succeeded"
    assert [kind for kind, _ in await movements(payment_system, order)] == [
        "authorization", "void", "charge", "authorization", "charge"]


@pytest.mark.asyncio
async def test_payments_are_found_by_reference_and_idempotency_key(payment_system: Sandbox) -> None:
    http, order, charge_key = payment_system.http, unique("order"), unique("key")
    paid = (await http.post("/v1/payments", json=charge(order), headers=key(charge_key))).json()
    assert (await http.get("/v1/payments", params={"reference": order})).json() == [paid]
    assert (await http.get("/v1/payments", params={"idempotency_key": charge_key})).json() == [paid]
    assert (await http.get("/v1/payments", params={"idempotency_key": unique("never-sent")})).json() == []
    missing = await http.get("/v1/payments/pay_missing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "payment_not_found"


@pytest.mark.asyncio
async def test_bad_requests_are_clear_json_errors(payment_system: Sandbox) -> None:
    http = payment_system.http
    no_key = await http.post("/v1/payments", json=charge("o"))
    assert no_key.status_code == 400 and no_key.json()["error"]["code"] == "idempotency_key_required"
    bad = await http.post("/v1/payments", json={"amount": -1, "currency": "EURO"}, headers=key(unique("k")))
    message = bad.json()["error"]["message"]
    assert bad.status_code == 422 and all(field in message for field in ("amount", "currency", "payment_method"))
    nowhere = await http.get("/v1/nowhere")
    assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "not_found"


@pytest.mark.asyncio
async def test_payments_idempotency_records_and_ledger_survive_a_restart(tmp_path: Path) -> None:
    async with serving(create_app(tmp_path, FaultConfig())) as sandbox:
        paid = (await sandbox.http.post("/v1/payments", json=charge("o1"), headers=key("durable"))).json()
        await sandbox.http.post("/v1/payments", json=charge("o2", currency="USD"), headers=key("other"))
    async with serving(create_app(tmp_path, FaultConfig())) as sandbox:
        assert (await sandbox.http.get(f"/v1/payments/{paid['id']}")).json() == paid
        replay = await sandbox.http.post("/v1/payments", json=charge("o1"), headers=key("durable"))
        assert replay.json() == paid and replay.headers["Idempotent-Replayed"] == "true"
        await sandbox.http.post(f"/v1/payments/{paid['id']}/refunds", json={"amount": 300}, headers=key("r"))
        ledger = (await sandbox.http.get("/v1/ledger")).json()
    assert [e["type"] for e in ledger["entries"]] == ["charge", "charge", "refund"]
    assert ledger["totals"]["EUR"] == {"charged": 1500, "refunded": 300, "authorized": 0, "voided": 0, "net": 1200}
    assert ledger["net"] == {"EUR": 1200, "USD": 1500}


@pytest.mark.asyncio
async def test_an_api_key_can_be_required(tmp_path: Path) -> None:
    async with serving(create_app(tmp_path, FaultConfig(), api_key="sk_test_1")) as sandbox:
        anonymous = await sandbox.http.get("/v1/test-tokens")
        assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "invalid_api_key"
        allowed = await sandbox.http.get("/v1/test-tokens", headers={"Authorization": "Bearer sk_test_1"})
        assert allowed.status_code == 200
        assert (await sandbox.http.get("/health")).status_code == 200
