"""`eventshop serve` and `eventshop migrate`: run or migrate one service."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from eventshop.cli.loading import UnknownService, available_services, load_service
from eventshop.cli.preflight import fail, port_is_free
from eventshop.contracts.registry import SERVICES
from eventshop.platform.db import Database
from eventshop.platform.embedded_nats import EmbeddedNats
from eventshop.platform.migrations import alembic_config, upgrade
from eventshop.platform.runtime import ServiceRuntime
from eventshop.platform.serving import run_app
from eventshop.platform.settings import Settings
from eventshop.platform.telemetry import configure_logging


def ensure_broker(settings: Settings) -> EmbeddedNats | None:
    """Use EVENTSHOP_NATS_URL when set; otherwise reuse or start the embedded nats-server."""
    if settings.nats_url:
        return None
    port = settings.port("nats")
    settings.nats_url = f"nats://127.0.0.1:{port}"
    if not port_is_free("127.0.0.1", port):
        return None  # an embedded server of an earlier `eventshop serve` or `up` is running
    nats = EmbeddedNats(store_dir=settings.data_dir / "nats", port=port, log_file=settings.data_dir / "nats.log")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return nats.start()


def serve(
    service: Annotated[str, typer.Argument(help="a service: " + ", ".join(SERVICES))],
    port: Annotated[int | None, typer.Option(help="HTTP port (default from the port base)", min=1, max=65535)] = None,
) -> None:
    """Run one service as one process: its API, consumers and outbox relay."""
    settings = Settings()
    try:
        declaration = load_service(service)
    except UnknownService as exc:
        raise fail(str(exc), 2) from None
    port = port or settings.port(service)
    if not port_is_free(settings.host, port):
        raise fail(f"port {port} is in use; choose another with --port or EVENTSHOP_{service.upper()}_PORT")
    configure_logging(service, settings.log_level, settings.log_json)
    nats = ensure_broker(settings)
    try:
        run_app(ServiceRuntime(declaration, settings).app(), settings.host, port)
    finally:
        if nats:
            nats.stop()


def migrate(
    service: Annotated[str | None, typer.Argument(help="one service; all when omitted")] = None,
) -> None:
    """Apply every pending schema migration (services also do this when they start)."""
    settings = Settings()
    names = [service] if service else available_services()

    async def run() -> None:
        for name in names:
            declaration = load_service(name)
            db = Database(settings.database_url(name), name)
            try:
                await upgrade(db, declaration.migrations)
            finally:
                await db.dispose()
            typer.echo(f"{name}: up to date")

    try:
        asyncio.run(run())
    except UnknownService as exc:
        raise fail(str(exc), 2) from None
    except OSError as exc:
        raise fail(f"database unreachable: {exc}") from None


def make_migration(
    service: Annotated[str, typer.Argument()],
    message: Annotated[str, typer.Option("--message", "-m")] = "schema change",
) -> None:
    """For developers: write a new migration from the difference between tables.py and the scripts."""
    from alembic import command  # only developers writing a migration need alembic's generator

    declaration = load_service(service)

    async def run(url: str) -> None:
        db = Database(url, service)
        try:
            await upgrade(db, declaration.migrations)
            async with db.engine.begin() as conn:
                await conn.run_sync(
                    lambda c: command.revision(
                        alembic_config(declaration.migrations, c), message=message, autogenerate=True
                    )
                )
        finally:
            await db.dispose()

    with tempfile.TemporaryDirectory() as tmp:
        (Path(declaration.migrations) / "versions").mkdir(exist_ok=True)
        asyncio.run(run(f"sqlite+aiosqlite:///{tmp}/scratch.sqlite3"))
