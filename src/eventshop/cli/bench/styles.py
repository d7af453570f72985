"""`eventshop bench --compare-styles`: the same shoppers against a choreographed and an orchestrated shop, then
each with one downstream service frozen for a while under steady load; the figures side by side."""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from eventshop.cli.bench import endtoend
from eventshop.cli.bench.report import FINAL
from eventshop.cli.bench.shop import free_port_base, process_pid, start_shop, stock_up, stop_shop
from eventshop.cli.bench.workload import FinalityWatch, Shoppers, fetch_timelines, open_loop
from eventshop.platform.broker import connect
from eventshop.platform.broker_auth import OPERATOR, login_for
from eventshop.platform.serving import run as run_on_uvloop

STYLES = ("choreography", "orchestration")
VICTIMS = ("payment", "shipping")  # a step's callee in orchestration, a consumer in the choreography
OUTAGE_CUSTOMERS = 20
Databases = Callable[[], tuple[dict[str, str], list[str]]]  # service -> URL, and the databases to drop after


@dataclass(frozen=True)
class Outage:
    """Steady open-loop load; `victim` is frozen (SIGSTOP: its port open, answering nothing) in the middle."""

    victim: str
    stopped: float
    rate: float = 5.0
    before: float = 5.0
    after: float = 10.0
    drain: float = 120.0  # how long the orders may take to become final once the load ends

    @property
    def duration(self) -> float:
        return self.before + self.stopped + self.after


def compare(workload: endtoend.Workload, databases: Databases, outage_seconds: float, port_base: int,
            console: Console) -> dict[str, Any]:
    """Per style: start a shop, run `workload`, then one outage per victim, stop the shop."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="eventshop-bench-styles-") as tmp:
        for style in STYLES:
            urls, names = databases()
            base = free_port_base(port_base)
            with console.status(f"starting the {style} shop on port base {base} (eventshop up --saga {style})"):
                target = start_shop(Path(tmp) / style, base, urls, {"EVENTSHOP_SAGA": style})
            target.databases = names
            try:
                console.print(f"[bold]{style}[/]: {workload.describe()}")
                load = run_on_uvloop(endtoend.run(target, workload, console))
                outages = {}
                for victim in VICTIMS:
                    outages[victim] = run_on_uvloop(outage_run(target, Outage(victim, outage_seconds), console))
            finally:
                with console.status(f"stopping the {style} shop"):
                    stop_shop(target)
            results[style] = {"load": load, "outages": outages}
    return results


async def outage_run(target: Any, outage: Outage, console: Console) -> dict[str, Any]:
    settings = target.settings
    nc = await connect(target.nats_url, "eventshop-bench", login=login_for(settings, OPERATOR), persistent=False)
    watch = FinalityWatch()
    await watch.start(nc)
    try:
        async with httpx.AsyncClient(timeout=30) as http, \
                Shoppers(settings, await stock_up(http, settings), watch) as shoppers:
            customers = await shoppers.create_customers(OUTAGE_CUSTOMERS)
            pid = process_pid(target, outage.victim)
            load = asyncio.create_task(open_loop(shoppers, customers, outage.rate, outage.duration, outage.drain))
            with console.status(f"{outage.rate:g} orders/s; {outage.victim} frozen for {outage.stopped:g} s "
                                f"after {outage.before:g} s"):
                await asyncio.sleep(outage.before)
                os.kill(pid, signal.SIGSTOP)
                try:
                    await asyncio.sleep(outage.stopped)
                finally:
                    os.kill(pid, signal.SIGCONT)
                resumed = time.monotonic()
            with console.status(f"{outage.victim} resumed; waiting for every order to become final"):
                await load
                await fetch_timelines(shoppers, shoppers.orders)
    finally:
        await nc.close()
    final = [o for o in shoppers.orders if o.status in FINAL]
    # The backlog the outage built: the orders placed before the service came back, final at the latest when.
    last_final = max((o.final_seen for o in final if o.final_seen and o.placed_at < resumed), default=resumed)
    return {
        "victim": outage.victim, "stopped_s": outage.stopped, "rate": outage.rate, "load_s": outage.duration,
        "orders_accepted": len(shoppers.orders), "checkouts_refused": sum(shoppers.errors.values()),
        "orders_completed": len(final), "orders_shipped": sum(1 for o in final if o.status == "shipped"),
        "orders_lost": len(shoppers.orders) - len(final), "drain_after_resume_s": max(0.0, last_final - resumed),
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def print_comparison(console: Console, results: dict[str, Any]) -> None:
    styles = list(results)
    table = Table("measure", *styles, title="saga styles side by side (same machine, same workload)")
    loads = [results[s]["load"] for s in styles]
    table.add_row("run", *(load["run"]["description"] for load in loads))
    table.add_row("shipped orders / s", *(f"{load['orders']['shipped_per_s']:.1f}" for load in loads))
    for q in ("p50", "p99"):
        table.add_row(f"checkout -> shipped {q}", *(_ms(load["orders"]["checkout_to_shipped_ms"][q]) for load in loads))
    table.add_row("CPU per shipped order, whole shop",
                  *(_ms(load["cpu"]["cpu_ms_per_shipped_order_total"]) for load in loads))
    table.add_row("HTTP requests per order (shopper's included)",
                  *(f"{load['http_requests_per_order']:.1f}" for load in loads))
    table.add_row("events per order", *(f"{load['events_per_order']:.1f}" for load in loads))
    table.add_row("orders not final", *(str(load["orders"]["orders_not_final"]) for load in loads))
    for victim in VICTIMS:
        runs = [results[s]["outages"][victim] for s in styles]
        heading = f"[bold]{victim} frozen {runs[0]['stopped_s']:g} s at {runs[0]['rate']:g} orders/s[/]"
        table.add_row(heading, *[""] * len(runs))
        table.add_row("  orders accepted / refused",
                      *(f"{r['orders_accepted']} / {r['checkouts_refused']}" for r in runs))
        table.add_row("  completed (shipped)", *(f"{r['orders_completed']} ({r['orders_shipped']})" for r in runs))
        table.add_row("  lost (not final after the drain)", *(str(r["orders_lost"]) for r in runs))
        table.add_row("  time to drain after it resumed (orders placed until then final)",
                      *(f"{r['drain_after_resume_s']:.1f} s" for r in runs))
    console.print(table)
