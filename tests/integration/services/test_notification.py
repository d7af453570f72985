"""Notification with the real Account service and a real SMTP server: one record per event, retries."""

from __future__ import annotations

from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI

from eventshop.contracts.events import AccountUpdatedEvent, OrderProcessedEvent
from eventshop.contracts.values import OrderLine
from eventshop.platform.embedded_nats import free_port
from eventshop.platform.settings import Settings
from eventshop.services.account.service import declare as account
from eventshop.services.notification.service import declare as notification
from tests.conftest import eventually, running, serving
from tests.integration.publishing import broker, publish

NEW = {
    "name": "Ada Lovelace", "email": "ada@example.com", "password": "correct horse battery",
    "address": {"street": "A 1", "city": "Berlin", "postcode": "10115", "country": "DE"}, "payment_token": "tok_visa",
}


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        self.messages.append(message_from_bytes(raw, policy=policy.default))
        return "250 OK"


async def notifications(http: Any, customer_id: str) -> list[dict[str, Any]]:
    page = (await http.get("/notifications", params={"customer_id": customer_id})).json()
    return list(page["items"])


async def test_each_account_event_is_recorded_once_and_mailed_with_text_and_html(
    settings: Settings, clean_broker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = Inbox(), free_port()
    monkeypatch.setenv("EVENTSHOP_SMTP_PORT", str(port))
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        async with running(account(), settings) as accounts, running(notification(), settings) as notes:
            account_id = (await accounts.http.post("/accounts", json=NEW)).json()["id"]
            await accounts.http.patch(f"/accounts/{account_id}", json={"name": "Ada King"})
            sent = await eventually(lambda: len(inbox.messages) == 2 and inbox.messages, message="two emails")
            assert sorted(m["Subject"] for m in sent) == ["Welcome to eventshop", "Your account details changed"]
            welcome = next(m for m in sent if m["Subject"] == "Welcome to eventshop")
            assert welcome["To"] == "ada@example.com"
            assert welcome.get_body(("plain",)).get_content().startswith("Hello Ada")
            assert "<p>" in welcome.get_body(("html",)).get_content()
            records = await eventually(lambda: _all_sent(notes.http, account_id, 2), message="records sent")
            assert {r["event_type"] for r in records} == {"AccountCreatedEvent", "AccountUpdatedEvent"}
    finally:
        smtp.stop()


async def test_an_email_change_updates_the_replica_so_later_emails_go_to_the_new_address(
    settings: Settings, clean_broker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = Inbox(), free_port()
    monkeypatch.setenv("EVENTSHOP_SMTP_PORT", str(port))
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        async with running(account(), settings) as accounts, running(notification(), settings) as notes:
            account_id = (await accounts.http.post("/accounts", json=NEW)).json()["id"]
            changed = await accounts.http.patch(f"/accounts/{account_id}", json={
                "email": "ada@king.example", "current_password": NEW["password"]})
            assert changed.status_code == 200
            await eventually(lambda: _all_sent(notes.http, account_id, 2), message="welcome and change mailed")
            nc = await broker(settings)
            processed = order_processed("order-1").model_copy(update={"customer_id": account_id})
            await publish(nc, processed)
            await eventually(lambda: _all_sent(notes.http, account_id, 3), message="order mailed")
            await nc.close()
            sent = {m["Subject"]: m for m in inbox.messages}
            assert {subject: m["To"] for subject, m in sent.items()} == {
                "Welcome to eventshop": "ada@example.com", "Your account details changed": "ada@king.example",
                "Order order-1 confirmed": "ada@king.example"}
            change = sent["Your account details changed"].get_body(("plain",)).get_content()
            assert "We changed email on your account." in change
    finally:
        smtp.stop()


async def _all_sent(http: Any, customer_id: str, count: int) -> list[dict[str, Any]] | None:
    found = await notifications(http, customer_id)
    return found if len(found) == count and all(r["status"] == "sent" for r in found) else None


async def test_a_failed_smtp_send_stays_pending_and_is_retried_until_sent(
    settings: Settings, clean_broker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = Inbox(), free_port()
    monkeypatch.setenv("EVENTSHOP_SMTP_PORT", str(port))  # nothing listens there yet
    async with running(account(), settings) as accounts, running(notification(), settings) as notes:
        account_id = (await accounts.http.post("/accounts", json=NEW)).json()["id"]

        async def pending() -> dict[str, Any] | None:
            found = await notifications(notes.http, account_id)
            return found[0] if found and found[0]["status"] == "pending" and found[0]["attempts"] >= 1 else None

        waiting = await eventually(pending, message="pending after a failed send")
        assert waiting["last_error"] and waiting["recipient"] == "ada@example.com"
        smtp = Controller(inbox, hostname="127.0.0.1", port=port)
        smtp.start()
        try:
            await eventually(lambda: _all_sent(notes.http, account_id, 1), timeout=20, message="sent on retry")
            assert [m["Subject"] for m in inbox.messages] == ["Welcome to eventshop"]
        finally:
            smtp.stop()


def stand_in_account(asked: list[str]) -> FastAPI:
    """Account's "Email for Account" for one customer at revision 1; `asked` logs each call."""
    app = FastAPI()

    @app.get("/internal/accounts/{account_id}/contact")
    async def contact(account_id: str) -> dict[str, Any]:
        asked.append(account_id)
        return {"account_id": account_id, "name": "Ada", "email": "ada@example.com", "status": "active",
                "revision": 1}

    return app


def order_processed(order_id: str) -> OrderProcessedEvent:
    line = OrderLine(product_id="p1", sku="P1", name="Kettle", quantity=1, unit_price=4990, currency="EUR")
    return OrderProcessedEvent(order_id=order_id, customer_id="c1", lines=[line], total=4990, currency="EUR")


async def test_the_email_address_is_asked_of_account_only_while_the_replica_lacks_the_account(
    settings: Settings, clean_broker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = Inbox(), free_port()
    asked: list[str] = []
    monkeypatch.setenv("EVENTSHOP_SMTP_PORT", str(port))
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        async with serving(stand_in_account(asked)) as account_url:
            settings.service_urls["account"] = account_url
            async with running(notification(), settings) as notes:
                nc = await broker(settings)
                await publish(nc, order_processed("order-1"))  # before any account event
                await eventually(lambda: _all_sent(notes.http, "c1", 1), message="first order mailed")
                assert asked == ["c1"]

                await publish(nc, order_processed("order-2"))
                await eventually(lambda: _all_sent(notes.http, "c1", 2), message="second order mailed")
                assert asked == ["c1"], "the second order's address came from the replica"

                fields = {"account_id": "c1", "name": "Ada King", "status": "active"}
                await publish(nc, AccountUpdatedEvent(revision=3, email="ada@king.example", changed=["name"],
                                                      **fields))
                await eventually(lambda: _all_sent(notes.http, "c1", 3), message="update mailed")
                await publish(nc, AccountUpdatedEvent(revision=2, email="old@example.com", changed=["name"],
                                                      **fields))  # stale
                await eventually(lambda: _all_sent(notes.http, "c1", 4), message="stale update recorded")
                await publish(nc, order_processed("order-3"))
                await eventually(lambda: _all_sent(notes.http, "c1", 5), message="third order mailed")
                assert asked == ["c1"]
                assert [m["To"] for m in inbox.messages] == ["ada@example.com"] * 2 + ["ada@king.example"] * 3
                await nc.close()
    finally:
        smtp.stop()
