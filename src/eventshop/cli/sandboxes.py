"""`eventshop sandbox ...`: run the local stand-ins of the external systems."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Annotated

import typer

from eventshop.cli.preflight import fail
from eventshop.platform.identity import sandbox_operator_key
from eventshop.platform.serving import exit_now, run
from eventshop.platform.settings import Settings
from eventshop.platform.telemetry import configure_logging
from eventshop.sandboxes.faults import FaultConfig, InvalidFaultConfig
from eventshop.sandboxes.runner import PortInUse, bind, serve_sandbox

# Each command imports its own sandbox: a process runs one of them, not three.

app = typer.Typer(no_args_is_help=True)

Port = Annotated[int | None, typer.Option(help="HTTP port (default from the port base)", min=1, max=65535)]
DataDir = Annotated[Path | None, typer.Option(help="where the sandbox keeps its SQLite file")]
ApiKey = Annotated[str | None, typer.Option("--require-api-key", help="answer 401 unless this Bearer key is sent")]


class Prepared:
    """Settings, data folder, fault configuration, operator key and bound sockets, or one clear error and exit 1."""

    def __init__(self, name: str, data_dir: Path | None) -> None:
        self.name = name
        self.settings = Settings()
        configure_logging(f"{name}-sandbox", self.settings.log_level, self.settings.log_json)
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
        try:
            self.faults = FaultConfig.from_env(name)
        except InvalidFaultConfig as exc:
            raise fail(f"invalid failure injection setting: {exc}", 2) from None
        self.folder = data_dir or self.settings.data_dir / "sandboxes" / name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.operator_key = sandbox_operator_key(self.settings, name)

    def bind(self, port: int | None, port_name: str, what: str, option: str) -> socket.socket:
        chosen = port or self.settings.port(port_name)
        try:
            return bind(self.settings.host, chosen, what)
        except PortInUse as exc:
            raise fail(f"{exc}; choose another with {option}") from None
        except OSError as exc:
            raise fail(f"cannot listen on {self.settings.host}:{chosen} for {what}: {exc.strerror or exc}") from None


@app.command("payment-system")
def payment_system(port: Port = None, data_dir: DataDir = None, api_key: ApiKey = None) -> None:
    """Card payments: test tokens, idempotency keys, captures, voids, refunds, a ledger.

    Faults switch at run time with the operator key (EVENTSHOP_PAYMENT_SYSTEM_OPERATOR_KEY, else the one
    `eventshop up` wrote); without one, only the EVENTSHOP_PAYMENT_SYSTEM_ERROR_RATE/_LATENCY_MS/_OUTAGE at start.
    """
    from eventshop.sandboxes.payment_system.app import create_app as payment_app

    prepared = Prepared("payment-system", data_dir)
    sock = prepared.bind(port, "payment-system", "the payment-system sandbox", "--port")
    sandbox = payment_app(prepared.folder, prepared.faults, api_key=api_key, operator_key=prepared.operator_key)
    run(serve_sandbox(sandbox, sock))
    exit_now()


@app.command("logistics-system")
def logistics_system(
    port: Port = None,
    data_dir: DataDir = None,
    api_key: ApiKey = None,
    step_seconds: Annotated[float | None, typer.Option(
        help="seconds per tracking step (default EVENTSHOP_LOGISTICS_SYSTEM_STEP_SECONDS or 20)")] = None,
) -> None:
    """Shipments with tracking numbers that advance over time; test addresses that are refused.

    Faults switch at run time with the operator key (EVENTSHOP_LOGISTICS_SYSTEM_OPERATOR_KEY, else the one
    `eventshop up` wrote).
    """
    from eventshop.sandboxes.logistics_system.app import create_app as logistics_app

    prepared = Prepared("logistics-system", data_dir)
    sock = prepared.bind(port, "logistics-system", "the logistics-system sandbox", "--port")
    sandbox = logistics_app(prepared.folder, prepared.faults, step_seconds=step_seconds, api_key=api_key,
                            operator_key=prepared.operator_key)
    run(serve_sandbox(sandbox, sock))
    exit_now()


@app.command("mail")
def mail(
    port: Port = None,
    data_dir: DataDir = None,
    smtp_port: Annotated[
        int | None, typer.Option(help="SMTP port (default from the port base)", min=1, max=65535)
    ] = None,
) -> None:
    """SMTP mail catcher with a web inbox and a JSON API.

    Deleting messages and switching faults at run time take the operator key (EVENTSHOP_MAIL_OPERATOR_KEY, else
    the one `eventshop up` wrote); without one, both are off.
    """
    from eventshop.sandboxes.mail.app import run_mail

    prepared = Prepared("mail", data_dir)
    web = prepared.bind(port, "mail", "the mail sandbox's web inbox", "--port")
    try:
        smtp = prepared.bind(smtp_port, "smtp", "the mail sandbox's SMTP server", "--smtp-port")
    except typer.Exit:
        web.close()
        raise
    run(run_mail(prepared.folder, web, smtp, prepared.faults, operator_key=prepared.operator_key))
    exit_now()
