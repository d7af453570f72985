"""Backends for the messaging and storage tests: SQLite + one embedded server, PostgreSQL + a 3-node cluster."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, String, Table

from eventshop.contracts.registry import published_by
from eventshop.platform.broker import BrokerLogin, set_up_streams, wait_for_jetstream
from eventshop.platform.db import Database, new_metadata
from eventshop.platform.embedded_nats import EmbeddedNats, start_cluster
from eventshop.platform.settings import Settings
from tests.brokers import in_thread, operator_login
from tests.conftest import create_database, drop_database, postgres_available, purge_streams

METADATA = new_metadata()
# Short in tests: a handler that keeps failing is parked after about this long (about 7 deliveries).
RETRY_BUDGET_SECONDS = 1.5
EFFECTS = Table(
    "effects",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64)),
    Column("note", String(200)),
)


@dataclass
class Backend:
    name: str
    nats_url: str
    replicas: int
    database_url: str
    nodes: list[EmbeddedNats]

    @property
    def login(self) -> BrokerLogin:
        return operator_login(self.nodes[0])

    def settings(self, data_dir: Path) -> Settings:
        return Settings(
            data_dir=data_dir,
            nats_url=self.nats_url,
            nats_secrets_dir=self.nodes[0].secrets_dir,
            stream_replicas=self.replicas,
            retry_base_seconds=0.05,
            retry_max_seconds=0.3,
            retry_budget_seconds=RETRY_BUDGET_SECONDS,
            max_deliveries=100,
            dev_secrets=True,
        )


@pytest.fixture(scope="session")
def nats_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[EmbeddedNats]]:
    base = tmp_path_factory.mktemp("cluster")
    nodes = start_cluster(base, secrets_dir=base / "secrets")
    urls = ",".join(node.url for node in nodes)
    in_thread(wait_for_jetstream(urls, login=operator_login(nodes[0])))
    in_thread(set_up_streams(urls, 3, operator_login(nodes[0])))
    yield nodes
    for node in nodes:
        node.stop()


@contextlib.asynccontextmanager
async def database_url(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database, "sqlite" or "postgres" (dropped afterwards): its URL. Skips when PostgreSQL is not running."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/test.sqlite3"
        return
    if not postgres_available():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    name = await create_database()
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await drop_database(name)


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path, nats_server: EmbeddedNats) -> AsyncIterator[Backend]:
    """SQLite with the single embedded nats-server, or PostgreSQL with the 3-node cluster (3 replicas)."""
    async with database_url(request.param, tmp_path) as database:  # first: skips before a cluster is started
        nodes: list[EmbeddedNats] = (
            [nats_server] if request.param == "sqlite" else request.getfixturevalue("nats_cluster"))
        url = ",".join(node.url for node in nodes)
        await purge_streams(url, operator_login(nodes[0]))
        yield Backend(request.param, url, len(nodes), database, nodes)


async def open_database(url: str, service: str) -> Database:
    db = Database(url, service, published_by(service))
    async with db.engine.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    return db
