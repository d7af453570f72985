"""Operator commands on orders: `eventshop orders stuck` lists orders that are not final after an age."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from eventshop.cli.listing import Column, print_table
from eventshop.cli.locating import DataDirOption, PortBaseOption, locate
from eventshop.platform.identity import MissingKeys, operator_headers
from eventshop.platform.shopstatus import fetch_stuck

app = typer.Typer(no_args_is_help=True, help="Look at orders as an operator.")


@app.command("stuck")
def stuck(
    older_than: Annotated[float | None, typer.Option(
        help="seconds since the order was placed (default: the service's EVENTSHOP_ORDER_STUCK_AFTER_SECONDS)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="at most this many, oldest first")] = 100,
    data_dir: DataDirOption = None,
    port_base: PortBaseOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="the Order service's answer as JSON")] = False,
) -> None:
    """Orders neither shipped nor cancelled although placed longer ago than --older-than; exit 1 if any."""
    shop = locate(data_dir, port_base)
    try:
        found = fetch_stuck(shop.settings.url("order"), operator_headers(shop.settings, "order"), older_than, limit)
    except ConnectionError as exc:
        typer.secho(f"error: {exc}: {shop.advice('eventshop orders stuck')}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    except (RuntimeError, MissingKeys) as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(found, indent=2))
    elif not found["items"]:
        Console().print(f"no orders older than {found['older_than']:g}s that are not final")
    else:
        columns = [Column("order"), Column("status"), Column("age"), Column("customer", drop=2),
                   Column("total", drop=1), Column("waiting for", wrap=True, min_width=16)]
        rows = [[escape(item["id"]), escape(item["status"]), f"{item['age_seconds']:.0f}s", escape(item["customer_id"]),
                 f"{item['total'] / 100:.2f} {escape(item['currency'])}", escape(item["waiting_for"])]
                for item in found["items"]]
        print_table(columns, rows, title=f"{found['total']} orders not final after {found['older_than']:g}s")
    if found["total"]:
        raise typer.Exit(1)
