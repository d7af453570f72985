"""Broker identities: anonymous clients and services outside their own topic are refused, so a forged
payment ships nothing (the attack: publish PaymentProcessedEvent after a declined checkout)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import nats
import pytest
from nats.js.errors import NotFoundError

from eventshop.contracts.events import PaymentProcessedEvent
from eventshop.contracts.values import OrderLine
from eventshop.platform.broker import BrokerLogin, BrokerRefused, connect
from eventshop.platform.broker_auth import OPERATOR
from tests.conftest import eventually
from tests.integration.publishing import envelope_of
from tests.shop import Shop, broker_secrets
from tests.system.shopping import add_product, final_order, order, sign_up

pytestmark = pytest.mark.system

SUBJECT = "payment.PaymentProcessedEvent"


def login(shop: Shop, identity: str) -> BrokerLogin:
    return BrokerLogin(identity, (broker_secrets(shop.data_dir) / identity).read_text().strip())


def forged_payment(placed: dict[str, Any]) -> bytes:
    event = PaymentProcessedEvent(
        order_id=placed["id"], customer_id=placed["customer_id"], payment_id="pay_forged",
        amount=placed["total"], currency=placed["currency"],
        lines=[OrderLine.model_validate(line) for line in placed["lines"]],
    )
    return envelope_of(event, source="eventshop/payment").to_bytes()


async def stored_payments_about(shop: Shop, order_id: str) -> list[dict[str, Any]]:
    """The PaymentProcessedEvent the PAYMENT stream holds last, if it is about `order_id`."""
    nc = await connect(shop.env["EVENTSHOP_NATS_URL"], "test", login=login(shop, OPERATOR), persistent=False)
    try:
        last = await nc.jetstream().get_last_msg("PAYMENT", SUBJECT)
    except NotFoundError:
        return []
    finally:
        await nc.close()
    envelope = json.loads(last.data or b"{}")
    return [envelope] if envelope.get("data", {}).get("order_id") == order_id else []


async def forge_as(shop: Shop, who: BrokerLogin | None, payload: bytes) -> str:
    """Publish the forged payment as `who` (None: anonymously); what the broker said."""
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:  # a permissions violation arrives asynchronously
        errors.append(str(exc))

    credentials = {"user": who.user, "password": who.password, "inbox_prefix": who.inbox_prefix} if who else {}
    try:
        nc = await nats.connect(shop.env["EVENTSHOP_NATS_URL"], allow_reconnect=False, error_cb=on_error,
                                **credentials)
    except nats.errors.Error as exc:
        return f"refused: {exc}"
    try:
        await nc.jetstream(timeout=1).publish(SUBJECT, payload)
        return "stored"
    except nats.errors.TimeoutError:
        return f"not stored: {errors}"
    finally:
        await nc.close()


async def consumers_caught_up(shop: Shop) -> bool:
    nc = await connect(shop.env["EVENTSHOP_NATS_URL"], "test", login=login(shop, OPERATOR), persistent=False)
    try:
        infos = [await nc.jetstream().consumer_info("PAYMENT", durable)
                 for durable in ("order--payment", "shipping--payment")]
    finally:
        await nc.close()
    return all(info.num_pending == 0 and info.num_ack_pending == 0 for info in infos)


async def test_an_anonymous_client_is_refused(shop: Shop) -> None:
    with pytest.raises(BrokerRefused, match="anonymous"):
        await connect(shop.env["EVENTSHOP_NATS_URL"], "anonymous", persistent=False)


async def test_a_service_publishing_to_another_services_topic_is_refused_and_nothing_is_stored(shop: Shop) -> None:
    placed = {"id": "o-forged-by-shipping", "customer_id": "c", "total": 1, "currency": "EUR", "lines": []}

    outcome = await forge_as(shop, login(shop, "shipping"), forged_payment(placed))

    assert outcome.startswith("not stored") and "permissions violation" in outcome, outcome
    assert await stored_payments_about(shop, "o-forged-by-shipping") == []


async def test_a_forged_payment_after_a_declined_checkout_ships_nothing(shop: Shop) -> None:
    product = await asyncio.to_thread(add_product, shop, 3)
    customer = await asyncio.to_thread(sign_up, shop, token="tok_declined")
    order_id = await asyncio.to_thread(order, shop, customer["id"], [(product["id"], 1)])
    placed = await asyncio.to_thread(final_order, shop, order_id)
    assert (placed["status"], placed["reason"]) == ("cancelled", "card_declined")

    anonymous = await forge_as(shop, None, forged_payment(placed))
    as_shipping = await forge_as(shop, login(shop, "shipping"), forged_payment(placed))

    assert anonymous.startswith("refused") and "Authorization Violation" in anonymous, anonymous
    assert as_shipping.startswith("not stored"), as_shipping
    assert await stored_payments_about(shop, order_id) == []
    await eventually(lambda: consumers_caught_up(shop), interval=0.2, message="payment consumers caught up")
    async with httpx.AsyncClient(timeout=5) as http:
        answer = await http.get(f"{shop.url('order')}/orders/{order_id}", headers=shop.as_operator("order"))
        assert answer.json()["status"] == "cancelled"
        shipments = await http.get(f"{shop.url('logistics-system')}/v1/shipments", params={"reference": order_id})
        assert shipments.json() == []
