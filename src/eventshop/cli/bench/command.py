"""The `eventshop bench` command group: the shop end to end by default, `bench messaging` for the messaging path."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import httpx
import typer
from nats.errors import Error as NatsError
from rich.console import Console

from eventshop.cli.bench import endtoend, messaging, report, shop, styles
from eventshop.cli.locating import locate
from eventshop.platform.serving import run as run_on_uvloop
from eventshop.platform.settings import MAX_PORT_BASE

DEFAULT_PORT_BASE = 18000
console = Console()
errors = Console(stderr=True)
app = typer.Typer(help="Measure the shop: end to end (default), or `bench messaging` for the messaging path.")
app.command()(messaging.messaging)


def usage_error(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    return typer.Exit(2)


@app.callback(invoke_without_command=True)
def end_to_end(
    ctx: typer.Context,
    concurrency: Annotated[int | None, typer.Option(help="closed loop: shoppers, each ordering once its last order "
                                                         "is final (default 4)", min=1, max=500)] = None,
    rate: Annotated[float | None, typer.Option(help="open loop: orders started per second, whatever the shop's "
                                                    "state", min=0.1, max=5000)] = None,
    duration: Annotated[float, typer.Option(help="seconds of shopping", min=1)] = 10,
    customers: Annotated[int | None, typer.Option(help="open loop: customer pool (default 20)", min=1, max=500)] = None,
    data_dir: Annotated[Path | None, typer.Option(help="attach to the `eventshop up` running for this data "
                                                       "directory instead of starting a shop")] = None,
    port_base: Annotated[int | None, typer.Option(help="attach to the shop running on this port base (CPU and RSS "
                                                       "need its --data-dir too)", min=1, max=MAX_PORT_BASE)] = None,
    postgres: Annotated[bool, typer.Option(help="the started shop uses fresh databases on PostgreSQL "
                                                "at 127.0.0.1:5432 (dropped afterwards)")] = False,
    database_url_template: Annotated[str | None, typer.Option(
        help="the started shop's database URL per service, e.g. postgresql+asyncpg://h/shop_{service}")] = None,
    slow_card: Annotated[bool, typer.Option(help="one extra order, placed first, pays with a card that answers "
                                                 "late; the others' figures are shown apart")] = False,
    with_raw_chain: Annotated[bool, typer.Option(help="afterwards, a raw 5-hop JetStream chain on the same "
                                                      "nats-server, and the ratio")] = False,
    raw_chain_messages: Annotated[int, typer.Option(help="messages through the raw chain", min=10)] = 2000,
    drain_timeout: Annotated[float, typer.Option(help="seconds to wait after the run for orders to become "
                                                      "final", min=1)] = 60,
    compare_styles: Annotated[bool, typer.Option(help="run the workload on a choreographed and then an orchestrated "
                                                     "shop, each also with Payment and then Shipping frozen under "
                                                     "load, and print both side by side")] = False,
    outage_seconds: Annotated[float, typer.Option(help="--compare-styles: how long each downstream service is "
                                                       "frozen", min=1)] = 20,
    json_path: Annotated[Path | None, typer.Option("--json", help="also write every figure to this file")] = None,
) -> None:
    """Start (or attach to) a shop, drive add-to-cart + checkout, wait until every order is final, print figures."""
    if ctx.invoked_subcommand is not None:
        return
    _refuse_bad_combinations(concurrency, rate, port_base, data_dir, postgres, database_url_template)
    if customers is not None and rate is None:
        raise usage_error("--customers sizes the open loop's pool (--rate); a closed loop has --concurrency customers")
    pool = (customers or 20) if rate else (concurrency or 4)
    workload = endtoend.Workload(concurrency or 4, rate, duration, pool, drain_timeout, slow_card,
                                 raw_chain_messages if with_raw_chain else None)
    if compare_styles:
        if port_base is not None or data_dir is not None:
            raise usage_error("--compare-styles starts a shop per style; drop --data-dir / --port-base")
        try:
            results = styles.compare(workload, lambda: _databases(postgres, database_url_template), outage_seconds,
                                     DEFAULT_PORT_BASE, console)
        except shop.ShopUnavailable as exc:
            errors.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
            raise typer.Exit(1) from None
        styles.print_comparison(console, results)
        if json_path is not None:
            report.write_json(json_path, results)
        return
    try:
        figures = _run(workload, port_base, data_dir, postgres, database_url_template)
    except shop.ShopUnavailable as exc:
        errors.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    figures["run"]["databases"] = ("the attached shop's own" if port_base is not None or data_dir is not None
                                   else "PostgreSQL, fresh per service" if postgres
                                   else "from --database-url-template" if database_url_template
                                   else "SQLite, one file per service")
    report.print_figures(console, figures)
    if json_path is not None:
        report.write_json(json_path, figures)
        console.print(f"[dim]figures written to {json_path}[/]")


def _refuse_bad_combinations(concurrency: int | None, rate: float | None, port_base: int | None,
                             data_dir: Path | None, postgres: bool, database_url_template: str | None) -> None:
    if concurrency is not None and rate is not None:
        raise usage_error("--concurrency (closed loop) and --rate (open loop) exclude each other")
    if postgres and database_url_template:
        raise usage_error("--postgres and --database-url-template exclude each other")
    if (port_base is not None or data_dir is not None) and (postgres or database_url_template):
        raise usage_error("the databases of an attached shop (--data-dir, --port-base) are its own; drop --postgres "
                          "/ --database-url-template")
    if database_url_template is not None and "{service}" not in database_url_template:
        raise usage_error("--database-url-template must contain {service}")


def _run(workload: endtoend.Workload, port_base: int | None, data_dir: Path | None, postgres: bool,
         template: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="eventshop-bench-") as tmp:
        if port_base is not None or data_dir is not None:
            target = shop.attach_shop(locate(data_dir, port_base))
        else:
            databases, names = _databases(postgres, template)
            base = shop.free_port_base(DEFAULT_PORT_BASE)
            with console.status(f"starting the shop on port base {base} (eventshop up)"):
                try:
                    target = shop.start_shop(Path(tmp) / "shop", base, databases)
                except shop.ShopUnavailable:
                    shop.drop_postgres_databases(names)
                    raise
            target.databases = names
        try:
            return run_on_uvloop(endtoend.run(target, workload, console))
        except (httpx.HTTPError, aiohttp.ClientError, NatsError, OSError) as exc:
            raise shop.ShopUnavailable(f"lost the shop during the run: {type(exc).__name__}: {exc}") from None
        finally:
            if target.started:
                with console.status("stopping the shop"):
                    shop.stop_shop(target)


def _databases(postgres: bool, template: str | None) -> tuple[dict[str, str], list[str]]:
    """The started shop's database URL per service (none: SQLite files), and the PostgreSQL databases created."""
    if postgres:
        databases = shop.create_postgres_databases(shop.bench_database_prefix())
        return databases, [url.rsplit("/", 1)[1] for url in databases.values()]
    if template:
        return {s: template.replace("{service}", s) for s in shop.SERVICES}, []
    return {}, []
