"""`eventshop serve` and `eventshop migrate`: run or migrate one service."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from nats.errors import Error as NatsError

from eventshop.cli.loading import UnknownService, available_services, load_service
from eventshop.cli.preflight import fail, port_is_free
from eventshop.contracts.registry import SERVICES
from eventshop.platform.broker import BrokerRefused, connect, set_up_streams
from eventshop.platform.broker_auth import OPERATOR, login_for, secrets_dir
from eventshop.platform.db import Database
from eventshop.platform.embedded_nats import EmbeddedNats
from eventshop.platform.identity import MissingKeys
from eventshop.platform.migrations import alembic_config, upgrade
from eventshop.platform.runtime import ServiceRuntime
from eventshop.platform.serving import exit_now, run_app
from eventshop.platform.settings import Settings
from eventshop.platform.telemetry import configure_logging
from eventshop.platform.tracing import configure_tracing, shutdown_tracing


def ensure_broker(settings: Settings) -> EmbeddedNats | None:
    """Use EVENTSHOP_NATS_URL when set; otherwise reuse or start (and set up) the embedded nats-server."""
    if settings.nats_url:
        return None
    port = settings.port("nats")
    settings.nats_url = f"nats://127.0.0.1:{port}"
    if not port_is_free("127.0.0.1", port):
        return None  # an embedded server of an earlier `eventshop serve` or `up` is running
    nats = EmbeddedNats(store_dir=settings.data_dir / "nats", port=port, log_file=settings.data_dir / "nats.log",
                        secrets_dir=secrets_dir(settings))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    nats.start()
    asyncio.run(set_up_streams(settings.nats_url, settings.stream_replicas, login_for(settings, OPERATOR)))
    return nats


def check_login(settings: Settings, identity: str) -> None:
    """Refused credentials are one line and exit 1, before the service starts; an unreachable broker is waited for."""
    assert settings.nats_url

    async def probe(url: str) -> None:
        try:
            nc = await asyncio.wait_for(connect(url, f"eventshop-{identity}", login=login_for(settings, identity),
                                                persistent=False), timeout=5)
        except BrokerRefused:
            raise
        except Exception:
            return  # unreachable or slow: the service's own connection waits for it
        await nc.close()

    try:
        asyncio.run(probe(settings.nats_url))
    except BrokerRefused as exc:
        where = secrets_dir(settings) / identity
        raise fail(f"{exc}: set EVENTSHOP_NATS_PASSWORD or put its password in {where}") from None


def serve(
    service: Annotated[str, typer.Argument(help="a service: " + ", ".join(SERVICES))],
    port: Annotated[int | None, typer.Option(help="HTTP port (default from the port base)", min=1, max=65535)] = None,
    dev_secrets: Annotated[bool, typer.Option(
        "--dev-secrets", help="development only: publicly known HTTP keys instead of configured ones "
                              "(EVENTSHOP_DEV_SECRETS)")] = False,
) -> None:
    """Run one service as one process: its API, consumers and outbox relay."""
    settings = Settings()
    settings.dev_secrets = settings.dev_secrets or dev_secrets
    try:
        declaration = load_service(service)
    except UnknownService as exc:
        raise fail(str(exc), 2) from None
    port = port or settings.port(service)
    if not port_is_free(settings.host, port):
        raise fail(f"port {port} is in use; choose another with --port or EVENTSHOP_{service.upper()}_PORT")
    try:
        app = ServiceRuntime(declaration, settings).app()
    except MissingKeys as exc:
        raise fail(str(exc), 2) from None
    configure_logging(service, settings.log_level, settings.log_json)
    configure_tracing(service, settings)
    nats = ensure_broker(settings)
    try:
        check_login(settings, service)
        run_app(app, settings.host, port)
    finally:
        shutdown_tracing()
        if nats:
            nats.stop()
    exit_now()


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


def setup_broker(
    replicas: Annotated[int | None, typer.Option(help="stream replicas (default EVENTSHOP_STREAM_REPLICAS)")] = None,
) -> None:
    """Create the streams, or bring them up to date, as the operator; services only create their consumers."""
    settings = Settings()
    url = settings.nats_url or f"nats://127.0.0.1:{settings.port('nats')}"
    try:
        asyncio.run(set_up_streams(url, replicas or settings.stream_replicas, login_for(settings, OPERATOR)))
    except BrokerRefused as exc:
        raise fail(f"{exc}: give the operator's credentials (EVENTSHOP_NATS_USER=operator, "
                   "EVENTSHOP_NATS_PASSWORD)") from None
    except (OSError, NatsError) as exc:
        raise fail(f"cannot set up the broker at {url}: {exc}") from None
    typer.echo(f"streams set up on {url}")


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
