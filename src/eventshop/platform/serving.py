"""Runs an ASGI app under uvicorn with our own signal handling: SIGINT/SIGTERM mean a graceful stop.

The socket is bound before uvicorn starts, so a taken port is one clear error (`PortInUse`).
Processes run on uvloop (`run`), and uvicorn's `http="auto"` picks httptools: both come with
uvicorn[standard]. uvicorn's own `loop="auto"` does not apply, since we start the loop ourselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Coroutine, Generator
from typing import Any, NoReturn, TypeVar

import uvicorn
import uvloop

T = TypeVar("T")


# Idle keep-alive connections are kept longer than any client here keeps them (aiohttp 30 s, httpx 5 s): a server
# that closed first (uvicorn's default is 5 s) races a client reusing the connection, and a write then fails
# with "server disconnected" although the service is fine.
KEEP_ALIVE_SECONDS = 75


class PortInUse(OSError):
    def __init__(self, host: str, port: int, what: str) -> None:
        super().__init__(f"port {port} on {host} for {what} is already in use")
        self.port = port


def bind(host: str, port: int, what: str) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one (see `sock.getsockname()`)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise PortInUse(host, port, what) from None
        raise
    sock.listen(128)
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # serve_socket installs its own handlers; uvicorn must not re-raise the signal afterwards.
        yield


def server_config(app: Any, host: str, port: int, graceful_seconds: int) -> uvicorn.Config:
    # ws="none": no process serves WebSockets (the order page's live updates are server-sent events), and
    # uvicorn's "auto" would import the websockets library into each of them.
    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, log_config=None,
                          timeout_graceful_shutdown=graceful_seconds, timeout_keep_alive=KEEP_ALIVE_SECONDS,
                          ws="none")


async def serve_socket(
    app: Any,
    sock: socket.socket,
    stop: asyncio.Event | None = None,
    *,
    handle_signals: bool = True,
    graceful_seconds: int = 5,
) -> bool:
    """Serve until SIGINT/SIGTERM (main thread only) or `stop` is set; a second signal stops at once.

    Returns whether the app started (its lifespan start-up succeeded).
    """
    host, port = sock.getsockname()[:2]
    server = _Server(server_config(app, host, port, graceful_seconds))
    loop = asyncio.get_running_loop()
    in_main_thread = threading.current_thread() is threading.main_thread()
    signals = (signal.SIGINT, signal.SIGTERM) if handle_signals and in_main_thread else ()

    def request_exit() -> None:
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True

    for sig in signals:
        loop.add_signal_handler(sig, request_exit)
    watcher = asyncio.create_task(_exit_when_set(stop, request_exit)) if stop is not None else None
    try:
        await server.serve(sockets=[sock])
    finally:
        if watcher is not None:
            watcher.cancel()
        for sig in signals:
            loop.remove_signal_handler(sig)
        sock.close()
    return bool(server.started) or server.should_exit


async def _exit_when_set(stop: asyncio.Event, request_exit: Callable[[], None]) -> None:
    await stop.wait()
    request_exit()


async def serve_app(app: Any, host: str, port: int, stop: asyncio.Event | None = None) -> None:
    """Serve a service or the frontend on host:port until a signal or `stop`."""
    if not await serve_socket(app, bind(host, port, "the app"), stop):
        raise OSError(f"could not serve on {host}:{port}")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on a uvloop event loop: the loop of every service, sandbox and frontend process."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def run_app(app: Any, host: str, port: int) -> None:
    run(serve_app(app, host, port))


def exit_now(code: int = 0) -> NoReturn:
    """End a process whose graceful stop is done (requests answered, messages acked, databases and broker
    connections closed) without the interpreter's teardown, which collects the whole heap: about a second of
    CPU per service, several seconds when the eight services of `eventshop up` stop together on two cores."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
