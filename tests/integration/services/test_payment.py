"""Payment with the real Payment System sandbox: one charge per order whatever the deliveries, replica rules."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from eventshop.contracts.events import (
    AccountDeactivatedEvent,
    AccountUpdatedEvent,
    InventoryProcessedEvent,
    ShoppingCartOrderedEvent,
)
from eventshop.contracts.values import OrderLine
from eventshop.platform.db import utcnow
from eventshop.platform.settings import Settings
from eventshop.sandboxes.payment_system.app import create_app as payment_system
from eventshop.services.payment import reconciliation
from eventshop.services.payment.domain import PaymentStatus
from eventshop.services.payment.payment_system import PaymentSystemClient
from eventshop.services.payment.service import declare as payment
from eventshop.services.payment.tables import Payment
from eventshop.services.payment.usecases import PaymentContext
from tests.conftest import RunningService, eventually, running, serving
from tests.integration.publishing import broker, collect, publish

LINES = [OrderLine(product_id="p1", sku="P1", name="Kettle", quantity=1, unit_price=4990, currency="EUR")]


def stand_in_account(tokens: dict[str, tuple[str, str]], asked: list[str] | None = None) -> FastAPI:
    """Account's "Payment Data" as this test decides it: account id -> (status, token); `asked` logs each call."""
    app = FastAPI()

    @app.get("/internal/accounts/{account_id}/payment-data")
    async def payment_data(account_id: str) -> dict[str, str]:
        if asked is not None:
            asked.append(account_id)
        status, token = tokens[account_id]
        return {"account_id": account_id, "status": status, "payment_token": token}

    return app


def order_events(order_id: str, customer: str) -> tuple[ShoppingCartOrderedEvent, InventoryProcessedEvent]:
    return (
        ShoppingCartOrderedEvent(cart_id="cart", order_id=order_id, customer_id=customer, lines=LINES, total=4990,
                                 currency="EUR"),
        InventoryProcessedEvent(order_id=order_id, customer_id=customer, lines=LINES, total=4990, currency="EUR"),
    )


async def charges(provider: str, order_id: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        ledger = (await http.get(f"{provider}/v1/ledger")).json()
    return [e for e in ledger["entries"] if e["reference"] == order_id and e["type"] == "charge"]


async def test_a_redelivered_reservation_charges_once_even_before_the_cart_event(
    settings: Settings, clean_broker: None, tmp_path: Path
) -> None:
    accounts = {"c1": ("active", "tok_visa")}
    async with serving(payment_system(tmp_path / "ps")) as provider, serving(stand_in_account(accounts)) as account:
        settings.service_urls.update({"payment-system": provider, "account": account})
        async with running(payment(), settings) as service:
            nc = await broker(settings)
            results = await collect(nc, "payment.>")
            cart_event, reserved = order_events("o1", "c1")
            event_id = await publish(nc, reserved)  # the reservation arrives first...
            await publish(nc, reserved, event_id=event_id, copy=1)  # ...and twice
            await publish(nc, cart_event)
            [processed] = await eventually(lambda: results, message="PaymentProcessedEvent")
            assert processed["type"] == "PaymentProcessedEvent" and processed["data"]["amount"] == 4990
            await eventually(lambda: _settled(service.http, "o1"), message="payment settled")
            await asyncio.sleep(0.5)  # time for any wrong second charge to show up
            assert len(await charges(provider, "o1")) == 1 and len(results) == 1
            await nc.close()


async def _settled(http: httpx.AsyncClient, order_id: str) -> bool:
    response = await http.get(f"/payments/{order_id}")
    return response.status_code == 200 and response.json()["status"] == "succeeded"


async def test_a_deactivated_account_fails_with_that_reason_and_stale_events_are_ignored(
    settings: Settings, clean_broker: None, tmp_path: Path
) -> None:
    accounts = {"c2": ("active", "tok_visa")}  # Account still says active: the replica decides
    async with serving(payment_system(tmp_path / "ps")) as provider, serving(stand_in_account(accounts)) as account:
        settings.service_urls.update({"payment-system": provider, "account": account})
        async with running(payment(), settings):
            nc = await broker(settings)
            results = await collect(nc, "payment.>")
            fields = {"account_id": "c2", "email": "c2@example.com", "name": "C"}
            await publish(nc, AccountDeactivatedEvent(revision=3, status="deactivated", **fields))
            await publish(nc, AccountUpdatedEvent(revision=2, status="active", changed=["name"], **fields))  # stale
            await asyncio.sleep(0.5)
            for event in order_events("o2", "c2"):
                await publish(nc, event)
            [failed] = await eventually(lambda: results, message="PaymentFailedEvent")
            assert failed["type"] == "PaymentFailedEvent" and failed["data"]["reason"] == "account_deactivated"
            assert await charges(provider, "o2") == []
            await nc.close()


async def test_a_declined_card_fails_with_the_decline_reason(
    settings: Settings, clean_broker: None, tmp_path: Path
) -> None:
    accounts = {"c3": ("active", "tok_insufficient_funds")}
    async with serving(payment_system(tmp_path / "ps")) as provider, serving(stand_in_account(accounts)) as account:
        settings.service_urls.update({"payment-system": provider, "account": account})
        async with running(payment(), settings) as service:
            nc = await broker(settings)
            results = await collect(nc, "payment.>")
            for event in order_events("o3", "c3"):
                await publish(nc, event)
            [failed] = await eventually(lambda: results, message="PaymentFailedEvent")
            assert failed["data"]["reason"] == "insufficient_funds"
            view = (await service.http.get("/payments/o3")).json()
            assert (view["status"], view["failure_reason"]) == ("failed", "insufficient_funds")
            await nc.close()


async def test_payment_data_is_asked_of_account_once_until_an_event_says_the_token_changed(
    settings: Settings, clean_broker: None, tmp_path: Path
) -> None:
    accounts: dict[str, tuple[str, str]] = {"c4": ("active", "tok_visa")}
    asked: list[str] = []
    fields = {"account_id": "c4", "email": "c4@example.com", "name": "C", "status": "active"}
    async with serving(payment_system(tmp_path / "ps")) as provider, \
            serving(stand_in_account(accounts, asked)) as account:
        settings.service_urls.update({"payment-system": provider, "account": account})
        async with running(payment(), settings) as service:
            nc = await broker(settings)
            for event in order_events("o4", "c4"):  # no account event yet: the replica lacks the account
                await publish(nc, event)
            await eventually(lambda: _settled(service.http, "o4"), message="first order paid")
            assert asked == ["c4"]

            await publish(nc, AccountUpdatedEvent(revision=2, changed=["name"], **fields))
            for event in order_events("o5", "c4"):
                await publish(nc, event)
            await eventually(lambda: _settled(service.http, "o5"), message="second order paid")
            assert asked == ["c4"], "the second order used the cached token"

            accounts["c4"] = ("active", "tok_insufficient_funds")
            await publish(nc, AccountUpdatedEvent(revision=3, changed=["payment_token"], **fields))
            await publish(nc, AccountUpdatedEvent(revision=1, changed=["name"], **fields))  # stale: no effect
            await asyncio.sleep(0.5)
            for event in order_events("o6", "c4"):
                await publish(nc, event)
            await eventually(lambda: _failed(service.http, "o6"), message="third order charged with the new token")
            assert asked == ["c4", "c4"], "the changed token was asked for again"
            await nc.close()


async def _failed(http: httpx.AsyncClient, order_id: str) -> bool:
    response = await http.get(f"/payments/{order_id}")
    return response.status_code == 200 and response.json()["failure_reason"] == "insufficient_funds"


def late_provider(service: RunningService, provider_url: str) -> None:
    """The service's adapter with a short timeout, so the sandbox's late card outlasts it."""
    service.context.provider = PaymentSystemClient(provider_url, timeout=0.5, attempts=2, retry_pause=0.1)


async def _status(http: httpx.AsyncClient, order_id: str) -> str | None:
    response = await http.get(f"/payments/{order_id}")
    return str(response.json()["status"]) if response.status_code == 200 else None


async def test_a_charge_answered_too_late_is_recorded_unknown_then_reconciled_to_one_charge_and_one_event(
    settings: Settings, clean_broker: None, tmp_path: Path
) -> None:
    accounts = {"c7": ("active", "tok_timeout")}
    late = payment_system(tmp_path / "ps", timeout_seconds=3.0)
    async with serving(late) as provider, serving(stand_in_account(accounts)) as account:
        settings.service_urls.update({"payment-system": provider, "account": account})
        async with running(payment(), settings) as service:
            late_provider(service, provider)
            nc = await broker(settings)
            results = await collect(nc, "payment.>")
            cart_event, reserved = order_events("o7", "c7")
            await publish(nc, cart_event)
            event_id = await publish(nc, reserved)
            assert await eventually(lambda: _is(service.http, "o7", "unknown"), message="recorded unknown")
            await publish(nc, reserved, event_id=event_id, copy=1)  # redelivered while unknown: no second charge
            await publish(nc, reserved)  # and a new copy past the inbox
            [processed] = await eventually(lambda: results, timeout=20, message="PaymentProcessedEvent")
            assert processed["type"] == "PaymentProcessedEvent" and processed["data"]["payment_id"].startswith("pay_")
            view = (await service.http.get("/payments/o7")).json()
            assert view["status"] == "succeeded" and view["provider_payment_id"] == processed["data"]["payment_id"]
            assert [h["status"] for h in view["history"]] == ["pending", "unknown", "succeeded"]
            await asyncio.sleep(0.5)
            assert len(await charges(provider, "o7")) == 1 and len(results) == 1
            await nc.close()


async def _is(http: httpx.AsyncClient, order_id: str, status: str) -> bool:
    return await _status(http, order_id) == status


async def test_an_unknown_charge_the_provider_never_received_fails_as_not_charged(
    settings: Settings, clean_broker: None, tmp_path: Path
) -> None:
    async with serving(payment_system(tmp_path / "ps")) as provider, serving(stand_in_account({})) as account:
        settings.service_urls.update({"payment-system": provider, "account": account})
        async with running(payment(), settings) as service:
            nc = await broker(settings)
            results = await collect(nc, "payment.>")
            ctx = service.context
            await _unknown_payment(ctx, "o8")
            assert await reconciliation.reconcile_payment(ctx, "o8") is PaymentStatus.FAILED
            [failed] = await eventually(lambda: results, message="PaymentFailedEvent")
            assert failed["type"] == "PaymentFailedEvent" and failed["data"]["reason"] == "provider_unreachable"
            assert await charges(provider, "o8") == []
            await nc.close()


async def test_a_charge_unknown_past_the_budget_stays_unknown_is_counted_overdue_and_still_settles_later(
    settings: Settings, clean_broker: None, tmp_path: Path
) -> None:
    accounts = {"c9": ("active", "tok_timeout")}
    late = payment_system(tmp_path / "ps", timeout_seconds=5.0)
    async with serving(late) as provider, serving(stand_in_account(accounts)) as account:
        settings.service_urls.update({"payment-system": provider, "account": account})
        async with running(payment(), settings) as service:
            late_provider(service, provider)
            service.context.reconcile_seconds = 0.01
            nc = await broker(settings)
            results = await collect(nc, "payment.>")
            for event in order_events("o9", "c9"):
                await publish(nc, event)
            await eventually(lambda: _checked(service.context, "o9"), message="looked up past the budget")
            assert await _status(service.http, "o9") == "unknown" and results == []
            metrics = (await service.http.get("/metrics")).text
            assert 'eventshop_payments_unknown{state="overdue"} 1.0' in metrics
            await eventually(lambda: charges(provider, "o9"), message="the late charge happened")
            assert await reconciliation.reconcile_payment(service.context, "o9") is PaymentStatus.SUCCEEDED
            [processed] = await eventually(lambda: results, message="PaymentProcessedEvent")
            assert processed["type"] == "PaymentProcessedEvent"
            assert 'eventshop_payments_unknown{state="overdue"} 0.0' in (await service.http.get("/metrics")).text
            await nc.close()


async def _checked(ctx: PaymentContext, order_id: str) -> bool:
    async with ctx.db.reading() as uow:
        found = await uow.session.get(Payment, order_id)
    return found is not None and found.reconcile_checks > 0


async def _unknown_payment(ctx: PaymentContext, order_id: str) -> None:
    """A payment recorded unknown whose charge never reached the provider (its request was lost on the way)."""
    now = utcnow()
    async with ctx.db.transaction() as uow:
        uow.session.add(Payment(order_id=order_id, customer_id="c8", amount=4990, currency="EUR",
                                status=PaymentStatus.UNKNOWN, refunded_amount=0, lines=[], created_at=now,
                                updated_at=now, unknown_since=now, next_check_at=now + timedelta(hours=1)))
        await uow.commit()
