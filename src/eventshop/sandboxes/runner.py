"""Serves a sandbox app under uvicorn on a socket bound beforehand, so a taken port is one clear error."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from eventshop.platform.serving import PortInUse, bind, serve_socket

__all__ = ["GRACEFUL_SECONDS", "PortInUse", "bind", "serve_sandbox"]

# How long a stop waits for requests in flight (a tok_timeout charge sleeps far longer).
GRACEFUL_SECONDS = 2


async def serve_sandbox(
    app: Any,
    sock: socket.socket,
    stop: asyncio.Event | None = None,
    *,
    handle_signals: bool = True,
    graceful_seconds: int = GRACEFUL_SECONDS,
) -> None:
    """Serve until SIGINT/SIGTERM (main thread only) or `stop` is set; a second signal stops at once."""
    await serve_socket(app, sock, stop, handle_signals=handle_signals, graceful_seconds=graceful_seconds)
