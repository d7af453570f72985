"""Notification with the real Account service and a real SMTP server: one record per event, retries."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI

from eventshop.contracts.envelope import Event
from eventshop.contracts.events import (
    AccountCreatedEvent,
    AccountUpdatedEvent,
    InventoryOutOfStockEvent,
    OrderCancelledEvent,
    OrderProcessedEvent,
    PaymentFailedEvent,
    PaymentProcessedEvent,
    ShippingFailedEvent,
    ShippingProcessedEvent,
)
from eventshop.contracts.values import OrderLine, StockShortage
from eventshop.platform.embedded_nats import free_port
from eventshop.platform.settings import Settings
from eventshop.services.account.service import declare as account
from eventshop.services.notification.service import declare as notification
from tests.conftest import create_database, drop_database, eventually, postgres_available, running, serving
from tests.credentials import as_service
from tests.integration.publishing import broker, publish
from tests.integration.sandboxes.conftest import MailSandbox, mail_catcher

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
            moved = {"street": "B 2", "city": "Berlin", "postcode": "10117", "country": "DE"}
            await accounts.http.patch(f"/accounts/{account_id}", json={"address": moved,
                                                                       "payment_token": "tok_mastercard"})
            sent = await eventually(lambda: len(inbox.messages) == 2 and inbox.messages, message="two emails")
            changed_subject = "Your delivery address and payment card were changed"
            assert sorted(m["Subject"] for m in sent) == ["Welcome to eventshop", changed_subject]
            welcome = next(m for m in sent if m["Subject"] == "Welcome to eventshop")
            assert welcome["To"] == "ada@example.com"
            assert welcome.get_body(("plain",)).get_content().startswith("Hello Ada,")
            assert "<p" in welcome.get_body(("html",)).get_content()
            change = next(m for m in sent if m["Subject"] == changed_subject).get_body(("plain",)).get_content()
            assert "Your delivery address was changed.\n\nYour payment card was changed." in change
            assert "payment token" not in change and "payment_token" not in change
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
                "Welcome to eventshop": "ada@example.com", "Your email address was changed": "ada@king.example",
                "Order order-1 confirmed": "ada@king.example"}
            change = sent["Your email address was changed"].get_body(("plain",)).get_content()
            assert "Your email address was changed to ada@king.example." in change
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


SHOP = "https://shop.example"
KETTLE = OrderLine(product_id="p1", sku="KETTLE-1", name="Kettle", quantity=2, unit_price=4990, currency="EUR")
BISCUITS = OrderLine(product_id="p2", sku="BISCUIT-9", name="Tea & <Biscuits>", quantity=1, unit_price=800,
                     currency="EUR")
TOTAL = 2 * 4990 + 800  # €107.80


def saga_of(outcome: str, order_id: str) -> list[Event]:
    """The events Notification hears for one order that ends in `outcome`, in the order the saga sends them."""
    lines, money = [KETTLE, BISCUITS], {"customer_id": "c1", "order_id": order_id, "currency": "EUR"}
    paid = PaymentProcessedEvent(payment_id="pay-1", amount=TOTAL, lines=lines, **money)
    processed: list[Event] = [OrderProcessedEvent(lines=lines, total=TOTAL, **money)]

    def cancelled(reason: str) -> OrderCancelledEvent:
        return OrderCancelledEvent(reason=reason, lines=lines, total=TOTAL, **money)

    shortage = StockShortage(product_id="p1", sku="KETTLE-1", name="Kettle", requested=2, available=1)
    return processed + {
        "shipped": [paid, ShippingProcessedEvent(order_id=order_id, customer_id="c1", shipment_id="s-1",
                                                 carrier="DHL", tracking_number="JJD0001")],
        "out_of_stock": [InventoryOutOfStockEvent(shortages=[shortage], total=TOTAL, **money),
                         PaymentFailedEvent(amount=TOTAL, reason="out_of_stock", **money), cancelled("out_of_stock")],
        "declined": [PaymentFailedEvent(amount=TOTAL, reason="card_declined", **money), cancelled("card_declined")],
        "undeliverable": [paid, ShippingFailedEvent(order_id=order_id, customer_id="c1",
                                                    reason="undeliverable_address"),
                          cancelled("shipping_failed:undeliverable_address")],
    }[outcome]


async def _all_recorded(http: Any, customer_id: str, count: int) -> list[dict[str, Any]] | None:
    found = (await http.get("/notifications", params={"customer_id": customer_id, "page_size": 100})).json()["items"]
    return found if len(found) == count and all(r["status"] in ("sent", "skipped") for r in found) else None


def parts_of(raw: bytes) -> tuple[str, str]:
    """The plain-text and HTML parts of a multipart/alternative message, in that order."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage) and message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    return str(parts[0].get_content()), str(parts[1].get_content())


@contextlib.asynccontextmanager
async def mail_for_notification(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                **urls: str) -> AsyncIterator[MailSandbox]:
    """A mail sandbox of the test's own for the Notification it then runs, and a stand-in Account that knows
    nobody (what Notification knows of a customer comes from its replica)."""
    async with mail_catcher(tmp_path / "mail") as mail, serving(stand_in_account([])) as account_url:
        monkeypatch.setenv("EVENTSHOP_SMTP_PORT", str(mail.smtp_port))
        settings.service_urls.update(account=account_url, **urls)
        yield mail


async def test_each_order_gets_one_email_per_step_with_its_items_total_and_links_to_its_order_page(
    settings: Settings, clean_broker: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outcomes = ["shipped", "out_of_stock", "declined", "undeliverable"]
    ids = {outcome: f"{outcome[:4]}5678-order-{outcome}" for outcome in outcomes}
    async with mail_for_notification(settings, monkeypatch, tmp_path, frontend=SHOP + "/") as mail:
        async with running(notification(), settings) as notes:
            nc = await broker(settings)
            events = [event for outcome in outcomes for event in saga_of(outcome, ids[outcome])]
            for event in events:
                await publish(nc, event)
            await nc.close()
            await eventually(lambda: _all_recorded(notes.http, "c1", len(events)), message="every event recorded")
        found = (await mail.http.get("/api/messages", params={"to": "ada@example.com"})).json()
        emails = {m["subject"]: parts_of((await mail.http.get(f"/api/messages/{m['id']}/raw")).content)
                  for m in found}

    short = {outcome: order_id[:8] for outcome, order_id in ids.items()}
    assert sorted(emails) == sorted([
        *(f"Order {number} confirmed" for number in short.values()),
        f"Order {short['shipped']} has shipped", f"Order {short['out_of_stock']} cancelled: items out of stock",
        f"Order {short['declined']} cancelled", f"Order {short['undeliverable']} cancelled and refunded",
    ]), "two emails per order: no separate one for a failed payment or shipment"
    for outcome, order_id in ids.items():
        page = f"{SHOP}/orders/{order_id}"
        for text, html in (v for k, v in emails.items() if k.startswith(f"Order {short[outcome]} ")):
            assert text.startswith("Hello Ada,\n") and page in text, text
            assert f'href="{page}"' in html and "eventshop" in html and 'name="viewport"' in html

    text, html = emails[f"Order {short['shipped']} confirmed"]
    assert f"Thank you for your order {short['shipped']}." in text
    assert "- 2 x Kettle (€49.90 each): €99.80\n- 1 x Tea & <Biscuits> (€8.00 each): €8.00\nTotal: €107.80" in text
    assert "Tea &amp; &lt;Biscuits&gt;" in html and "<Biscuits>" not in html, "product names are escaped"
    assert "€99.80" in html and re.search(r'data-role="total">€107.80<', html)

    text, html = emails[f"Order {short['shipped']} has shipped"]
    assert "We handed your parcel to DHL." in text and "Tracking number: JJD0001" in text
    assert re.search(rf'href="{re.escape(SHOP)}/orders/{ids["shipped"]}"[^>]*>JJD0001</a>', html)

    text, _ = emails[f"Order {short['out_of_stock']} cancelled: items out of stock"]
    assert "- Kettle: you asked for 2, we have only 1 left." in text and "KETTLE-1" not in text
    assert "Nothing was charged." in text

    text, _ = emails[f"Order {short['declined']} cancelled"]
    assert f"we cancelled your order {short['declined']} because the card was declined." in text
    assert "Nothing was charged." in text and "Total: €107.80" in text and "card_declined" not in text

    text, _ = emails[f"Order {short['undeliverable']} cancelled and refunded"]
    assert "because the carrier cannot deliver to this address." in text
    assert "The payment of €107.80 is refunded in full" in text and "shipping_failed" not in text


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not postgres_available(), reason="PostgreSQL is not running on 127.0.0.1:5432"))])
async def notification_database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
                                ) -> AsyncIterator[str]:
    """Notification's database: the test's SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    name = await create_database()
    monkeypatch.setenv("EVENTSHOP_NOTIFICATION_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
    try:
        yield "postgresql"
    finally:
        await drop_database(name)


def notify_customer(order_id: str) -> tuple[dict[str, str], dict[str, str]]:
    """Order's "Notify Customer" request for a shipped order: the body and the headers, its key included."""
    body = {"customer_id": "c1", "order_id": order_id, "subject": "Your order", "message": "It is on its way."}
    return body, {**as_service("order", "notification"), "Idempotency-Key": f"{order_id}:notify-shipped"}


async def test_a_repeated_notify_customer_sends_nothing_again_even_while_the_first_email_is_being_sent(
    settings: Settings, clean_broker: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    notification_database: str,
) -> None:
    body, headers = notify_customer("order-1")
    async with mail_for_notification(settings, monkeypatch, tmp_path) as mail:
        async with running(notification(), settings) as notes, httpx.AsyncClient(base_url=notes.url) as order:
            assert notes.runtime.db.is_sqlite == (notification_database == "sqlite")
            await mail.set_faults(latency_ms=1500)  # the first call's email is still being sent ...
            first = asyncio.create_task(order.post("/notifications", json=body, headers=headers, timeout=10))
            await eventually(lambda: notifications(notes.http, "c1"), message="the first call's record")
            again = await order.post("/notifications", json=body, headers=headers, timeout=10)  # ... when it repeats
            assert again.status_code == 201 and again.json()["attempts"] == 0
            assert (await first).json()["status"] == "sent" and (await first).json()["id"] == again.json()["id"]
            [record] = await notifications(notes.http, "c1")
            assert (record["status"], record["attempts"]) == ("sent", 1)
        received = (await mail.http.get("/api/messages", params={"to": "ada@example.com"})).json()
        assert [m["subject"] for m in received] == ["Your order"], "one email for the two calls"


async def test_notify_customer_called_twice_at_once_with_one_key_records_and_sends_once(
    settings: Settings, clean_broker: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    notification_database: str,
) -> None:
    body, headers = notify_customer("order-2")
    async with mail_for_notification(settings, monkeypatch, tmp_path) as mail:
        async with running(notification(), settings) as notes, httpx.AsyncClient(base_url=notes.url) as order:
            answers = await asyncio.gather(*(order.post("/notifications", json=body, headers=headers, timeout=10)
                                             for _ in range(6)))
            assert [a.status_code for a in answers] == [201] * 6, [a.text for a in answers]
            assert len({a.json()["id"] for a in answers}) == 1
            await eventually(lambda: _all_sent(notes.http, "c1", 1), message="the one record sent")
        received = (await mail.http.get("/api/messages", params={"to": "ada@example.com"})).json()
        assert [m["subject"] for m in received] == ["Your order"], "one email for the six calls"


async def test_the_replica_records_and_retried_sends_work_the_same_on_either_database(
    settings: Settings, clean_broker: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    notification_database: str,
) -> None:
    fields = {"account_id": "c1", "name": "Ada Lovelace", "status": "active"}
    async with mail_for_notification(settings, monkeypatch, tmp_path) as mail:
        async with running(notification(), settings) as notes:
            nc = await broker(settings)
            await publish(nc, AccountCreatedEvent(revision=1, email="ada@example.com", **fields))
            await eventually(lambda: _all_sent(notes.http, "c1", 1), message="welcome mailed")
            await publish(nc, AccountUpdatedEvent(revision=2, email="ada@king.example", changed=["email"], **fields))
            await eventually(lambda: _all_sent(notes.http, "c1", 2), message="change mailed")
            for event in saga_of("shipped", "order-7")[:2]:  # the confirmation, and a payment told by no email
                await publish(nc, event)
            await eventually(lambda: _all_recorded(notes.http, "c1", 4), message="order recorded")

            await mail.set_faults(outage=True)
            await publish(nc, saga_of("shipped", "order-7")[2])

            async def failed() -> dict[str, Any] | None:
                found = await notifications(notes.http, "c1")
                return found[0] if found[0]["event_type"] == "ShippingProcessedEvent" and found[0]["attempts"] else None

            waiting = await eventually(failed, message="the shipping email's failed send")
            assert waiting["status"] == "pending" and "421" in waiting["last_error"]
            await mail.set_faults()
            await eventually(lambda: _all_recorded(notes.http, "c1", 5), timeout=20, message="sent on retry")
            await nc.close()
            records = {r["event_type"]: r for r in await notifications(notes.http, "c1")}
        assert records["PaymentProcessedEvent"]["status"] == "skipped"
        assert records["ShippingProcessedEvent"]["attempts"] == 2 and records["ShippingProcessedEvent"]["sent_at"]
        assert records["ShippingProcessedEvent"]["last_error"] is None
        received = (await mail.http.get("/api/messages")).json()
        assert sorted((m["to"][0], m["subject"]) for m in received) == [
            ("ada@example.com", "Welcome to eventshop"), ("ada@king.example", "Order order-7 confirmed"),
            ("ada@king.example", "Order order-7 has shipped"), ("ada@king.example", "Your email address was changed")]
