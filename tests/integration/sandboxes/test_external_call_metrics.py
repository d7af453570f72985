"""Every call the adapters make to an external system is counted by system, operation and outcome, and timed."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from eventshop.platform.embedded_nats import free_port
from eventshop.services.notification.email_sender import EmailNotSent, EmailSender, SmtpSettings
from eventshop.services.payment.payment_system import PaymentSystemClient, PaymentSystemUnavailable
from eventshop.services.shipping.logistics_system import LogisticsSystemClient
from tests.integration.sandboxes.conftest import MailSandbox, Sandbox, unique


def calls(system: str, operation: str, outcome: str) -> float:
    labels = {"system": system, "operation": operation, "outcome": outcome}
    return REGISTRY.get_sample_value("eventshop_external_calls_total", labels) or 0.0


def timed(system: str, operation: str) -> float:
    labels = {"system": system, "operation": operation}
    return REGISTRY.get_sample_value("eventshop_external_call_seconds_count", labels) or 0.0


async def test_a_charge_is_one_ok_call_and_an_unreachable_provider_one_per_attempt(payment_system: Sandbox) -> None:
    ok, unreachable, durations = (calls("payment_system", "charge", "ok"),
                                  calls("payment_system", "charge", "unreachable"), timed("payment_system", "charge"))
    async with PaymentSystemClient(payment_system.url) as provider:
        await provider.charge(amount=4990, currency="EUR", token="tok_visa", reference=unique("order"),
                              idempotency_key=unique("key"))
    async with PaymentSystemClient(f"http://127.0.0.1:{free_port()}", attempts=2, retry_pause=0.01) as nowhere:
        with pytest.raises(PaymentSystemUnavailable):
            await nowhere.charge(amount=4990, currency="EUR", token="tok_visa", reference=unique("order"),
                                 idempotency_key=unique("key"))

    assert calls("payment_system", "charge", "ok") == ok + 1
    assert calls("payment_system", "charge", "unreachable") == unreachable + 2
    assert timed("payment_system", "charge") == durations + 3


async def test_an_unknown_tracking_number_is_a_refused_logistics_call(logistics_system: Sandbox) -> None:
    refused = calls("logistics_system", "tracking", "refused")
    async with LogisticsSystemClient(logistics_system.url) as logistics:
        assert await logistics.tracking(unique("no-such-parcel")) is None

    assert calls("logistics_system", "tracking", "refused") == refused + 1


async def test_emails_sent_and_not_sent_are_counted_by_outcome(mail: MailSandbox) -> None:
    ok, unreachable = calls("smtp", "send_email", "ok"), calls("smtp", "send_email", "unreachable")
    sender = mail.sender()
    try:
        await sender.send(f"{unique('ada')}@example.com", "Your order", "Shipped")
    finally:
        await sender.aclose()
    nowhere = EmailSender(SmtpSettings(host="127.0.0.1", port=free_port(), timeout=2))
    with pytest.raises(EmailNotSent):
        await nowhere.send("bob@example.com", "Your order", "Shipped")

    assert calls("smtp", "send_email", "ok") == ok + 1
    assert calls("smtp", "send_email", "unreachable") == unreachable + 1
