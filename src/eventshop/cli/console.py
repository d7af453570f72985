"""`eventshop console`: run the operator console; `eventshop console-password`: print its password."""

from __future__ import annotations

from typing import Annotated

import typer

from eventshop.cli.locating import DataDirOption, locate
from eventshop.cli.preflight import fail, port_is_free
from eventshop.platform.identity import MissingKeys
from eventshop.platform.settings import Settings


def console(
    port: Annotated[int | None, typer.Option(help="HTTP port (default: the port base + 9)", min=1, max=65535)] = None,
) -> None:
    """Serve the operator console: processes and health, the event flow with its backlogs, dead letters (show,
    replay, purge), orders and each order's story. Sign in with the console password
    (`eventshop console-password`); it calls the services and the broker as the operator."""
    from eventshop.console.app import create_app
    from eventshop.platform.serving import exit_now, run_app
    from eventshop.platform.telemetry import configure_logging

    settings = Settings()
    port = port or settings.port("console")
    if not port_is_free(settings.host, port):
        raise fail(f"port {port} for the console is in use; choose another with --port")
    try:
        app = create_app(settings)
    except MissingKeys as exc:
        raise fail(str(exc), 2) from None
    configure_logging("console", settings.log_level, settings.log_json)
    try:
        run_app(app, settings.host, port)
    except OSError:
        raise fail(f"port {port} for the console is in use; choose another with --port") from None
    exit_now()


def console_password(data_dir: DataDirOption = None) -> None:
    """Print the operator console's password (EVENTSHOP_CONSOLE_PASSWORD, else the one `eventshop up` wrote to
    <data-dir>/secrets/http/console-password)."""
    from eventshop.console.signin import ConsoleSettings
    from eventshop.console.signin import console_password as password_of

    shop = locate(data_dir)
    try:
        typer.echo(password_of(shop.settings, ConsoleSettings()))
    except MissingKeys as exc:
        raise fail(str(exc), 2) from None
