"""`eventshop status`: every process of a running `eventshop up` as it is now, and the shop's backlogs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from eventshop.cli import locating
from eventshop.cli.health import PROBE_SECONDS, ask, stopped
from eventshop.cli.listing import Column, print_json, print_table
from eventshop.cli.orders import fetch_stuck
from eventshop.contracts.registry import SERVICES
from eventshop.platform.broker import DEAD_LETTER_STREAM, connect, consumer_specs
from eventshop.platform.broker_auth import OPERATOR, login_for
from eventshop.platform.identity import MissingKeys, operator_headers

STARTING_SECONDS = 120.0  # a young process with nothing listening yet is starting, not down
BROKER_SECONDS = 3.0  # for all the broker's answers together
COLOURS = {"ready": "green", "starting": "yellow", "restarting": "yellow", "not ready": "red",
           "not responding": "red", "down": "red"}


def status(
    data_dir: locating.DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="every process and every figure as JSON")] = False,
) -> None:
    """Each process of a running `eventshop up` (state, pid, uptime, restarts) and the shop's backlogs:
    consumer lag and redeliveries, outboxes, dead letters, stuck orders. Exit 0 when every process is ready,
    1 otherwise (or when no `eventshop up` runs for the data directory)."""
    shop = locate_running(data_dir)
    report = gather(shop)
    if as_json:
        print_json(report)
    else:
        show(report, Console())
    raise typer.Exit(0 if report["all_ready"] else 1)


def locate_running(data_dir: Any) -> locating.LocatedShop:
    shop = locating.locate(data_dir)
    if shop.state is None:
        typer.secho(f"error: {shop.advice('eventshop status')}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1)
    return shop


def gather(shop: locating.LocatedShop) -> dict[str, Any]:
    """Every question asked at once: a frozen process costs one health-check timeout, not one each."""
    assert shop.state is not None
    entries = shop.state["processes"]
    with ThreadPoolExecutor(max_workers=len(entries) + 2) as pool:
        asked = [pool.submit(process_report, entry, shop.state["urls"]) for entry in entries]
        broker = pool.submit(broker_report, shop)
        stuck = pool.submit(stuck_report, shop)
        processes = [future.result() for future in asked]
    outbox = [{"service": p["name"], **p["outbox"]} for p in processes if p.get("outbox") is not None]
    return {key: value for key, value in shop.state.items() if key != "processes"} | {
        "all_ready": all(p["state"] == "ready" for p in processes),
        "processes": processes, "outbox": outbox, **broker.result(), "stuck_orders": stuck.result(),
    }


def process_report(entry: dict[str, Any], urls: dict[str, str]) -> dict[str, Any]:
    """State and reason of one process, from `up`'s record of it and its health check now."""
    pid: int | None = entry.get("pid")
    alive = pid is not None and locating.alive(pid)
    uptime = time.time() - entry["started_at"] if alive and entry.get("started_at") else None
    report: dict[str, Any] = {"name": entry["name"], "state": "ready", "reason": "", "pid": pid,
                              "port": entry.get("port"), "url": urls.get(entry["name"]), "uptime_seconds": uptime,
                              "restarts": entry.get("restarts", 0), "checks": {}, "outbox": None}
    if entry.get("state") == "not started":
        return report | {"state": "starting", "reason": "not started yet", "pid": None}
    if entry.get("state") == "restarting":
        return report | {"state": "restarting", "reason": "exited; `eventshop up` starts it again", "pid": None}
    if not alive:
        return report | {"state": "down", "reason": "not running", "pid": None}
    answer = ask(entry.get("health_url"), entry.get("port"))
    report |= {"checks": answer.checks, "outbox": answer.checks.get("outbox")}
    if answer.ready:
        return report
    if answer.responded:
        return report | {"state": "not ready", "reason": answer.problem}
    if not answer.listening and uptime is not None and uptime < STARTING_SECONDS:
        return report | {"state": "starting", "reason": answer.problem}
    frozen = " (process stopped, e.g. by SIGSTOP)" if pid is not None and stopped(pid) else ""
    return report | {"state": "not responding", "reason": answer.problem + frozen}


def broker_report(shop: locating.LocatedShop) -> dict[str, Any]:
    """Each subscription's lag and redeliveries and the dead letters, asked as the operator."""
    try:
        return asyncio.run(asyncio.wait_for(_ask_broker(shop), timeout=BROKER_SECONDS))
    except TimeoutError:
        problem = f"the broker at {shop.broker_url} did not answer within {BROKER_SECONDS:g}s"
    except Exception as exc:  # unreachable, refused: the processes are still worth showing
        problem = f"cannot ask the broker at {shop.broker_url}: {type(exc).__name__}: {exc}"
    return {"subscriptions": None, "dead_letters": None, "broker_error": problem}


async def _ask_broker(shop: locating.LocatedShop) -> dict[str, Any]:
    nc = await connect(shop.broker_url, "eventshop-status", login=login_for(shop.settings, OPERATOR),
                       persistent=False)
    try:
        js = nc.jetstream(timeout=2.0)
        subscriptions = []
        for service in SERVICES:
            for spec in consumer_specs(service, max_deliver=1, style=shop.settings.saga):
                row: dict[str, Any] = {"consumer": spec.durable, "stream": spec.stream}
                try:
                    info = await js.consumer_info(spec.stream, spec.durable)
                except Exception as exc:
                    row["error"] = f"{type(exc).__name__}: {exc}"
                else:
                    row |= {"pending": info.num_pending or 0, "ack_pending": info.num_ack_pending or 0,
                            "redelivered": info.num_redelivered or 0}
                subscriptions.append(row)
        dead = (await js.stream_info(DEAD_LETTER_STREAM)).state.messages
    finally:
        await nc.close()
    return {"subscriptions": subscriptions, "dead_letters": dead, "broker_error": None}


def stuck_report(shop: locating.LocatedShop) -> dict[str, Any]:
    """How many orders are not final after the Order service's own threshold."""
    try:
        found = fetch_stuck(shop.settings.url("order"), operator_headers(shop.settings, "order"), None, 1,
                            timeout=PROBE_SECONDS + 1)
    except (ConnectionError, RuntimeError, MissingKeys) as exc:
        return {"total": None, "older_than": None, "error": str(exc)}
    return {"total": found["total"], "older_than": found["older_than"], "error": None}


def show(report: dict[str, Any], out: Console) -> None:
    """Processes, then subscriptions with anything pending, then one line per shop-wide figure."""
    title = f"eventshop up (pid {report['pid']}) for {report['data_dir']}"
    print_table(PROCESS_COLUMNS, [process_row(p) for p in report["processes"]], title=title, console=out)
    subscriptions = report.get("subscriptions")
    if subscriptions:
        busy = [s for s in subscriptions if s.get("error") or s["pending"] or s["ack_pending"] or s["redelivered"]]
        if busy:
            out.print()
            print_table(SUBSCRIPTION_COLUMNS, [subscription_row(s) for s in busy], console=out)
        else:
            out.print(f"\n{len(subscriptions)} subscriptions: nothing pending, nothing redelivered", highlight=False)
    for line in summary_lines(report):
        out.print(line, highlight=False, soft_wrap=True)


PROCESS_COLUMNS: Sequence[Column] = (
    Column("process"), Column("state", wrap=True, min_width=14), Column("pid"), Column("uptime"),
    Column("restarts", drop=2), Column("outbox", drop=1), Column("port", drop=3),
)
SUBSCRIPTION_COLUMNS: Sequence[Column] = (
    Column("subscription"), Column("pending"), Column("unacked"), Column("redelivered"),
)


def process_row(process: dict[str, Any]) -> list[str]:
    state = process["state"]
    cell = f"[{COLOURS.get(state, 'red')}]{state}[/]" + (f": {escape(process['reason'])}" if process["reason"] else "")
    outbox = process.get("outbox")
    waiting = "-" if not outbox else str(outbox["backlog"]) + (
        f" ({duration(outbox['oldest_age_seconds'])})" if outbox["backlog"] else "")
    uptime = process["uptime_seconds"]
    return [escape(process["name"]), cell, str(process["pid"] or "-"), duration(uptime) if uptime is not None else "-",
            str(process["restarts"]), waiting, str(process["port"] or "-")]


def subscription_row(subscription: dict[str, Any]) -> list[str]:
    if subscription.get("error"):
        return [escape(subscription["consumer"]), f"[red]{escape(subscription['error'])}[/]", "", ""]
    return [escape(subscription["consumer"]), str(subscription["pending"]), str(subscription["ack_pending"]),
            str(subscription["redelivered"])]


def summary_lines(report: dict[str, Any]) -> list[str]:
    lines = []
    if report.get("broker_error"):
        lines.append(f"[red]subscriptions and dead letters unknown: {escape(report['broker_error'])}[/]")
    else:
        dead = report["dead_letters"]
        lines.append(f"dead letters: {dead}" + (" (eventshop dlq list)" if dead else ""))
    stuck = report["stuck_orders"]
    if stuck["error"]:
        lines.append(f"[red]stuck orders unknown: {escape(stuck['error'])}[/]")
    else:
        lines.append(f"orders not final after {stuck['older_than']:g}s: {stuck['total']}"
                     + (" (eventshop orders stuck)" if stuck["total"] else ""))
    not_ready = [p["name"] for p in report["processes"] if p["state"] != "ready"]
    lines.append(f"[red]not ready: {', '.join(not_ready)}[/]" if not_ready else "[green]every process is ready[/]")
    return lines


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
