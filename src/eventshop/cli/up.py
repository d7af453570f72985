"""`eventshop up`: the whole shop on one machine."""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from nats.errors import Error as NatsError
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from eventshop.cli import locating
from eventshop.cli.preflight import port_is_free
from eventshop.cli.seeding import DEMO_EMAIL, DEMO_PASSWORD, seed
from eventshop.cli.supervisor import CONFIG_ERROR, Child, ChildMisconfigured, Supervisor, last_line
from eventshop.platform.broker import BrokerRefused, set_up_streams
from eventshop.platform.broker_auth import OPERATOR, ensure_secrets, login_for, secrets_dir
from eventshop.platform.embedded_nats import nats_server_binary
from eventshop.platform.identity import CONSOLE_PASSWORD, ensure_keys
from eventshop.platform.identity import secrets_dir as http_secrets_dir
from eventshop.platform.probing import LiveProbe, ask
from eventshop.platform.settings import MAX_PORT_BASE, Settings, saga_style

SERVICES = ["account", "catalog", "inventory", "cart", "order", "payment", "shipping", "notification"]
SANDBOXES = ["payment-system", "logistics-system", "mail"]
WEB_APPS = ["frontend", "console"]
READY_TIMEOUT = 120.0
HEALTH_EVERY_SECONDS = 2.0
console = Console()


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "eventshop.cli.main", *args]


def plan(supervisor: Supervisor, settings: Settings, nats_url: str | None) -> list[list[Child]]:
    """The processes in start order, grouped into waves that may start together."""
    waves: list[list[Child]] = []
    if nats_url is None:
        port = settings.port("nats")
        store = settings.data_dir / "nats"
        # Every process gets its own broker identity; anyone else is refused (see platform/broker_auth.py).
        config = ensure_secrets(secrets_dir(settings))
        command = [str(nats_server_binary()), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store),
                   "-c", str(config)]
        waves.append([supervisor.add("nats", command, port, None, wave=0)])
    sandboxes = []
    for name in SANDBOXES:
        extra = ["--smtp-port", str(settings.port("smtp"))] if name == "mail" else []
        data = settings.data_dir / "sandboxes" / name
        command = cli("sandbox", name, "--port", str(settings.port(name)), "--data-dir", str(data), *extra)
        sandboxes.append(supervisor.add(name, command, settings.port(name), f"{settings.url(name)}/health", wave=1,
                                        live_url=f"{settings.url(name)}/health/live"))
    waves.append(sandboxes)
    waves.append([supervisor.add(name, cli("serve", name), settings.port(name), f"{settings.url(name)}/health/ready",
                                 wave=2, live_url=f"{settings.url(name)}/health/live") for name in SERVICES])
    waves.append([supervisor.add(name, cli(name), settings.port(name), f"{settings.url(name)}/health/ready", wave=3,
                                 live_url=f"{settings.url(name)}/health/live") for name in WEB_APPS])
    return waves


def taken_port(settings: Settings, external_broker: bool) -> tuple[str, int] | None:
    names = [*WEB_APPS, *SERVICES, *SANDBOXES, "smtp"] + ([] if external_broker else ["nats"])
    for name in names:
        if not port_is_free(settings.host, settings.port(name)):
            return name, settings.port(name)
    return None


def healthy(child: Child) -> bool:
    return ask(child.health_url, child.port, timeout=1).ready


def watch_health(supervisor: Supervisor, done: threading.Event) -> None:
    """Every few seconds each running process's cheap health check, all at once: a frozen one costs one timeout."""
    probes = {child.name: LiveProbe(child.live_url) for child in supervisor.children if child.live_url}

    def answers(child: Child) -> bool:
        probe = probes.get(child.name)
        return probe.responded() if probe else ask(None, child.port).responded  # the broker: its greeting

    with ThreadPoolExecutor(max_workers=len(supervisor.children), thread_name_prefix="health") as pool:
        while not done.wait(HEALTH_EVERY_SECONDS):
            children = [child for child in supervisor.children if child.running]
            for child, answered in zip(children, pool.map(answers, children), strict=True):
                supervisor.note_answer(child, answered)
        for probe in probes.values():
            probe.close()


def wait_ready(supervisor: Supervisor, wave: list[Child], deadline: float) -> None:
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True) as progress:
        pending = {child.name: child for child in wave}
        task = progress.add_task(f"starting {', '.join(pending)}")
        while pending:
            for name, child in list(pending.items()):
                if healthy(child):
                    del pending[name]
                    console.print(f"[green]✓[/] {name} ready" + (f" on :{child.port}" if child.port else ""))
            progress.update(task, description=f"waiting for {', '.join(pending)}" if pending else "ready")
            supervisor.watch_once()
            if pending and time.monotonic() > deadline:
                name = next(iter(pending))
                log = supervisor.log_dir / f"{name}.log"
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:]) if log.exists() else ""
                raise TimeoutError(f"{', '.join(pending)} not ready after {READY_TIMEOUT:.0f}s; {name}'s log:\n{tail}")
            time.sleep(0.2)


def start_migration(env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    """Every service database to the newest schema in one short-lived process, while the broker and
    sandboxes start: the services then find nothing to apply and never load Alembic (about 11 MB each)."""
    with open(log_dir / "migrate.log", "wb") as log:
        return subprocess.Popen(cli("migrate"), env=env, stdout=log, stderr=subprocess.STDOUT)


def finish_migration(migration: subprocess.Popen[bytes], log_dir: Path, deadline: float) -> None:
    try:
        code = migration.wait(timeout=max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"migrations not done after {READY_TIMEOUT:.0f}s; see {log_dir / 'migrate.log'}") from None
    if code == CONFIG_ERROR:
        raise ChildMisconfigured(f"migrate: {last_line(log_dir / 'migrate.log')}")
    if code != 0:
        tail = "\n".join((log_dir / "migrate.log").read_text(errors="replace").splitlines()[-15:])
        raise ChildProcessError(f"eventshop migrate failed (exit {code}):\n{tail}")


def set_up_broker(settings: Settings, nats_url: str) -> None:
    """The streams, created or updated as the operator: services may only create their own consumers."""
    try:
        asyncio.run(set_up_streams(nats_url, settings.stream_replicas, login_for(settings, OPERATOR)))
    except BrokerRefused as exc:
        raise ChildProcessError(f"setting up the streams failed: {exc}") from None
    except (OSError, NatsError) as exc:
        raise ChildProcessError(f"setting up the streams on {nats_url} failed: {exc}") from None


def write_state(settings: Settings, nats_url: str, supervisor: Supervisor, ready: bool,
                written: list[Any] | None = None) -> None:
    """up.json as it is now; with `written` (what was written last), only when something changed."""
    processes = [{"name": c.name, "pid": c.pid, "port": c.port, "health_url": c.health_url,
                  "started_at": c.started_at, "state": c.state, "restarts": c.restarted, "answering": c.answering}
                 for c in supervisor.children]
    if written is not None:
        if written == [processes, ready]:
            return
        written[:] = [processes, ready]
    locating.write_state(settings.data_dir, settings, nats_url, [*WEB_APPS, *SERVICES, *SANDBOXES], processes, ready)


def urls_table(settings: Settings, nats_url: str) -> Table:
    table = Table(title="eventshop is running", show_lines=False)
    table.add_column("what")
    table.add_column("where")
    table.add_row("[bold]Shop[/]", f"[bold]{settings.url('frontend')}[/]")
    table.add_row("Mail inbox", settings.url("mail"))
    table.add_row("Operator console", settings.url("console"))
    table.add_row("Console password", f"in {http_secrets_dir(settings) / CONSOLE_PASSWORD} "
                                      "(eventshop console-password)")
    for name in SERVICES:
        table.add_row(f"{name} API", f"{settings.url(name)}/docs")
    table.add_row("Payment System sandbox", f"{settings.url('payment-system')}/docs")
    table.add_row("Logistics System sandbox", f"{settings.url('logistics-system')}/docs")
    table.add_row("NATS", nats_url)
    table.add_row("Demo login", f"{DEMO_EMAIL} / {DEMO_PASSWORD}")
    return table


def acquire_lock(data_dir: Path) -> Any:
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / "up.lock", "a+")  # noqa: SIM115 (held for the life of the process)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(1)


def up(
    data_dir: Annotated[Path | None, typer.Option(help="where databases, broker store and logs live")] = None,
    fresh: Annotated[bool, typer.Option(help="start from empty data (deletes the data directory)")] = False,
    port_base: Annotated[
        int | None, typer.Option(help="ports are base + offset (default 8000)", min=1, max=MAX_PORT_BASE)
    ] = None,
    quiet: Annotated[bool, typer.Option(help="no log lines on the terminal at all")] = False,
    verbose: Annotated[bool, typer.Option(help="every log line of every process on the terminal (the nats-server "
                                                "banner, migrations), not only warnings and errors; all lines are "
                                                "always in the log files")] = False,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="do not create the demo catalog and customer")] = False,
    saga: Annotated[str | None, typer.Option(help="how orders run: choreography (services react to events, the "
                                             "default) or orchestration (Order calls each step); sets "
                                             "EVENTSHOP_SAGA for every process")] = None,
) -> None:
    """Start the whole shop: broker, sandboxes, eight services, frontend, operator console. A process that exits
    is restarted; one that stops answering its health check is reported. Ctrl-C (or SIGTERM) stops it all, the
    frontend and console first and the broker last; `eventshop status` shows how each process is."""
    settings = Settings()
    if saga is not None:
        settings.saga = saga_style("--saga", saga)
    if data_dir is not None:
        settings.data_dir = data_dir
    if port_base is not None:
        settings.port_base = port_base
    settings.data_dir = settings.data_dir.resolve()
    if fresh and settings.data_dir.exists():
        lock = acquire_lock(settings.data_dir)
        if lock is None:
            raise fail(f"eventshop up is running for {settings.data_dir}; stop it before --fresh")
        lock.close()
        shutil.rmtree(settings.data_dir)
    lock = acquire_lock(settings.data_dir)
    if lock is None:
        raise fail(f"eventshop up is already running for {settings.data_dir} (see `eventshop status`)")
    taken = taken_port(settings, external_broker=bool(settings.nats_url))
    if taken:
        raise fail(f"port {taken[1]} (for {taken[0]}) is in use; pick other ports with --port-base, e.g. "
                   f"--port-base {settings.port_base + 1000}")
    run(settings, quiet, no_seed, verbose)
    lock.close()


def run(settings: Settings, quiet: bool, no_seed: bool, verbose: bool = False) -> None:
    nats_url = settings.nats_url or f"nats://127.0.0.1:{settings.port('nats')}"
    env = {**os.environ, "EVENTSHOP_DATA_DIR": str(settings.data_dir), "EVENTSHOP_PORT_BASE": str(settings.port_base),
           "EVENTSHOP_NATS_URL": nats_url, "PYTHONUNBUFFERED": "1", "EVENTSHOP_SAGA": settings.saga,
           # Local http: a Secure cookie would never come back. Outside `up` the frontend's default is on.
           "EVENTSHOP_FRONTEND_SECURE_COOKIES": os.environ.get("EVENTSHOP_FRONTEND_SECURE_COOKIES", "false"),
           "EVENTSHOP_CONSOLE_SECURE_COOKIES": os.environ.get("EVENTSHOP_CONSOLE_SECURE_COOKIES", "false")}
    supervisor = Supervisor(settings.data_dir / "logs", env, console, quiet, verbose)
    ensure_keys(http_secrets_dir(settings))  # every process's HTTP identity (platform/identity.py)
    waves = plan(supervisor, settings, settings.nats_url)
    state = settings.data_dir / locating.STATE_FILE

    def request_stop(*_: object) -> None:
        raise KeyboardInterrupt

    # Installed explicitly: a shell that starts us in the background may have set SIGINT to ignore.
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    started = time.monotonic()
    watching_done = threading.Event()
    migration = start_migration(env, supervisor.log_dir)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        for wave in waves:
            if any(child.name in SERVICES for child in wave):
                finish_migration(migration, supervisor.log_dir, deadline)
                supervisor.show_log("migrate")
                set_up_broker(settings, nats_url)
            for child in wave:
                supervisor.start(child)
            write_state(settings, nats_url, supervisor, ready=False)
            wait_ready(supervisor, wave, deadline)
        marker = settings.data_dir / "seeded"
        if not no_seed and not marker.exists():
            with console.status("seeding the demo catalog and customer"):
                count = seed(settings)
            marker.write_text(f"seeded {count} products\n")
            console.print(f"[green]✓[/] seeded {count} demo products and the demo customer")
        write_state(settings, nats_url, supervisor, ready=True)
        console.print(urls_table(settings, nats_url))
        console.print(f"[dim]ready in {time.monotonic() - started:.1f}s; logs in {supervisor.log_dir}; "
                      "Ctrl-C stops everything[/]")
        threading.Thread(target=watch_health, args=(supervisor, watching_done), name="health", daemon=True).start()
        written: list[Any] = []
        while True:
            supervisor.watch_once()
            write_state(settings, nats_url, supervisor, ready=True, written=written)
            time.sleep(0.5)
    except KeyboardInterrupt:
        console.print("\n[bold]stopping eventshop[/]")
    except (TimeoutError, ChildProcessError, ChildMisconfigured, httpx.HTTPError) as exc:
        supervisor.stop()
        state.unlink(missing_ok=True)
        console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(CONFIG_ERROR if isinstance(exc, ChildMisconfigured) else 1) from None
    finally:
        watching_done.set()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut the stop short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if migration.poll() is None:
            migration.terminate()
            migration.wait()
    supervisor.stop()
    state.unlink(missing_ok=True)
    console.print("[green]stopped[/]")

