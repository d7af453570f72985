"""One end-to-end bench run against a shop: set up shoppers, drive the load, measure, collect the figures."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from eventshop.cli.bench import report
from eventshop.cli.bench.chain import run_raw_chain
from eventshop.cli.bench.sampling import Sampler, ServerCPU, local_postgres_databases, shop_processes
from eventshop.cli.bench.shop import ShopTarget, stock_up
from eventshop.cli.bench.workload import (
    SLOW_CARD,
    FinalityWatch,
    PlacedOrder,
    Shoppers,
    closed_loop,
    fetch_timelines,
    open_loop,
    progress_ticker,
)
from eventshop.platform.broker import connect
from eventshop.platform.broker_auth import OPERATOR, login_for

QUIET_TIMEOUT = 30.0  # before the window: the work customer creation caused must be done first
DRAIN_AFTER_RUN = 10.0  # a stuck consumer (e.g. behind the slow card) must not hold the figures back for long


@dataclass(frozen=True)
class Workload:
    concurrency: int
    rate: float | None
    duration: float
    customers: int
    drain_timeout: float
    slow_card: bool
    raw_chain_messages: int | None  # None: no raw chain

    def describe(self) -> str:
        loop = (f"open loop at {self.rate:g} orders/s, {self.customers} customers" if self.rate
                else f"closed loop, {self.concurrency} shoppers")
        return f"{loop}, {self.duration:g} s" + (", one slow-card order" if self.slow_card else "")


async def run(target: ShopTarget, workload: Workload, console: Console) -> dict[str, Any]:
    nc = await connect(target.nats_url, "eventshop-bench", login=login_for(target.settings, OPERATOR), persistent=False)
    watch = FinalityWatch()
    await watch.start(nc)
    async with httpx.AsyncClient(timeout=30) as http:
        try:
            return await _measure(target, workload, console, http, watch, nc.jetstream(timeout=5))
        finally:
            await nc.close()


@dataclass
class Window:
    """What happened between the first checkout and the moment every order was final and consumers drained."""

    seconds: float  # first checkout -> last order seen final
    events: int
    http_requests: int  # served by the services, the shoppers' own included
    drained: bool
    slow: PlacedOrder | None


async def _measure(target: ShopTarget, workload: Workload, console: Console, http: httpx.AsyncClient,
                   watch: FinalityWatch, js: Any) -> dict[str, Any]:
    settings = target.settings
    async with Shoppers(settings, await stock_up(http, settings), watch, workload.customers + 32) as shoppers:
        return await _run_shoppers(target, workload, console, http, js, shoppers)


async def _run_shoppers(target: ShopTarget, workload: Workload, console: Console, http: httpx.AsyncClient,
                        js: Any, shoppers: Shoppers) -> dict[str, Any]:
    settings = target.settings
    with console.status(f"creating {workload.customers} customers"):
        customers = await shoppers.create_customers(workload.customers)
        slow_customer = await shoppers.create_customer(SLOW_CARD) if workload.slow_card else None
    up_pid = target.up_pid()
    processes = shop_processes(up_pid) if up_pid is not None else {}
    sampler = Sampler(processes, js, http, settings)
    databases = local_postgres_databases(target.database_urls.values())
    if databases and processes:
        sampler.server = ServerCPU(databases)
    await sampler.wait_drained(QUIET_TIMEOUT)
    window = await _window(shoppers, customers, slow_customer, sampler, workload, console)
    with console.status(f"reading {len(shoppers.orders)} order timelines"):
        await fetch_timelines(shoppers, shoppers.orders)
    figures = _figures(target, workload, shoppers, sampler, window)
    if workload.raw_chain_messages:
        with console.status(f"raw 5-hop JetStream chain, {workload.raw_chain_messages} messages"):
            chain = await run_raw_chain(target.nats_url, workload.raw_chain_messages,
                                            login_for(target.settings, OPERATOR))
        figures["raw_chain"] = chain
        figures["ratio_orders_to_chain"] = figures["orders"]["shipped_per_s"] / chain["msg_per_s"]
    return figures


async def _window(shoppers: Shoppers, customers: list[str], slow_customer: str | None, sampler: Sampler,
                  workload: Workload, console: Console) -> Window:
    """The measured run; the timeline reads come after it, so they cost no CPU inside it."""
    requests_before = await sampler.http_requests()
    sampling = asyncio.create_task(sampler.run())
    sampler.begin()
    shoppers.watch.reset_count()
    started = time.monotonic()
    slow = None
    if slow_customer is not None:
        slow = await shoppers.place_order(slow_customer, 0, slow_card=True)
    await _drive(shoppers, customers, workload, console)
    finished = max((o.final_seen for o in shoppers.orders if not o.slow_card), default=started)
    events = shoppers.watch.events
    drained = await sampler.wait_drained(DRAIN_AFTER_RUN)
    sampler.end()
    sampling.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sampling
    return Window(finished - started, events, await sampler.http_requests() - requests_before, drained, slow)


def _figures(target: ShopTarget, workload: Workload, shoppers: Shoppers, sampler: Sampler,
             window: Window) -> dict[str, Any]:
    orders = report.order_figures([o for o in shoppers.orders if not o.slow_card], window.seconds)
    figures: dict[str, Any] = {
        "run": {"description": workload.describe(), "port_base": target.settings.port_base,
                "started_shop": target.started, "window_s": window.seconds, **asdict(workload)},
        "orders": orders,
        "checkout_errors": dict(shoppers.errors),
        "events_per_s": window.events / window.seconds if window.seconds > 0 else 0.0,
        "events_per_order": window.events / len(shoppers.orders) if shoppers.orders else 0.0,
        "http_requests_per_order": window.http_requests / len(shoppers.orders) if shoppers.orders else 0.0,
        "cpu": report.cpu_figures(sampler.cpu_used, orders["orders_shipped"]),
        "rss": {"peak_total_bytes": sampler.peak_rss_total, "peak_bytes": sampler.peak_rss},
        "pss": {"peak_total_bytes": sampler.peak_pss_total, "peak_bytes": sampler.peak_pss}
        if sampler.peak_pss_total else {},  # Linux only
        "consumer_lag": {"max_total": sampler.max_lag_total, "max_per_consumer": sampler.max_lag},
        "outbox_backlog_max": sampler.max_backlog,
        "drained": window.drained,
        "processes_measured": sorted(sampler.processes),
    }
    if window.slow is not None:
        figures["slow_card"] = {"order_id": window.slow.order_id, "status": window.slow.status,
                                "latency_ms": report.latency_ms(window.slow)}
    return figures


async def _drive(shoppers: Shoppers, customers: list[str], workload: Workload, console: Console) -> None:
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[counts]}"),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("shopping", total=workload.duration, counts="")

        def update(elapsed: float, placed: int, final: int) -> None:
            progress.update(task, completed=elapsed, counts=f"{placed} placed, {final} final")

        ticker = asyncio.create_task(progress_ticker(shoppers, update, workload.duration))
        try:
            if workload.rate:
                await open_loop(shoppers, customers, workload.rate, workload.duration, workload.drain_timeout)
            else:
                await closed_loop(shoppers, customers, workload.duration, workload.drain_timeout)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
