"""The whole shop unchanged on a production set-up: every service on its own PostgreSQL database,
all of them on a 3-node JetStream cluster whose streams keep 3 replicas."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest

from eventshop.platform.broker import wait_for_jetstream
from eventshop.platform.embedded_nats import start_cluster
from tests.brokers import operator_login
from tests.conftest import create_database, drop_database, postgres_available
from tests.shop import SERVICES, Shop, broker_secrets, start_shop
from tests.system.shopping import (
    add_product,
    all_mentioned,
    final_order,
    ledger_for,
    order,
    settled,
    sign_up,
    stock_of,
    subjects,
)

SAGA = ["inventory", "order", "payment", "shipping", "notification"]

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not running on 127.0.0.1:5432"),
]


@pytest.fixture(scope="module")
def production_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    data_dir = tmp_path_factory.mktemp("production")
    names = {service: asyncio.run(create_database()) for service in SERVICES}
    cluster = start_cluster(data_dir / "cluster", secrets_dir=broker_secrets(data_dir))
    asyncio.run(wait_for_jetstream(",".join(node.url for node in cluster), login=operator_login(cluster[0])))
    databases = {
        f"EVENTSHOP_{service.upper()}_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        for service, name in names.items()
    }
    try:
        running = start_shop(data_dir, cluster=cluster, **databases)
    except BaseException:
        for name in names.values():
            asyncio.run(drop_database(name))
        raise
    yield running
    running.stop()
    for name in names.values():
        asyncio.run(drop_database(name))


def test_orders_ship_or_cancel_on_postgresql_and_a_cluster(production_shop: Shop) -> None:
    shop = production_shop
    lamp = add_product(shop, stock=3, price=4990, name="Desk Lamp")
    paying, declined = sign_up(shop), sign_up(shop, token="tok_declined")
    shipped = final_order(shop, order(shop, paying["id"], [(lamp["id"], 2)]))
    assert shipped["status"] == "shipped" and shipped["tracking_number"]
    assert [m["amount"] for m in ledger_for(shop, shipped["id"]) if m["type"] == "charge"] == [9980]
    cancelled = final_order(shop, order(shop, declined["id"], [(lamp["id"], 1)]))
    assert cancelled["status"] == "cancelled" and cancelled["reason"] == "card_declined"
    assert stock_of(shop, lamp["id"])["available"] == 1


def test_concurrent_orders_never_oversell_on_postgresql(production_shop: Shop) -> None:
    shop = production_shop
    kettle = add_product(shop, stock=4, price=3900, name="Kettle")
    customers = [sign_up(shop) for _ in range(12)]
    with ThreadPoolExecutor(12) as pool:
        order_ids = list(pool.map(lambda c: order(shop, c["id"], [(kettle["id"], 1)]), customers))
    outcomes = [final_order(shop, order_id, timeout=90)["status"] for order_id in order_ids]
    assert outcomes.count("shipped") == 4 and outcomes.count("cancelled") == 8
    level = stock_of(shop, kettle["id"])
    assert level["available"] == 0 and level["held"] + level["sold"] == 4


def test_two_replicas_of_every_saga_service_share_the_work_without_doing_anything_twice(
    production_shop: Shop,
) -> None:
    """How it scales on Kubernetes: a second process of each service on the same database and consumers."""
    shop = production_shop
    replicas = [shop.start_replica(service) for service in SAGA]
    try:
        shop.wait_ready(replicas)
        vase = add_product(shop, stock=5, price=2500, name="Vase")
        customers = [sign_up(shop) for _ in range(12)]
        with ThreadPoolExecutor(12) as pool:
            order_ids = list(pool.map(lambda c: order(shop, c["id"], [(vase["id"], 1)]), customers))
        outcomes = [final_order(shop, order_id, timeout=90) for order_id in order_ids]
        assert [o["status"] for o in outcomes].count("shipped") == 5, [o["status"] for o in outcomes]
        assert stock_of(shop, vase["id"])["available"] == 0
        for placed, customer in zip(outcomes, customers, strict=True):
            shipped = placed["status"] == "shipped"
            assert len([m for m in ledger_for(shop, placed["id"]) if m["type"] == "charge"]) == int(shipped)
            last = "shipped" if shipped else "stock"
            mails = settled(shop, lambda c=customer, w=last: all_mentioned(subjects(shop, c["email"]), [w]),
                            message=f"the {last} email")
            assert len(mails) == len(set(mails)), f"an email was sent twice: {mails}"
        idle = [name for name in replicas if ": handled " not in shop.log_tail(name, lines=10_000)]
        assert not idle, f"{idle} handled no event: the replicas did not share the work"
    finally:
        for name in replicas:
            shop.kill(name, signal.SIGTERM)


def test_a_cluster_node_stopped_mid_saga_loses_no_order(production_shop: Shop) -> None:
    shop = production_shop
    mug = add_product(shop, stock=20, price=900, name="Mug")
    customers = [sign_up(shop) for _ in range(6)]
    before = [order(shop, c["id"], [(mug["id"], 1)]) for c in customers[:3]]
    shop.nats[0].stop()  # some services were connected to this node; they fail over to the others
    after = [order(shop, c["id"], [(mug["id"], 1)]) for c in customers[3:]]
    outcomes = [final_order(shop, order_id, timeout=90) for order_id in before + after]
    assert all(o["status"] == "shipped" for o in outcomes), [o["status"] for o in outcomes]
    for o in outcomes:
        assert len([m for m in ledger_for(shop, o["id"]) if m["type"] == "charge"]) == 1
    assert stock_of(shop, mug["id"])["available"] == 14


async def rows_per_table(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {t["tablename"]: await conn.fetchval(f'SELECT count(*) FROM "{t["tablename"]}"') for t in tables}
    finally:
        await conn.close()


def test_each_service_keeps_its_state_in_its_own_postgresql_database(production_shop: Shop) -> None:
    for service in SERVICES:
        url = production_shop.env[f"EVENTSHOP_{service.upper()}_DATABASE_URL"]
        rows = asyncio.run(rows_per_table(url))
        assert rows.pop("alembic_version") == 1 and {"outbox", "inbox"} <= rows.keys(), (service, rows)
        assert sum(rows.values()) > 0, f"{service} wrote nothing to {url}"
