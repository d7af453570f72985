"""Where the running shop is, for every command that talks to one: `eventshop up`'s state file in the data
directory (`up.json`), with `--port-base` / `--nats-url` and EVENTSHOP_* variables over it."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any

import typer

from eventshop.platform.broker_auth import secrets_dir
from eventshop.platform.identity import secrets_dir as http_secrets_dir
from eventshop.platform.settings import MAX_PORT_BASE, Settings
from eventshop.platform.shopstatus import STATE_FILE, alive, broker_url, read_state

DataDirOption = Annotated[Path | None, typer.Option(
    help="the data directory of the running `eventshop up` (default EVENTSHOP_DATA_DIR or ./eventshop-data)")]
PortBaseOption = Annotated[int | None, typer.Option(
    help="the shop's port base, instead of the one in the data directory's up.json", min=1, max=MAX_PORT_BASE)]
NatsUrlOption = Annotated[str | None, typer.Option(help="the broker, instead of the one in up.json")]


def write_state(data_dir: Path, settings: Settings, nats_url: str, names: list[str],
                processes: list[dict[str, Any]], ready: bool) -> None:
    """What `eventshop up` tells other commands: where each process listens. Paths of secrets, never their values.
    Written whole and renamed, so a reader never sees half of it."""
    state = {
        "pid": os.getpid(), "ready": ready, "data_dir": str(data_dir), "port_base": settings.port_base,
        "nats_url": nats_url, "saga": settings.saga, "nats_secrets_dir": str(secrets_dir(settings)),
        "http_secrets_dir": str(http_secrets_dir(settings)),
        "secrets_dir": str(data_dir / "secrets"), "log_dir": str(data_dir / "logs"),
        "urls": {name: settings.url(name) for name in names}, "processes": processes,
    }
    partial = data_dir / f".{STATE_FILE}.tmp"
    partial.write_text(json.dumps(state, indent=2))
    partial.replace(data_dir / STATE_FILE)


@dataclass(frozen=True)
class LocatedShop:
    """The settings to reach a shop with, and the state of the `eventshop up` running it, if one is."""

    settings: Settings
    state: dict[str, Any] | None  # None: no live `eventshop up` for this data directory
    stale_pid: int | None = None  # an `eventshop up` that left its state file behind

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def broker_url(self) -> str:
        return broker_url(self.settings)

    @property
    def up_pid(self) -> int | None:
        """The `eventshop up` of this shop (None when it runs elsewhere or on another port base)."""
        if self.state is None or self.state.get("port_base") != self.settings.port_base:
            return None
        return int(self.state["pid"])

    def not_running(self) -> str:
        """Why there is no shop here, and the command that finds one."""
        where = f"eventshop up is not running for {self.data_dir}"
        return where + (f" (stale state from pid {self.stale_pid})" if self.stale_pid else "")

    def advice(self, command: str) -> str:
        """What to run next, as exact commands: `command` is the one that failed, e.g. `eventshop dlq list`."""
        if self.state is not None:
            return f"see `eventshop status --data-dir {self.data_dir}` and the logs in {self.data_dir / 'logs'}"
        others = [folder for folder in running_shops() if folder != self.data_dir]
        if others:
            return f"{self.not_running()}; it runs for {others[0]}: `{command} --data-dir {others[0]}`"
        return f"{self.not_running()}; start it with `eventshop up --data-dir {self.data_dir}`"


def locate(data_dir: Path | None = None, port_base: int | None = None, nats_url: str | None = None) -> LocatedShop:
    """Options first, then EVENTSHOP_* variables, then the state file of the data directory, then defaults."""
    settings = Settings()
    from_env = set(settings.model_fields_set)
    if data_dir is not None:
        settings.data_dir = data_dir
    settings.data_dir = settings.data_dir.resolve()
    state = read_state(settings.data_dir)
    stale = None
    if state is not None and not alive(int(state["pid"])):
        stale, state = int(state["pid"]), None
    if state is not None:
        if "port_base" not in from_env and port_base is None:
            settings.port_base = int(state["port_base"])
            settings.service_urls = dict(state.get("urls", {}))
        if "nats_url" not in from_env:
            settings.nats_url = state.get("nats_url")
        if "saga" not in from_env and state.get("saga"):
            settings.saga = state["saga"]
        if "nats_secrets_dir" not in from_env and state.get("nats_secrets_dir"):
            settings.nats_secrets_dir = Path(state["nats_secrets_dir"])
        if "http_secrets_dir" not in from_env and state.get("http_secrets_dir"):
            settings.http_secrets_dir = Path(state["http_secrets_dir"])
    if port_base is not None:
        settings.port_base = port_base
    if nats_url is not None:
        settings.nats_url = nats_url
    return LocatedShop(settings, state, stale)


def running_shops() -> Iterator[Path]:
    """The data directories of this machine's running `eventshop up` processes (those whose state names them)."""
    import psutil  # only when a shop is not where it was looked for: `eventshop up` itself never needs it

    for process in psutil.process_iter(["pid", "cmdline"]):
        command = process.info["cmdline"] or []
        if not any(a.endswith(("eventshop", "eventshop.cli.main")) and b == "up" for a, b in pairwise(command)):
            continue
        with contextlib.suppress(psutil.Error, OSError):
            folder = _data_dir_of(process, command)
            state = read_state(folder)
            if state is not None and state["pid"] == process.pid:
                yield folder


def _data_dir_of(process: Any, command: list[str]) -> Path:
    for option, value in zip(command, [*command[1:], ""], strict=True):
        if option == "--data-dir":
            given = Path(value)
            break
        if option.startswith("--data-dir="):
            given = Path(option.split("=", 1)[1])
            break
    else:
        given = Path(process.environ().get("EVENTSHOP_DATA_DIR") or "eventshop-data")
    return (Path(process.cwd()) / given).resolve()
