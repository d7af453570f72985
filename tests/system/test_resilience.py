"""Duplicates, reordering and a crashed service: the same final states, one charge per order."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.shop import Shop
from tests.system.shopping import add_product, final_order, ledger_for, order, settled, sign_up, stock_of

pytestmark = pytest.mark.system


def charges(shop: Shop, order_id: str) -> int:
    return len([m for m in ledger_for(shop, order_id) if m.get("type") == "charge"])


@pytest.mark.parametrize("style", ["choreography", "orchestration"])
def test_every_event_twice_and_out_of_order_gives_the_same_outcomes(request: pytest.FixtureRequest, style: str) -> None:
    shop: Shop = request.getfixturevalue("chaotic_shop" if style == "choreography" else "chaotic_orchestrated_shop")
    in_stock = add_product(shop, stock=5, price=1000)
    sold_out = add_product(shop, stock=0)
    happy, declined, undeliverable = sign_up(shop), sign_up(shop, token="tok_declined"), sign_up(shop, postcode="00000")

    shipped = order(shop, happy["id"], [(in_stock["id"], 1)])
    no_stock = order(shop, happy["id"], [(sold_out["id"], 1)])
    no_money = order(shop, declined["id"], [(in_stock["id"], 1)])
    no_address = order(shop, undeliverable["id"], [(in_stock["id"], 1)])

    assert final_order(shop, shipped)["status"] == "shipped"
    assert final_order(shop, no_stock)["reason"] == "out_of_stock"
    assert final_order(shop, no_money)["reason"] == "card_declined"
    assert final_order(shop, no_address)["reason"].startswith("shipping_failed")
    time.sleep(1.0)  # let the late copies of every event arrive before counting effects
    assert [charges(shop, o) for o in (shipped, no_stock, no_money, no_address)] == [1, 0, 0, 1]
    settled(shop, lambda: stock_of(shop, in_stock["id"])["available"] == 4, message="only the shipped unit gone")
    with shop.http("order") as orders:
        orders.headers.update(shop.as_operator("order"))
        timeline = orders.get(f"/orders/{shipped}").json()["timeline"]
    assert [t["event"] for t in timeline].count("PaymentProcessedEvent") >= 1


@pytest.mark.parametrize(("style", "victim"), [
    ("choreography", "payment"), ("choreography", "order"), ("choreography", "inventory"),
    # Order killed mid-saga in orchestration: tests/system/test_saga.py. Here a callee of its steps dies.
    ("orchestration", "payment"), ("orchestration", "inventory"),
])
def test_a_service_killed_mid_saga_recovers_every_order_without_duplicates(
    request: pytest.FixtureRequest, style: str, victim: str,
) -> None:
    shop: Shop = request.getfixturevalue("shop" if style == "choreography" else "orchestrated_shop")
    product = add_product(shop, stock=20, price=700)
    customers = [sign_up(shop) for _ in range(6)]

    order_ids = [order(shop, c["id"], [(product["id"], 1)]) for c in customers[:3]]
    shop.kill(victim, signal.SIGKILL)
    order_ids += [order(shop, c["id"], [(product["id"], 1)]) for c in customers[3:]] if victim != "order" else []
    shop.restart(victim)
    if victim == "order":
        order_ids += [order(shop, c["id"], [(product["id"], 1)]) for c in customers[3:]]

    results = [final_order(shop, o, timeout=90) for o in order_ids]
    assert [r["status"] for r in results] == ["shipped"] * 6
    assert [charges(shop, o) for o in order_ids] == [1] * 6
    assert stock_of(shop, product["id"])["available"] == 14


# Past the old give-up (8 deliveries, about 25 s); the documented worst case, 150 s, is run with
# EVENTSHOP_TEST_FROZEN_SECONDS=150 (kept out of CI for its time).
FROZEN_SECONDS = float(os.environ.get("EVENTSHOP_TEST_FROZEN_SECONDS", "45"))


def test_an_order_placed_while_account_is_frozen_completes_after_it_resumes(shop: Shop) -> None:
    """Payment (payment data), Shipping (address) and Notification (email) all need Account: while it
    hangs their deliveries fail and are retried within the time budget, never dead-lettered."""
    product = add_product(shop, stock=3, price=900)
    customer = sign_up(shop)
    account = shop.processes["account"]
    frozen_at = time.monotonic()
    account.send_signal(signal.SIGSTOP)
    try:
        order_id = order(shop, customer["id"], [(product["id"], 1)])
        with shop.http("order") as orders:
            orders.headers.update(shop.as_operator("order"))
            while time.monotonic() - frozen_at < FROZEN_SECONDS:  # the scenario: Account hangs this long
                assert orders.get(f"/orders/{order_id}").json()["status"] == "processing"
                time.sleep(1.0)
    finally:
        account.send_signal(signal.SIGCONT)

    placed = final_order(shop, order_id, timeout=90)
    assert placed["status"] == "shipped"
    assert charges(shop, order_id) == 1
