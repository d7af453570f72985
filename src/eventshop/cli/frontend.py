"""`eventshop frontend`: run the Shop Frontend web app."""

from __future__ import annotations

from typing import Annotated

import typer

from eventshop.cli.preflight import fail, port_is_free
from eventshop.frontend.app import create_app
from eventshop.platform.identity import MissingKeys
from eventshop.platform.serving import exit_now, run_app
from eventshop.platform.settings import Settings
from eventshop.platform.telemetry import configure_logging
from eventshop.platform.tracing import configure_tracing, shutdown_tracing


def frontend(
    port: Annotated[int | None, typer.Option(help="HTTP port (default: the port base)", min=1, max=65535)] = None,
    dev_secrets: Annotated[bool, typer.Option(
        "--dev-secrets", help="development only: publicly known HTTP keys and cookie secret instead of configured "
                              "ones (EVENTSHOP_DEV_SECRETS)")] = False,
) -> None:
    """Serve the shop's web pages; they call the services over HTTP."""
    settings = Settings()
    settings.dev_secrets = settings.dev_secrets or dev_secrets
    port = port or settings.port("frontend")
    if not port_is_free(settings.host, port):
        raise fail(f"port {port} for the frontend is in use; choose another with --port")
    try:
        app = create_app(settings)
    except MissingKeys as exc:
        raise fail(str(exc), 2) from None
    configure_logging("frontend", settings.log_level, settings.log_json)
    configure_tracing("frontend", settings)
    try:
        run_app(app, settings.host, port)
    except OSError:
        raise fail(f"port {port} for the frontend is in use; choose another with --port") from None
    finally:
        shutdown_tracing()
    exit_now()
