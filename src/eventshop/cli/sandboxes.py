"""`eventshop sandbox ...`: run the local stand-ins of the external systems."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from eventshop.cli.serve import fail, port_is_free
from eventshop.platform.serving import run_app
from eventshop.platform.settings import Settings
from eventshop.sandboxes.logistics_system.app import create_app as logistics_app
from eventshop.sandboxes.mail.app import run_mail
from eventshop.sandboxes.payment_system.app import create_app as payment_app

app = typer.Typer(no_args_is_help=True)

Port = Annotated[int | None, typer.Option(help="HTTP port (default from the port base)")]
DataDir = Annotated[Path | None, typer.Option(help="where the sandbox keeps its records")]


def prepare(name: str, port: int | None, data_dir: Path | None) -> tuple[Settings, int, Path]:
    settings = Settings()
    port = port or settings.port(name)
    if not port_is_free(settings.host, port):
        raise fail(f"port {port} for the {name} sandbox is in use; choose another with --port")
    folder = data_dir or settings.data_dir / "sandboxes" / name
    folder.mkdir(parents=True, exist_ok=True)
    return settings, port, folder


@app.command("payment-system")
def payment_system(port: Port = None, data_dir: DataDir = None) -> None:
    """Card payments: test tokens, idempotency keys, voids, refunds, a ledger."""
    settings, port, folder = prepare("payment-system", port, data_dir)
    run_app(payment_app(folder), settings.host, port)


@app.command("logistics-system")
def logistics_system(port: Port = None, data_dir: DataDir = None) -> None:
    """Shipments with tracking numbers; test postcodes that are refused."""
    settings, port, folder = prepare("logistics-system", port, data_dir)
    run_app(logistics_app(folder), settings.host, port)


@app.command("mail")
def mail(
    port: Port = None,
    data_dir: DataDir = None,
    smtp_port: Annotated[int | None, typer.Option(help="SMTP port (default from the port base)")] = None,
) -> None:
    """SMTP mail catcher with a web inbox and a JSON API."""
    settings, port, folder = prepare("mail", port, data_dir)
    smtp = smtp_port or settings.port("smtp")
    if not port_is_free(settings.host, smtp):
        raise fail(f"SMTP port {smtp} for the mail sandbox is in use; choose another with --smtp-port")
    asyncio.run(run_mail(folder, settings.host, port, smtp))
