"""The HTTP server every process runs: an idle keep-alive connection outlives the clients' own pools."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from eventshop.platform.serving import KEEP_ALIVE_SECONDS
from tests.conftest import serving

REQUEST = b"GET /ping HTTP/1.1\r\nHost: test\r\n\r\n"


async def test_a_connection_idle_longer_than_the_pools_keep_it_is_still_served() -> None:
    """A server closing idle connections before its clients do races their reuse (a write then fails with
    "server disconnected"); aiohttp keeps them 30 s and httpx 5 s, so the server must keep them longer."""
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    assert KEEP_ALIVE_SECONDS > 30
    async with serving(app) as url:
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in range(2):
                writer.write(REQUEST)
                await writer.drain()
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
                assert head.startswith(b"HTTP/1.1 200"), head
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length"))
                await reader.readexactly(length)
                await asyncio.sleep(6)  # past uvicorn's default keep-alive of 5 s
        finally:
            writer.close()
