"""`eventshop status`: every process of a running `eventshop up` as it is now, and the shop's backlogs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from eventshop.cli import locating
from eventshop.cli.listing import Column, print_json, print_table
from eventshop.platform.shopstatus import gather

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
    report = gather(shop.settings, shop.state)
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
