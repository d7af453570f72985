"""The sandboxes served for real by uvicorn on free loopback ports: shared ones in a background thread for
tests that leave no mark on others, and one per test (in the test's own event loop) for the rest."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from eventshop.sandboxes.faults import FaultConfig
from eventshop.sandboxes.logistics_system.app import create_app as logistics_app
from eventshop.sandboxes.mail.app import run_mail
from eventshop.sandboxes.payment_system.app import create_app as payment_app
from eventshop.sandboxes.runner import bind, serve_sandbox
from eventshop.services.notification.email_sender import EmailSender, SmtpSettings
from tests.waiting import answers

# tok_timeout answers this late in tests: longer than the adapters' short test timeouts, short enough to wait for.
TOK_TIMEOUT_SECONDS = 1.5
STEP_SECONDS = 0.2
START_DEADLINE = 10.0
OPERATOR_KEY = "operator-key-for-tests"  # the sandboxes a test starts itself take it for their fault switches
AS_OPERATOR = {"Authorization": f"Bearer {OPERATOR_KEY}"}


@dataclass
class Sandbox:
    url: str
    http: httpx.AsyncClient

    async def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replace the failure injection at run time through the admin endpoint, with the tests' operator key."""
        response = await self.http.put("/admin/faults", json=faults, headers=AS_OPERATOR)
        assert response.status_code == 200, response.text
        return dict(response.json())


@dataclass
class MailSandbox(Sandbox):
    smtp_port: int

    def sender(self, **settings: Any) -> EmailSender:
        return EmailSender(SmtpSettings(host="127.0.0.1", port=self.smtp_port, timeout=3, **settings))


async def wait_healthy(url: str, server: asyncio.Task[None]) -> None:
    deadline = asyncio.get_running_loop().time() + START_DEADLINE
    async with httpx.AsyncClient(base_url=url, timeout=1) as http:
        while True:
            if server.done():
                server.result()  # raises what stopped it
                raise AssertionError(f"the sandbox at {url} stopped before it was healthy")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/health")).status_code == 200:
                    return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the sandbox at {url} was not healthy within {START_DEADLINE}s")
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[Sandbox]:
    """Serve `app` until the block ends; requests still running then get a second to finish."""
    sock = bind("127.0.0.1", 0, "a test sandbox")
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop = asyncio.Event()
    server = asyncio.create_task(serve_sandbox(app, sock, stop, handle_signals=False, graceful_seconds=1))
    try:
        await wait_healthy(url, server)
        async with httpx.AsyncClient(base_url=url, timeout=5) as http:
            yield Sandbox(url, http)
    finally:
        stop.set()
        await server


@contextlib.asynccontextmanager
async def mail_catcher(data_dir: Path, faults: FaultConfig | None = None, operator_key: str = OPERATOR_KEY
                       ) -> AsyncIterator[MailSandbox]:
    """A mail sandbox of the test's own, its fault switches open to the tests' operator key."""
    web, smtp = bind("127.0.0.1", 0, "a test inbox"), bind("127.0.0.1", 0, "a test SMTP server")
    url, smtp_port = f"http://127.0.0.1:{web.getsockname()[1]}", int(smtp.getsockname()[1])
    stop = asyncio.Event()
    server = asyncio.create_task(run_mail(data_dir, web, smtp, faults or FaultConfig(), stop, handle_signals=False,
                                          operator_key=operator_key))
    try:
        await wait_healthy(url, server)
        async with httpx.AsyncClient(base_url=url, timeout=5) as http:
            yield MailSandbox(url, http, smtp_port)
    finally:
        stop.set()
        await server


class SmtpRelay:
    """A TCP relay in front of an SMTP server: counts the connections made through it and can drop them
    all at once, as a server restart or an idle timeout on the provider's side would."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.connections = 0
        self.port = 0
        self._open: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._open += [client_writer, server_writer]
        await asyncio.gather(_pipe(client_reader, server_writer), _pipe(server_reader, client_writer),
                             return_exceptions=True)

    def drop(self) -> None:
        for writer in self._open:
            writer.close()
        self._open.clear()

    async def close(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def smtp_relay(target_port: int) -> AsyncIterator[SmtpRelay]:
    relay = SmtpRelay(target_port)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.close()


def unique(prefix: str) -> str:
    """Shared sandboxes keep what every test did: each test uses its own keys, references and addresses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class SandboxThread:
    """An event loop in a background thread serving sandboxes for the whole test session."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sandboxes", daemon=True)
        self.thread.start()
        self.running: list[tuple[asyncio.Event, Any]] = []

    def serve(self, start: Coroutine[Any, Any, None], stop: asyncio.Event, url: str) -> None:
        future = asyncio.run_coroutine_threadsafe(start, self.loop)
        self.running.append((stop, future))
        deadline = time.monotonic() + START_DEADLINE
        while True:
            assert not future.done(), f"the sandbox at {url} stopped: {future.exception()!r}"
            if answers(f"{url}/health"):
                return
            assert time.monotonic() < deadline, f"the sandbox at {url} was not healthy within {START_DEADLINE}s"
            time.sleep(0.02)

    def app(self, app: Any) -> str:
        sock = bind("127.0.0.1", 0, "a shared test sandbox")
        url, stop = f"http://127.0.0.1:{sock.getsockname()[1]}", asyncio.Event()
        self.serve(serve_sandbox(app, sock, stop, handle_signals=False, graceful_seconds=1), stop, url)
        return url

    def mail(self, data_dir: Path) -> tuple[str, int]:
        web, smtp = bind("127.0.0.1", 0, "a shared test inbox"), bind("127.0.0.1", 0, "a shared SMTP server")
        url, stop = f"http://127.0.0.1:{web.getsockname()[1]}", asyncio.Event()
        self.serve(run_mail(data_dir, web, smtp, FaultConfig(), stop, handle_signals=False), stop, url)
        return url, int(smtp.getsockname()[1])

    def close(self) -> None:
        for stop, future in self.running:
            self.loop.call_soon_threadsafe(stop.set)
            future.result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass(frozen=True)
class SharedSandboxes:
    payment_system: str
    logistics_system: str
    mail: tuple[str, int]


@pytest.fixture(scope="session")
def shared_sandboxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedSandboxes]:
    background = SandboxThread()
    try:
        yield SharedSandboxes(
            payment_system=background.app(payment_app(tmp_path_factory.mktemp("payment"), FaultConfig(),
                                                      timeout_seconds=TOK_TIMEOUT_SECONDS)),
            logistics_system=background.app(logistics_app(tmp_path_factory.mktemp("logistics"), FaultConfig(),
                                                          step_seconds=STEP_SECONDS)),
            mail=background.mail(tmp_path_factory.mktemp("mail")),
        )
    finally:
        background.close()


@pytest_asyncio.fixture
async def payment_system(shared_sandboxes: SharedSandboxes) -> AsyncIterator[Sandbox]:
    """Shared: do not change its faults; use `serving(create_app(...))` for that."""
    async with httpx.AsyncClient(base_url=shared_sandboxes.payment_system, timeout=5) as http:
        yield Sandbox(shared_sandboxes.payment_system, http)


@pytest_asyncio.fixture
async def logistics_system(shared_sandboxes: SharedSandboxes) -> AsyncIterator[Sandbox]:
    """Shared: do not change its faults; use `serving(create_app(...))` for that."""
    async with httpx.AsyncClient(base_url=shared_sandboxes.logistics_system, timeout=5) as http:
        yield Sandbox(shared_sandboxes.logistics_system, http)


@pytest_asyncio.fixture
async def mail(shared_sandboxes: SharedSandboxes) -> AsyncIterator[MailSandbox]:
    """Shared: do not change its faults or delete its messages; use `mail_catcher(...)` for that."""
    url, smtp_port = shared_sandboxes.mail
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        yield MailSandbox(url, http, smtp_port)
