"""The operator console against the running shop: sign-in, processes, event flow, dead letters, orders, the
sandboxes' fault switches."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from eventshop.console.rates import MIN_SPAN_SECONDS
from eventshop.contracts.envelope import Envelope
from eventshop.platform import deadletters
from eventshop.platform.broker import connect
from eventshop.platform.identity import CONSOLE_PASSWORD
from tests.brokers import operator_login
from tests.shop import SERVICES, Shop
from tests.system.shopping import add_product, final_order, order, settled, sign_up, unique

pytestmark = pytest.mark.system
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def password_of(shop: Shop) -> str:
    return (shop.data_dir / "secrets" / "http" / CONSOLE_PASSWORD).read_text().strip()


@pytest.fixture
def anonymous(shop: Shop) -> Iterator[httpx.Client]:
    """A browser-like client of the shop's `eventshop console` process, not signed in."""
    with httpx.Client(base_url=shop.console(), timeout=30) as client:
        yield client


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


def sign_in(client: httpx.Client, password: str, next_page: str = "/") -> tuple[int, str]:
    page = client.get("/signin", params={"next": next_page})
    answer = client.post("/signin", data={"csrf": csrf_of(page.text), "password": password, "next": next_page})
    return answer.status_code, answer.headers.get("location", answer.text)


@pytest.fixture
def console(anonymous: httpx.Client, shop: Shop) -> httpx.Client:
    assert sign_in(anonymous, password_of(shop)) == (303, "/")
    return anonymous


def test_every_page_asks_for_the_console_password_first(anonymous: httpx.Client, shop: Shop) -> None:
    for path in ("/", "/flow", "/flow.json", "/dead-letters", "/orders", "/orders/any", "/faults"):
        answer = anonymous.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin?next="), path
    status, page = sign_in(anonymous, "not the password", "/orders")
    assert status == 401 and "That is not the console password" in page
    forged = anonymous.post("/signin", data={"password": password_of(shop), "next": "/"})
    assert forged.status_code == 403 and "form expired" in forged.text
    assert sign_in(anonymous, password_of(shop), "https://elsewhere.example/") == (303, "/")
    assert anonymous.get("/orders").status_code == 200
    anonymous.post("/signout", data={"csrf": csrf_of(anonymous.get("/").text)})
    assert anonymous.get("/orders").status_code == 303


def test_the_processes_page_shows_each_process_ready_and_the_backlogs(console: httpx.Client) -> None:
    page = console.get("/")
    assert page.status_code == 200
    for name in [*SERVICES, "frontend", "payment-system", "logistics-system", "mail"]:
        row = re.search(rf'<tr data-process="{name}">(.*?)</tr>', page.text, re.S)
        assert row and 'class="state ready"' in row.group(1), name
    assert "all ready" in page.text and "dead letters" in page.text and "not final after" in page.text


def test_the_event_flow_shows_every_topic_with_its_publisher_outbox_rates_and_each_subscriptions_figures(
    console: httpx.Client, shop: Shop
) -> None:
    console.get("/flow")  # the first look: what the next one's rates are measured from
    first_look = time.monotonic()
    product = add_product(shop, stock=2, price=800)
    customer = sign_up(shop)
    final_order(shop, order(shop, customer["id"], [(product["id"], 1)]))
    # Two looks less than MIN_SPAN_SECONDS apart show `…` (nothing to compare with yet); a fast order can be that quick.
    time.sleep(max(0.0, first_look + MIN_SPAN_SECONDS + 0.2 - time.monotonic()))

    page = console.get("/flow").text
    for topic in ("shopping-cart", "inventory", "payment", "order", "shipping", "account"):
        assert f'data-topic="{topic}"' in page
    payment = page[page.index('data-topic="payment"'):page.index('data-topic="order"')]
    assert "Payment Service</strong> publishes" in payment and "outbox empty" in payment
    assert re.search(r'data-figure="payment:published">(<0\.1|[\d.]+)/s<', payment), payment
    for consumer in ("order--payment", "shipping--payment", "notification--payment"):
        row = re.search(rf'data-consumer="{consumer}"[^>]*>(.*?)</tr>', payment, re.S)
        assert row, consumer
        assert re.search(rf'data-figure="{consumer}:rate">(<0\.1|[\d.]+)/s<', row.group(1)), row.group(1)
        assert re.search(rf'data-figure="{consumer}:lag"[^>]*>\d+<', row.group(1)), row.group(1)
        assert re.search(rf'data-figure="{consumer}:redelivered"[^>]*>\d+<', row.group(1)), row.group(1)
    assert 'http-equiv="refresh"' in page and "/static/flow.js" in page  # the figures refresh, with or without JS

    refreshed = console.get("/flow.json")
    assert refreshed.status_code == 200 and refreshed.json()["broker_error"] is None
    figures = refreshed.json()["figures"]
    assert set(re.findall(r'data-figure="([^"]+)"', page)) == set(figures)
    assert figures["order--payment:redelivered"]["text"].isdigit()


def test_fault_switches_change_a_sandbox_and_refuse_bad_values_and_forged_forms(console: httpx.Client,
                                                                                shop: Shop) -> None:
    page = console.get("/faults")
    assert page.status_code == 200
    for sandbox in ("payment-system", "logistics-system", "mail"):
        assert f'data-sandbox="{sandbox}"' in page.text
    csrf = csrf_of(page.text)
    logistics = f"{shop.url('logistics-system')}/admin/faults"

    refused = console.post("/faults/logistics-system", data={"csrf": csrf, "error_rate": "0.5", "latency_ms": "-3"})
    assert refused.status_code == 422
    assert "Logistics System: not changed: latency_ms: Input should be greater than or equal to 0" in refused.text
    assert console.post("/faults/logistics-system", data={"error_rate": "1"}).status_code == 403
    assert console.post("/faults/elsewhere", data={"csrf": csrf}).status_code == 400
    assert httpx.get(logistics).json() == {"error_rate": 0.0, "latency_ms": 0, "outage": False}
    assert httpx.put(logistics, json={"outage": True}).status_code == 401  # only with the sandbox's operator key

    try:
        changed = console.post("/faults/logistics-system", data={"csrf": csrf, "error_rate": "0", "latency_ms": "250"})
        assert changed.status_code == 303
        assert httpx.get(logistics).json() == {"error_rate": 0.0, "latency_ms": 250, "outage": False}
        assert "Logistics System: 250 ms added." in console.get("/faults").text
    finally:
        cleared = console.post("/faults/logistics-system", data={"csrf": csrf, "clear": "yes"})
    assert cleared.status_code == 303
    assert httpx.get(logistics).json() == {"error_rate": 0.0, "latency_ms": 0, "outage": False}


async def publish_poison(shop: Shop) -> str:
    """An OrderProcessedEvent whose data fails its schema: Inventory and Notification each park it."""
    nc = await connect(shop.nats[0].url, "test", login=operator_login(shop.nats[0]), persistent=False)
    try:
        envelope = Envelope(source="eventshop/test", type="OrderProcessedEvent", subject=unique("o-poison"),
                            data={"order_id": "missing everything else"})
        await nc.jetstream().publish("order.OrderProcessedEvent", envelope.to_bytes(),
                                     headers={"Nats-Msg-Id": f"poison:{envelope.id}"})
        return envelope.id
    finally:
        await nc.close()


async def parked(shop: Shop, event_id: str) -> dict[str, int]:
    """consumer -> sequence of the dead letters of one event."""
    nc = await connect(shop.nats[0].url, "test", login=operator_login(shop.nats[0]), persistent=False)
    try:
        return {letter.consumer: letter.sequence for letter in await deadletters.list_dead_letters(nc.jetstream())
                if letter.event_id == event_id}
    finally:
        await nc.close()


def test_dead_letters_are_listed_shown_replayed_and_purged(console: httpx.Client, shop: Shop) -> None:
    event_id = asyncio.run(publish_poison(shop))
    readers = {"inventory--order", "notification--order"}
    letters = settled(shop, lambda: (found := asyncio.run(parked(shop, event_id))) and set(found) == readers
                      and found, message="parked by inventory and notification")
    listed = console.get("/dead-letters").text
    assert all(f'data-sequence="{seq}"' in listed for seq in letters.values())

    shown = console.get(f"/dead-letters/{letters['inventory--order']}").text
    assert "fails its schema" in shown and event_id in shown and "inventory--order" in shown
    assert console.get("/dead-letters/999999999").status_code == 404

    csrf = csrf_of(listed)
    replayed = console.post(f"/dead-letters/{letters['inventory--order']}/replay", data={"csrf": csrf})
    assert replayed.status_code == 303
    assert "Replayed dead letter" in console.get("/dead-letters").text
    # Replayed, the poison fails its schema again: parked anew by both readers (the topic's subscribers each
    # see it again), under new sequence numbers.
    again = settled(shop, lambda: (found := asyncio.run(parked(shop, event_id))) and len(found) == 2
                    and set(found.values()).isdisjoint(letters.values()) and found, message="parked again")

    refused = console.post("/dead-letters/purge-all", data={"csrf": csrf})
    assert refused.status_code == 303 and "Nothing purged" in console.get("/dead-letters").text
    assert console.post(f"/dead-letters/{letters['inventory--order']}/purge", data={}).status_code == 403
    for sequence in [letters["notification--order"], *again.values()]:
        assert console.post(f"/dead-letters/{sequence}/purge", data={"csrf": csrf}).status_code == 303
    assert asyncio.run(parked(shop, event_id)) == {}


def test_orders_are_found_by_customer_order_id_status_and_age_and_an_order_page_tells_its_story(
    console: httpx.Client, shop: Shop
) -> None:
    product = add_product(shop, stock=5, price=1250)
    customer = sign_up(shop)
    order_id = order(shop, customer["id"], [(product["id"], 2)])
    assert final_order(shop, order_id)["status"] == "shipped"

    by_customer = console.get("/orders", params={"q": customer["id"]}).text
    assert f'data-order="{order_id}"' in by_customer and "1 order(s)" in by_customer
    assert console.get("/orders", params={"q": order_id}).headers["location"] == f"/orders/{order_id}"
    shipped = console.get("/orders", params={"q": customer["id"], "status": "shipped"}).text
    assert f'data-order="{order_id}"' in shipped
    assert "0 order(s)" in console.get("/orders", params={"q": customer["id"], "older_than_minutes": "60"}).text
    assert console.get("/orders", params={"status": "lost"}).status_code == 400
    assert console.get("/orders", params={"older_than_minutes": "soon"}).status_code == 400
    assert console.get("/orders/no-such-order").status_code == 404

    def story() -> list[tuple[str, str]] | None:
        page = console.get(f"/orders/{order_id}").text
        rows = re.findall(r'<tr data-source="(\w+)"><td>([^<]+)</td>', page)
        return [(source, at) for source, at in rows] if any(s == "Email" for s, _ in rows) else None

    chapters = settled(shop, story, message="an email in the order's story")
    assert {"Order", "Payment", "Shipping", "Email"} <= {source for source, _ in chapters}
    assert [at for _, at in chapters] == sorted(at for _, at in chapters)
    page = console.get(f"/orders/{order_id}").text
    assert "€25.00" in page and 'data-testid="order-status">shipped' in page
