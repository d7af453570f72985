"""The shop a bench runs against: one it starts with `eventshop up` (and stops), or a running one it attaches to."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from eventshop.cli.locating import LocatedShop, read_state
from eventshop.cli.up import SANDBOXES, SERVICES, cli, taken_port
from eventshop.platform.identity import operator_headers
from eventshop.platform.settings import MAX_PORT_BASE, Settings, env_key

START_TIMEOUT = 180.0
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Enough that a long run never sells out; the Inventory API's upper bound (docs/api.md).
BENCH_STOCK = 1_000_000
BENCH_PRODUCTS = 5


class ShopUnavailable(Exception):
    """The shop could not be started or reached; the message is the one line the CLI prints."""


@dataclass
class ShopTarget:
    settings: Settings
    nats_url: str
    started: bool
    process: subprocess.Popen[bytes] | None = None
    databases: list[str] = field(default_factory=list)  # PostgreSQL databases we created, dropped at the end
    attached_up_pid: int | None = None  # of an attached shop: from its up.json
    database_urls: dict[str, str] = field(default_factory=dict)  # per service, where the bench knows them

    def up_pid(self) -> int | None:
        """The pid of the `eventshop up` that runs this shop; None if there is none."""
        return self.process.pid if self.process is not None else self.attached_up_pid


def free_port_base(start: int) -> int:
    """`start` if all of the shop's ports are free there, else the next free base 1000 up."""
    for base in range(start, MAX_PORT_BASE + 1, 1000)[:20]:
        if taken_port(Settings(port_base=base), external_broker=False) is None:
            return base
    raise ShopUnavailable(f"no free port base from {start} up; pass one with --port-base of a running shop")


def create_postgres_databases(prefix: str) -> dict[str, str]:
    """A fresh database per service on the machine's PostgreSQL: service -> SQLAlchemy URL."""
    names = {service: f"{prefix}_{service}" for service in SERVICES}

    async def create() -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN)
        try:
            for name in names.values():
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    try:
        asyncio.run(create())
    except (OSError, asyncpg.PostgresError) as exc:
        raise ShopUnavailable(f"cannot create databases on PostgreSQL at 127.0.0.1:5432: {exc}") from None
    return {service: f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}" for service, name in names.items()}


def drop_postgres_databases(names: list[str]) -> None:
    async def drop() -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN)
        try:
            for name in names:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    with contextlib.suppress(OSError, asyncpg.PostgresError):
        asyncio.run(drop())


def start_shop(data_dir: Path, port_base: int, database_urls: dict[str, str],
               settings_env: dict[str, str] | None = None) -> ShopTarget:
    """`eventshop up` in `data_dir` (with `settings_env`, e.g. the saga style); returns once it has printed that
    it is ready (all health checks passed)."""
    env = {**os.environ, **{f"EVENTSHOP_{env_key(s)}_DATABASE_URL": url for s, url in database_urls.items()},
           **(settings_env or {})}
    settings = Settings(port_base=port_base, data_dir=data_dir)
    nats_url = settings.nats_url or f"nats://127.0.0.1:{settings.port('nats')}"
    data_dir.mkdir(parents=True, exist_ok=True)
    output = data_dir / "up-output.log"
    with open(output, "wb") as log:
        process = subprocess.Popen(
            cli("up", "--port-base", str(port_base), "--data-dir", str(data_dir), "--quiet"),
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    target = ShopTarget(settings, nats_url, started=True, process=process, database_urls=database_urls)
    deadline = time.monotonic() + START_TIMEOUT
    while "ready in" not in output.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_shop(target)
            tail = " | ".join(output.read_text(errors="replace").strip().splitlines()[-3:])
            raise ShopUnavailable(f"eventshop up did not become ready (see {output}): {tail}")
        time.sleep(0.25)
    return target


def process_pid(target: ShopTarget, name: str) -> int:
    """The pid of one of the shop's processes, from the up.json its `eventshop up` writes."""
    state = read_state(target.settings.data_dir) or {"processes": []}
    return int(next(p["pid"] for p in state["processes"] if p["name"] == name))


def attach_shop(located: LocatedShop) -> ShopTarget:
    """A running shop: every service must answer its readiness check."""
    settings = located.settings
    for name in [*SERVICES, *SANDBOXES]:
        url = f"{settings.url(name)}/health" + ("/ready" if name in SERVICES else "")
        try:
            ok = httpx.get(url, timeout=3).status_code == 200
        except httpx.HTTPError:
            ok = False
        if not ok:
            raise ShopUnavailable(f"no ready shop on port base {settings.port_base}: {name} does not answer at {url}; "
                                  f"{located.advice('eventshop bench')}")
    return ShopTarget(settings, located.broker_url, started=False, attached_up_pid=located.up_pid,
                      database_urls={s: settings.database_url(s) for s in SERVICES})


def stop_shop(target: ShopTarget) -> None:
    """SIGTERM, as a person's Ctrl-C would: `up` then stops its children, nats-server included."""
    process = target.process
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if target.databases:
        drop_postgres_databases(target.databases)


def bench_database_prefix() -> str:
    return f"eventshop_bench_{uuid.uuid4().hex[:8]}"


async def stock_up(http: httpx.AsyncClient, settings: Settings) -> list[str]:
    """The ids of a few catalog products, each stocked so that the bench cannot sell out."""
    headers = operator_headers(settings, "inventory")
    found = await http.get(f"{settings.url('catalog')}/products", params={"page_size": 100})
    found.raise_for_status()
    products = found.json()["items"][:BENCH_PRODUCTS]
    if not products:
        raise ShopUnavailable("the shop's catalog is empty; start it with its demo catalog (no --no-seed)")
    for product in products:
        response = await http.put(f"{settings.url('inventory')}/stock/{product['id']}",
                                  json={"sku": product["sku"], "available": BENCH_STOCK}, headers=headers)
        response.raise_for_status()
    return [str(p["id"]) for p in products]
