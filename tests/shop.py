"""The whole shop as real processes: embedded NATS, the three sandboxes, the eight services, the frontend."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from eventshop.platform.broker import set_up_streams
from eventshop.platform.embedded_nats import EmbeddedNats, free_port
from eventshop.platform.identity import ensure_keys
from eventshop.platform.settings import PORT_OFFSETS, Settings, env_key
from tests.brokers import in_thread, operator_login, start_broker
from tests.credentials import as_customer, as_operator, as_service
from tests.waiting import answers

SERVICES = ["account", "catalog", "inventory", "cart", "order", "payment", "shipping", "notification"]
SANDBOXES = ["payment-system", "logistics-system", "mail"]


def program_of(name: str) -> str:
    """`payment#2` (a replica) runs the program `payment`."""
    return name.split("#")[0]


def free_port_base() -> int:
    """A base whose every offset is free (the shop uses base+0 .. base+422).

    Bases stay below the kernel's ephemeral range (32768 and up here), so no outgoing connection of
    a process started meanwhile can take one of the shop's ports before its server binds it.
    EVENTSHOP_TEST_PORT_RANGE (e.g. `12000-12999`) keeps every port inside a range, on a shared machine.
    """
    import socket

    low, high = (int(part) for part in os.environ.get("EVENTSHOP_TEST_PORT_RANGE", "20000-31822").split("-"))
    bases = (high - max(PORT_OFFSETS.values()) - low) // 100 + 1
    for _ in range(50):
        base = low + (free_port() % bases) * 100
        ports = [base + offset for offset in PORT_OFFSETS.values()]
        try:
            for port in ports:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range")


@dataclass
class Shop:
    """A running shop; `http(name)` talks to one of its processes."""

    data_dir: Path
    port_base: int
    env: dict[str, str]
    nats: list[EmbeddedNats]  # one embedded server, or the nodes of a cluster
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    replica_ports: dict[str, int] = field(default_factory=dict)  # "payment#2" -> its own port

    @property
    def settings(self) -> Settings:
        return Settings(port_base=self.port_base, data_dir=self.data_dir)

    def url(self, name: str) -> str:
        if name in self.replica_ports:
            return f"http://127.0.0.1:{self.replica_ports[name]}"
        return self.settings.url(name)

    def http(self, name: str) -> httpx.Client:
        return httpx.Client(base_url=self.url(name), timeout=15)

    def as_operator(self, callee: str) -> dict[str, str]:
        """The operator's token for one service, from the shop's own keys."""
        return as_operator(program_of(callee), self.settings)

    def as_service(self, caller: str, callee: str) -> dict[str, str]:
        return as_service(caller, callee, self.settings)

    def as_customer(self, customer_id: str) -> dict[str, str]:
        """A customer token as Account signs them (tests that sign in use Account's own)."""
        return as_customer(customer_id, self.settings)

    def command(self, name: str) -> list[str]:
        cli = [sys.executable, "-m", "eventshop.cli.main"]
        name = program_of(name)
        if name in SERVICES:
            return [*cli, "serve", name]
        if name in ("frontend", "console"):
            return [*cli, name]
        port = str(self.settings.port(name))
        data = str(self.data_dir / "sandboxes" / name)
        extra = ["--smtp-port", str(self.settings.port("smtp"))] if name == "mail" else []
        return [*cli, "sandbox", name, "--port", port, "--data-dir", data, *extra]

    def start(self, name: str) -> None:
        log = open(self.data_dir / "logs" / f"{name}.log", "ab")  # noqa: SIM115
        env = self.env
        if name in self.replica_ports:
            env = {**env, f"EVENTSHOP_{env_key(program_of(name))}_PORT": str(self.replica_ports[name])}
        self.processes[name] = subprocess.Popen(
            self.command(name), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_replica(self, service: str) -> str:
        """A second process of `service` on its own port, sharing the first one's database and broker."""
        name = f"{service}#2"
        self.replica_ports[name] = free_port()
        self.start(name)
        return name

    def health_url(self, name: str) -> str:
        return f"{self.url(name)}/health" + ("/ready" if program_of(name) in [*SERVICES, "frontend", "console"] else "")

    def wait_ready(self, names: list[str], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        pending = list(names)
        while pending:
            name = pending[0]
            process = self.processes[name]
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")
            if answers(self.health_url(name)):
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not ready:\n{self.log_tail(name)}")
            time.sleep(0.1)

    def console(self) -> str:
        """The operator console's URL, started on first use (most tests need none)."""
        if "console" not in self.processes or self.processes["console"].poll() is not None:
            self.start("console")
            self.wait_ready(["console"])
        return self.url("console")

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.data_dir / "logs" / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes[name]
        process.send_signal(sig)
        process.wait(timeout=30)

    def restart(self, name: str) -> None:
        self.start(name)
        self.wait_ready([name])

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        for node in self.nats:
            node.stop()


def broker_secrets(data_dir: Path) -> Path:
    """Where `eventshop up` keeps the broker credentials, and so where the shop's services look for theirs."""
    return data_dir / "secrets" / "nats"


def start_shop(data_dir: Path, cluster: list[EmbeddedNats] | None = None, **extra_env: str) -> Shop:
    """Every process of the shop; on one embedded NATS server, or on `cluster` (streams with 3 replicas,
    started with `secrets_dir=broker_secrets(data_dir)`)."""
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    port_base = free_port_base()
    nats = cluster or [start_broker(data_dir / "nats", broker_secrets(data_dir), port=port_base + PORT_OFFSETS["nats"])]
    if cluster:
        in_thread(set_up_streams(",".join(node.url for node in nats), 3, operator_login(nats[0])))
    env = {
        **os.environ,
        "EVENTSHOP_PORT_BASE": str(port_base),
        "EVENTSHOP_DATA_DIR": str(data_dir),
        "EVENTSHOP_NATS_URL": ",".join(node.url for node in nats),
        "EVENTSHOP_STREAM_REPLICAS": str(min(len(nats), 3)),
        "EVENTSHOP_RETRY_BASE_SECONDS": "0.1",
        "EVENTSHOP_RETRY_MAX_SECONDS": "1.0",
        "EVENTSHOP_ACK_WAIT_SECONDS": "8",  # a killed service's deliveries in hand come back sooner
        "EVENTSHOP_SMTP_PORT": str(port_base + PORT_OFFSETS["smtp"]),
        "EVENTSHOP_LOGISTICS_SYSTEM_STEP_SECONDS": "2",
        "EVENTSHOP_FRONTEND_SECURE_COOKIES": "false",  # the shop is served over plain http here
        "EVENTSHOP_CONSOLE_SECURE_COOKIES": "false",
        **extra_env,
    }
    for name in ("EVENTSHOP_SMTP_HOST",):
        env.pop(name, None)
    ensure_keys(data_dir / "secrets" / "http")  # as `eventshop up` does
    shop = Shop(data_dir, port_base, env, nats)
    try:
        for name in SANDBOXES:
            shop.start(name)
        shop.wait_ready(SANDBOXES)
        for name in SERVICES:
            shop.start(name)
        shop.wait_ready(SERVICES)
        shop.start("frontend")
        shop.wait_ready(["frontend"])
    except BaseException:
        shop.stop()
        raise
    return shop
