"""Operator commands on orders: `eventshop orders stuck` lists orders that are not final after an age."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from eventshop.platform.identity import MissingKeys, operator_headers
from eventshop.platform.settings import Settings

app = typer.Typer(no_args_is_help=True, help="Look at orders as an operator.")


def order_url(settings: Settings, data_dir: Path | None) -> str:
    """The Order service of the running shop: its port in `eventshop up`'s state file, else from the settings."""
    state = (data_dir or settings.data_dir).resolve() / "up.json"
    if state.exists():
        for entry in json.loads(state.read_text()).get("processes", []):
            if entry.get("name") == "order" and entry.get("port"):
                return f"http://{settings.host}:{entry['port']}"
    return settings.url("order")


def fetch_stuck(url: str, headers: dict[str, str], older_than: float | None, limit: int) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit}
    if older_than is not None:
        params["older_than"] = older_than
    try:
        response = httpx.get(f"{url}/operator/orders/stuck", params=params, headers=headers, timeout=10)
    except httpx.TransportError:
        raise ConnectionError(f"cannot reach the Order service at {url} (is the shop running?)") from None
    if response.status_code != 200:
        raise ConnectionError(f"the Order service at {url} answered {response.status_code}: {response.text[:200]}")
    found: dict[str, Any] = response.json()
    return found


@app.command("stuck")
def stuck(
    older_than: Annotated[float | None, typer.Option(
        help="seconds since the order was placed (default: the service's EVENTSHOP_ORDER_STUCK_AFTER_SECONDS)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="at most this many, oldest first")] = 100,
    port_base: Annotated[int | None, typer.Option(help="the port base of the running shop")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="the data directory of the running shop")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the Order service's answer as JSON")] = False,
) -> None:
    """Orders neither shipped nor cancelled although placed longer ago than --older-than; exit 1 if any."""
    settings = Settings()
    if port_base is not None:
        settings.port_base = port_base
    if data_dir is not None:
        settings.data_dir = data_dir  # the operator's key is there too
    url = order_url(settings, data_dir) if port_base is None else settings.url("order")
    try:
        found = fetch_stuck(url, operator_headers(settings, "order"), older_than, limit)
    except (ConnectionError, MissingKeys) as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(found, indent=2))
    elif not found["items"]:
        Console().print(f"no orders older than {found['older_than']:g}s that are not final")
    else:
        table = Table("order", "status", "age", "customer", "total", "waiting for",
                      title=f"{found['total']} orders not final after {found['older_than']:g}s")
        for item in found["items"]:
            table.add_row(item["id"], item["status"], f"{item['age_seconds']:.0f}s", item["customer_id"],
                          f"{item['total'] / 100:.2f} {item['currency']}", item["waiting_for"])
        Console().print(table)
    if found["total"]:
        raise typer.Exit(1)
