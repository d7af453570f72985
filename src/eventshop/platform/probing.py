"""Asking one process of the shop how it is: its health endpoint over HTTP, or for the broker its greeting."""

from __future__ import annotations

import asyncio
import http.client
import socket
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PROBE_SECONDS = 2.0  # a process that takes longer to answer a health check is reported as not responding


@dataclass(frozen=True)
class Answer:
    """What one health check found."""

    responded: bool  # it answered at all (a 503 is an answer)
    ready: bool = False
    listening: bool = True  # something accepted the connection (a stopped process's socket still does)
    problem: str = ""  # why not ready or not responding; empty when ready
    checks: dict[str, Any] = field(default_factory=dict)  # a service's /health/ready checks


def ask(url: str | None, port: int | None, timeout: float = PROBE_SECONDS,
        client: httpx.Client | None = None) -> Answer:
    """GET `url` (200 is ready), or with no URL greet the broker on `port`. A caller that asks often passes one
    `client` (a new one per request costs milliseconds of CPU, mostly its SSL context)."""
    if url is None:
        return greet_broker(port, timeout)
    try:
        response = client.get(url, timeout=timeout) if client else httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return unanswered(exc, timeout)
    return answer_of(response)


async def ask_async(url: str | None, port: int | None, client: httpx.AsyncClient,
                    timeout: float = PROBE_SECONDS) -> Answer:
    """`ask` on the caller's event loop, with its one client: many processes asked at once cost one timeout."""
    if url is None:
        return await greet_broker_async(port, timeout)
    try:
        response = await client.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return unanswered(exc, timeout)
    return answer_of(response)


class LiveProbe:
    """Asks one process "do you answer?" again and again over one kept-alive connection, with the standard
    library's HTTP client: about a third of httpx's CPU per request, for `eventshop up`, which asks every process
    every two seconds. Not thread-safe: one probe per process, asked by one thread at a time."""

    def __init__(self, url: str, timeout: float = PROBE_SECONDS) -> None:
        parts = urllib.parse.urlsplit(url)
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port
        self.target = parts.path + (f"?{parts.query}" if parts.query else "") or "/"
        self.timeout = timeout
        self.connection: http.client.HTTPConnection | None = None

    def responded(self) -> bool:
        """It sent an HTTP response (any status: a 503 is an answer) within the timeout."""
        # A kept-alive connection the server closed meanwhile (a restart) fails once: then once more on a new one.
        # A timeout is not retried: a frozen process costs one timeout.
        for _ in range(2 if self.connection is not None else 1):
            try:
                return self._get()
            except TimeoutError:
                self.close()
                return False
            except (OSError, http.client.HTTPException):
                self.close()
        return False

    def _get(self) -> bool:
        if self.connection is None:
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self.connection = kind(self.host, self.port, timeout=self.timeout)
        self.connection.request("GET", self.target)
        self.connection.getresponse().read()
        return True

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def unanswered(exc: httpx.HTTPError, timeout: float) -> Answer:
    if isinstance(exc, httpx.ConnectError):
        return Answer(responded=False, listening=False, problem="nothing listening")
    if isinstance(exc, httpx.TimeoutException):
        return Answer(responded=False, problem=f"no answer within {timeout:g}s")
    return Answer(responded=False, problem=f"{type(exc).__name__}: {exc}")


def answer_of(response: httpx.Response) -> Answer:
    try:
        body = response.json()
    except ValueError:
        body = {}
    checks = body.get("checks", {}) if isinstance(body, dict) else {}
    if response.status_code == 200:
        return Answer(responded=True, ready=True, checks=checks)
    return Answer(responded=True, problem=failing(checks) or f"HTTP {response.status_code}", checks=checks)


def failing(checks: dict[str, Any]) -> str:
    """The checks that are not ok, e.g. `broker unavailable, consumers missing: TimeoutError`."""
    return ", ".join(f"{name} {value}" for name, value in checks.items() if name != "outbox" and value != "ok")


def greet_broker(port: int | None, timeout: float) -> Answer:
    """A NATS server sends its INFO line as soon as a client connects; a frozen one accepts and stays silent."""
    if port is None:
        return Answer(responded=False, listening=False, problem="no port")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
            greeting = connection.recv(4)
    except TimeoutError:
        return Answer(responded=False, problem=f"no greeting within {timeout:g}s")
    except OSError:
        return Answer(responded=False, listening=False, problem="nothing listening")
    return greeted(greeting)


async def greet_broker_async(port: int | None, timeout: float) -> Answer:
    if port is None:
        return Answer(responded=False, listening=False, problem="no port")
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    except TimeoutError:
        return Answer(responded=False, problem=f"no greeting within {timeout:g}s")
    except OSError:
        return Answer(responded=False, listening=False, problem="nothing listening")
    try:
        greeting = await asyncio.wait_for(reader.read(4), timeout)
    except TimeoutError:
        return Answer(responded=False, problem=f"no greeting within {timeout:g}s")
    except OSError:
        return Answer(responded=False, listening=False, problem="nothing listening")
    finally:
        writer.close()
    return greeted(greeting)


def greeted(greeting: bytes) -> Answer:
    if greeting.startswith(b"INFO"):
        return Answer(responded=True, ready=True)
    return Answer(responded=True, problem="not a NATS server greeting")


def stopped(pid: int) -> bool:
    """The process is stopped (SIGSTOP, a debugger): it holds its port and answers nothing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] in ("T", "t")
