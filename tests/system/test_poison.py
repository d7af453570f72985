"""A poison message on a topic several services read: parked by each, the shop goes on, all stay ready."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from eventshop.contracts.envelope import Envelope
from eventshop.platform import deadletters
from eventshop.platform.broker import TOPICS, BrokerLogin, connect
from tests.brokers import operator_login
from tests.shop import SERVICES, Shop
from tests.system.shopping import add_product, final_order, order, settled, sign_up

pytestmark = pytest.mark.system

READERS = {"order--payment", "shipping--payment", "notification--payment"}


async def publish_largest_poison(url: str, login: BrokerLogin) -> tuple[str, int, int]:
    """The largest message the payment stream stores: a valid envelope whose event fails its schema."""
    nc = await connect(url, "test", login=login, persistent=False)
    try:
        js = nc.jetstream()
        limit = (await js.stream_info(TOPICS["payment"].stream)).config.max_msg_size
        assert limit is not None and 0 < limit < nc.max_payload
        envelope = Envelope(source="eventshop/test", type="PaymentProcessedEvent", subject="o-poison",
                            data={"order_id": "o-poison", "padding": ""})
        headers = {"Nats-Msg-Id": f"poison:{envelope.id}"}
        envelope.data["padding"] = "x" * (limit - len(envelope.to_bytes()) - deadletters.headers_size(headers))
        data = envelope.to_bytes()
        await js.publish("payment.PaymentProcessedEvent", data, headers=headers)
        return envelope.id, len(data), nc.max_payload
    finally:
        await nc.close()


async def parked_copies(url: str, login: BrokerLogin, event_id: str) -> list[tuple[deadletters.DeadLetter, int]]:
    nc = await connect(url, "test", login=login, persistent=False)
    try:
        js = nc.jetstream()
        found = []
        for letter in await deadletters.list_dead_letters(js):
            if letter.event_id == event_id:
                raw = await js.get_msg(deadletters.DEAD_LETTER_STREAM, seq=letter.sequence)
                found.append((letter, len(raw.data or b"") + deadletters.headers_size(raw.headers or {})))
        return found
    finally:
        await nc.close()


def test_the_largest_accepted_poison_message_is_parked_by_every_reader_and_later_orders_ship(shop: Shop) -> None:
    url, login = shop.nats[0].url, operator_login(shop.nats[0])
    product = add_product(shop, stock=10, price=900)
    customer = sign_up(shop)

    event_id, size, max_payload = asyncio.run(publish_largest_poison(url, login))
    copies = settled(shop, lambda: (found := asyncio.run(parked_copies(url, login, event_id)))
                     and {letter.consumer for letter, _ in found} == READERS and found,
                     message="parked by order, shipping and notification")
    assert all(copy_size <= max_payload for _, copy_size in copies)
    assert all("fails its schema" in letter.error and letter.original_size == size for letter, _ in copies)

    later = [order(shop, customer["id"], [(product["id"], 1)]) for _ in range(2)]
    assert [final_order(shop, o)["status"] for o in later] == ["shipped", "shipped"]
    for name in SERVICES:
        with shop.http(name) as client:
            assert client.get("/health/ready").status_code == 200, name
    listed = subprocess.run([sys.executable, "-m", "eventshop.cli.main", "dlq", "list"], capture_output=True,
                            text=True, timeout=60, env={**os.environ, "EVENTSHOP_NATS_URL": url, "COLUMNS": "250",
                                 "EVENTSHOP_NATS_SECRETS_DIR": str(shop.nats[0].secrets_dir)})
    assert listed.returncode == 0 and "shipping--payment" in listed.stdout, listed.stderr
