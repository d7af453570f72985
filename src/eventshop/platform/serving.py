"""Runs an ASGI app under uvicorn with our own signal handling: SIGINT/SIGTERM mean a graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Generator
from typing import Any

import uvicorn


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The caller installs the handlers; uvicorn must not re-raise the signal afterwards.
        yield


async def serve_app(app: Any, host: str, port: int, stop: asyncio.Event | None = None) -> None:
    """Serve until SIGINT/SIGTERM (or `stop` is set), then shut down via the app's lifespan."""
    server = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, log_config=None,
                                   timeout_graceful_shutdown=5))
    loop = asyncio.get_running_loop()

    def request_exit() -> None:
        server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, request_exit)
    watcher = None
    if stop is not None:

        async def watch() -> None:
            await stop.wait()
            request_exit()

        watcher = asyncio.create_task(watch())
    try:
        await server.serve()
    finally:
        if watcher:
            watcher.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if server.started is False and not server.should_exit:
        raise OSError(f"could not serve on {host}:{port}")


def run_app(app: Any, host: str, port: int) -> None:
    asyncio.run(serve_app(app, host, port))
