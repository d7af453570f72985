"""The mail catcher over real SMTP, its web inbox and JSON API, and the Notification service's sender."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from eventshop.sandboxes.runner import bind
from eventshop.services.notification.email_sender import EmailNotSent, EmailSender, SmtpSettings
from tests.integration.sandboxes.conftest import (
    AS_OPERATOR,
    OPERATOR_KEY,
    MailSandbox,
    mail_catcher,
    smtp_relay,
    unique,
)


@pytest.mark.asyncio
async def test_a_message_sent_over_smtp_shows_in_the_api_and_the_web_inbox(mail: MailSandbox) -> None:
    domain = f"{unique('shop')}.example"
    ada, bob, subject = f"ada@{domain}", f"bob@{domain}", unique("Your order is on its way")
    message_id = await mail.sender().send(ada, subject, "Tracking JJD1", "<p>Tracking <b>JJD1</b></p>")
    await mail.sender().send(bob, f"{subject} (payment failed)", "Sorry")
    http = mail.http
    [message] = (await http.get("/api/messages", params={"to": ada.upper()})).json()
    assert message["subject"] == subject and message["message_id"] == message_id
    assert message["from"] == "eventshop <shop@eventshop.local>" and message["to"] == [ada]
    assert "JJD1" in message["text"] and "<b>JJD1</b>" in message["html"]
    newest_first = (await http.get("/api/messages", params={"to": domain})).json()
    assert [m["to"] for m in newest_first] == [[bob], [ada]]
    assert [m["to"] for m in (await http.get("/api/messages", params={"subject": "payment failed", "to": domain})
                              ).json()] == [[bob]]
    assert (await http.get(f"/api/messages/{message['id']}")).json() == message
    raw = await http.get(f"/api/messages/{message['id']}/raw")
    assert "multipart/alternative" in raw.text and message_id in raw.text

    inbox = await http.get("/", params={"to": ada})
    assert subject in inbox.text and "payment failed" not in inbox.text
    page = await http.get(f"/messages/{message['id']}")
    assert "Tracking JJD1" in page.text
    assert "<iframe sandbox='allow-popups allow-popups-to-escape-sandbox' srcdoc=\"" in page.text
    assert "srcdoc=\"&lt;base target=_blank&gt;&lt;p&gt;Tracking &lt;b&gt;JJD1&lt;/b&gt;&lt;/p&gt;\"" in page.text
    assert "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    frame = await http.get(f"/messages/{message['id']}/html")
    assert "<b>JJD1</b>" in frame.text and "default-src 'none'" in frame.headers["content-security-policy"]
    assert (await http.get("/messages/nope")).status_code == 404
    assert (await http.get("/api/messages/nope")).json()["error"]["code"] == "message_not_found"


@pytest.mark.asyncio
async def test_smtp_login_is_optional_and_the_password_is_never_kept(mail: MailSandbox) -> None:
    to = f"ada@{unique('login')}.example"
    await mail.sender(username="shop", password="s3cret-pw").send(to, "Hi", "hello", "<p>hello</p>")
    [message] = (await mail.http.get("/api/messages", params={"to": to})).json()
    assert message["authenticated_as"] == "shop"
    raw = (await mail.http.get(f"/api/messages/{message['id']}/raw")).text
    assert "s3cret-pw" not in str(message) + raw and "s3cret-pw" not in repr(SmtpSettings(password="s3cret-pw"))


@pytest.mark.asyncio
async def test_smtp_faults_are_temporary_failures_and_the_inbox_can_be_emptied(tmp_path: Path) -> None:
    async with mail_catcher(tmp_path) as mail:
        await mail.set_faults(outage=True)
        with pytest.raises(EmailNotSent) as outage:
            await mail.sender().send("ada@example.com", "s", "t", "<p>h</p>")
        assert outage.value.temporary and "421" in str(outage.value)
        assert (await mail.http.get("/api/messages")).status_code == 503
        assert (await mail.http.get("/")).status_code == 200  # the inbox stays readable for people

        await mail.set_faults(error_rate=1.0)
        with pytest.raises(EmailNotSent) as error:
            await mail.sender().send("ada@example.com", "s", "t", "<p>h</p>")
        assert error.value.temporary and error.value.smtp_code == 451

        await mail.set_faults(latency_ms=1500)
        with pytest.raises(EmailNotSent):
            await EmailSender(SmtpSettings(host="127.0.0.1", port=mail.smtp_port, timeout=0.5)).send("a@b.c", "s", "t")

        await mail.set_faults()
        await mail.sender().send("ada@example.com", "after the outage", "t")
        assert [m["subject"] for m in (await mail.http.get("/api/messages")).json()] == ["after the outage"]
        assert (await mail.http.delete("/api/messages", headers=AS_OPERATOR)).json() == {"deleted": 1}
        assert (await mail.http.get("/api/messages")).json() == []
        assert "No messages yet" in (await mail.http.get("/")).text


@pytest.mark.asyncio
async def test_an_unreachable_smtp_server_is_a_clear_error() -> None:
    sock = bind("127.0.0.1", 0, "a port nobody serves")
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(EmailNotSent) as unreachable:
        await EmailSender(SmtpSettings(host="127.0.0.1", port=port, timeout=1)).send("a@b.c", "s", "t")
    assert unreachable.value.temporary and f"127.0.0.1:{port}" in str(unreachable.value)


@pytest.mark.asyncio
async def test_emails_share_one_smtp_connection_and_a_dropped_one_is_reopened(mail: MailSandbox) -> None:
    domain = f"{unique('reuse')}.example"
    async with smtp_relay(mail.smtp_port) as relay:
        sender = EmailSender(SmtpSettings(host="127.0.0.1", port=relay.port, timeout=3))
        try:
            await asyncio.gather(*(sender.send(f"c{i}@{domain}", f"email {i}", "t") for i in range(3)))
            await sender.send(f"c3@{domain}", "email 3", "t")
            assert relay.connections == 1, "four emails, one connection"

            relay.drop()  # the server side goes away while the sender still holds the connection
            await sender.send(f"c4@{domain}", "after the drop", "t")
            assert relay.connections == 2
        finally:
            await sender.aclose()
    received = (await mail.http.get("/api/messages", params={"to": domain})).json()
    assert sorted(m["subject"] for m in received) == sorted([*(f"email {i}" for i in range(4)), "after the drop"])


@pytest.mark.asyncio
async def test_only_the_operator_view_offers_delete_all_and_deleting_takes_the_operator_key(tmp_path: Path) -> None:
    async with mail_catcher(tmp_path) as mail:
        await mail.sender().send("ada@example.com", "Your order", "t", "<p>h</p>")
        customer, operator = (await mail.http.get("/", params={"to": "ada@example.com"})).text, \
            (await mail.http.get("/")).text
        assert "Your order" in customer and "Delete all" not in customer and "/clear" not in customer
        assert "Delete all" in operator and "name=operator_key type=password" in operator

        for headers in ({}, {"Authorization": "Bearer wrong"}):
            refused = await mail.http.delete("/api/messages", headers=headers)
            assert (refused.status_code, refused.json()["error"]["code"]) == (401, "operator_key_required")
        wrong = await mail.http.post("/clear", data={"operator_key": "wrong"})
        assert wrong.status_code == 401 and "Nothing was deleted" in wrong.text
        assert len((await mail.http.get("/api/messages")).json()) == 1

        deleted = await mail.http.post("/clear", data={"operator_key": OPERATOR_KEY})
        assert deleted.status_code == 303 and deleted.headers["location"] == "/"
        assert (await mail.http.get("/api/messages")).json() == []


@pytest.mark.asyncio
async def test_without_an_operator_key_nothing_can_be_deleted(mail: MailSandbox) -> None:
    refused = await mail.http.delete("/api/messages")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "deleting_disabled")
    assert "EVENTSHOP_MAIL_OPERATOR_KEY" in refused.json()["error"]["message"]
    assert (await mail.http.post("/clear", data={"operator_key": "anything"})).status_code == 403
    assert "Deleting is off" in (await mail.http.get("/")).text
