"""Each sandbox served for real on a free loopback port inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from eventshop.platform.embedded_nats import free_port
from eventshop.platform.serving import serve_app
from eventshop.sandboxes.mail.app import run_mail


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(serve_app(app, "127.0.0.1", port, stop))
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{url}/health")).status_code == 200:
                    break
            await asyncio.sleep(0.02)
    try:
        yield url
    finally:
        stop.set()
        await task


@contextlib.asynccontextmanager
async def mail_catcher(data_dir: Path) -> AsyncIterator[tuple[str, int]]:
    port, smtp_port = free_port(), free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(run_mail(data_dir, "127.0.0.1", port, smtp_port, stop))
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{url}/health")).status_code == 200:
                    break
            await asyncio.sleep(0.02)
    try:
        yield url, smtp_port
    finally:
        stop.set()
        await task
