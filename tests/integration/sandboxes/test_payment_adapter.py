"""The Payment service's adapter against the running Payment System sandbox, failures included."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventshop.sandboxes.faults import FaultConfig
from eventshop.sandboxes.payment_system.app import create_app
from eventshop.sandboxes.runner import bind
from eventshop.services.payment.payment_system import (
    ChargeOutcome,
    ChargeResult,
    PaymentSystemClient,
    PaymentSystemError,
    PaymentSystemUnavailable,
)
from tests.conftest import eventually
from tests.integration.sandboxes.conftest import OPERATOR_KEY, TOK_TIMEOUT_SECONDS, Sandbox, serving, unique


def client(sandbox: Sandbox, *, timeout: float = 5, attempts: int = 3, retry_pause: float = 0.05
           ) -> PaymentSystemClient:
    return PaymentSystemClient(sandbox.url, timeout=timeout, attempts=attempts, retry_pause=retry_pause)


async def charges(sandbox: Sandbox, reference: str) -> int:
    entries = (await sandbox.http.get("/v1/ledger")).json()["entries"]
    return len([e for e in entries if e["reference"] == reference and e["type"] == "charge"])


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("token", "outcome", "code"),
    [("tok_visa", ChargeOutcome.SUCCEEDED, None), ("tok_mastercard", ChargeOutcome.SUCCEEDED, None),
     ("tok_declined", ChargeOutcome.DECLINED, "card_declined"),
     ("tok_insufficient_funds", ChargeOutcome.DECLINED, "insufficient_funds"),
     ("tok_expired", ChargeOutcome.DECLINED, "expired_card"),
     ("tok_unknown", ChargeOutcome.DECLINED, "invalid_payment_method")],
)
async def test_charges_map_to_outcomes_and_decline_reasons(
    payment_system: Sandbox, token: str, outcome: ChargeOutcome, code: str | None
) -> None:
    async with client(payment_system) as provider:
        result = await provider.charge(amount=990, currency="EUR", token=token, reference=unique("order"),
                                       idempotency_key=unique(token))
    assert (result.outcome, result.failure_code) == (outcome, code)
    assert bool(result.payment_id) is (token != "tok_unknown")


@pytest.mark.asyncio
async def test_a_timeout_is_unknown_and_the_idempotency_key_then_finds_the_payment(payment_system: Sandbox) -> None:
    order, charge_key = unique("order"), unique("charge")
    async with client(payment_system, timeout=0.5, attempts=2) as provider:
        result = await provider.charge(amount=900, currency="EUR", token="tok_timeout", reference=order,
                                       idempotency_key=charge_key)
        assert result.outcome is ChargeOutcome.UNKNOWN and result.payment_id is None

        found = await eventually(lambda: provider.find_charge(charge_key), timeout=TOK_TIMEOUT_SECONDS + 3,
                                 message="the late charge")
        assert found.outcome is ChargeOutcome.SUCCEEDED and found.payment_id
        again = await provider.charge(amount=900, currency="EUR", token="tok_timeout", reference=order,
                                      idempotency_key=charge_key)
        assert again == found
    assert await charges(payment_system, order) == 1


@pytest.mark.asyncio
async def test_enough_retries_resolve_a_timeout_within_one_call(payment_system: Sandbox) -> None:
    order = unique("order")
    async with client(payment_system, timeout=0.5, attempts=8, retry_pause=0.2) as provider:
        result = await provider.charge(amount=900, currency="EUR", token="tok_timeout", reference=order,
                                       idempotency_key=unique("charge"))
    assert result.outcome is ChargeOutcome.SUCCEEDED and result.payment_id
    assert await charges(payment_system, order) == 1


@pytest.mark.asyncio
async def test_an_outage_is_unavailable_until_the_admin_endpoint_ends_it(tmp_path: Path) -> None:
    async with serving(create_app(tmp_path, FaultConfig(outage=True), operator_key=OPERATOR_KEY)) as sandbox, \
            client(sandbox) as provider:
        with pytest.raises(PaymentSystemUnavailable):
            await provider.charge(amount=100, currency="EUR", token="tok_visa", reference="o", idempotency_key="k")
        with pytest.raises(PaymentSystemUnavailable):
            await provider.test_tokens()
        await sandbox.set_faults(outage=False)
        result = await provider.charge(amount=100, currency="EUR", token="tok_visa", reference="o", idempotency_key="k")
        assert result.outcome is ChargeOutcome.SUCCEEDED
        assert [e["type"] for e in (await sandbox.http.get("/v1/ledger")).json()["entries"]] == ["charge"]


@pytest.mark.asyncio
async def test_an_unreachable_provider_is_unavailable() -> None:
    sock = bind("127.0.0.1", 0, "a port nobody serves")
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    async with PaymentSystemClient(url, attempts=2, retry_pause=0.01) as provider:
        with pytest.raises(PaymentSystemUnavailable):
            await provider.charge(amount=1, currency="EUR", token="tok_visa", reference="o", idempotency_key="k")


@pytest.mark.asyncio
async def test_refund_void_and_reads_through_the_adapter(payment_system: Sandbox) -> None:
    async with client(payment_system) as provider:
        tokens = await provider.test_tokens()
        assert {"tok_visa", "tok_timeout"} <= {t["token"] for t in tokens}
        paid = await provider.charge(amount=2000, currency="EUR", token="tok_visa", reference=unique("order"),
                                     idempotency_key=unique("charge"))
        assert paid.payment_id
        part = await provider.refund(paid.payment_id, 500, idempotency_key=unique("refund"))
        rest = await provider.refund(paid.payment_id, None, idempotency_key=unique("refund"))
        assert (part["amount"], rest["amount"]) == (500, 1500)
        assert (await provider.get(paid.payment_id))["status"] == "refunded"
        with pytest.raises(PaymentSystemError) as over:
            await provider.refund(paid.payment_id, 1, idempotency_key=unique("refund"))
        assert over.value.code == "refund_exceeds_charge"

        held = await provider.charge(amount=700, currency="EUR", token="tok_visa", reference=unique("order"),
                                     idempotency_key=unique("charge"), capture=False)
        assert held.payment_id and (await provider.void(held.payment_id))["status"] == "voided"


@pytest.mark.asyncio
async def test_the_api_key_is_sent_as_a_bearer_token(tmp_path: Path) -> None:
    async with serving(create_app(tmp_path, FaultConfig(), api_key="sk_test_2")) as sandbox:
        async with PaymentSystemClient(sandbox.url, api_key="wrong") as provider:
            with pytest.raises(PaymentSystemError) as refused:
                await provider.charge(amount=1, currency="EUR", token="tok_visa", reference="o", idempotency_key="k")
            assert refused.value.code == "invalid_api_key"
        async with PaymentSystemClient(sandbox.url, api_key="sk_test_2") as provider:
            result = await provider.charge(amount=1, currency="EUR", token="tok_visa", reference="o",
                                           idempotency_key="k")
            assert result.outcome is ChargeOutcome.SUCCEEDED


@pytest.mark.asyncio
async def test_a_lookup_by_key_tells_in_progress_completed_and_never_received_apart(payment_system: Sandbox) -> None:
    order, charge_key = unique("order"), unique("charge")
    async with client(payment_system, timeout=0.3, attempts=1) as provider:
        assert (await provider.lookup_charge(charge_key)).outcome is ChargeOutcome.ABSENT
        result = await provider.charge(amount=900, currency="EUR", token="tok_timeout", reference=order,
                                       idempotency_key=charge_key)
        assert result.outcome is ChargeOutcome.UNKNOWN
        assert (await provider.lookup_charge(charge_key)).outcome is ChargeOutcome.UNKNOWN  # still in progress
        found = await eventually(lambda: _known(provider, charge_key), timeout=TOK_TIMEOUT_SECONDS + 3,
                                 message="the late charge")
        assert found.outcome is ChargeOutcome.SUCCEEDED and found.payment_id
        declined_key = unique("declined")
        await provider.charge(amount=900, currency="EUR", token="tok_declined", reference=order,
                              idempotency_key=declined_key)
        declined = await provider.lookup_charge(declined_key)
        assert (declined.outcome, declined.failure_code) == (ChargeOutcome.DECLINED, "card_declined")
    assert await charges(payment_system, order) == 1


async def _known(provider: PaymentSystemClient, key: str) -> ChargeResult | None:
    found = await provider.lookup_charge(key)
    return found if found.outcome is not ChargeOutcome.UNKNOWN else None
