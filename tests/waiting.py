"""Waiting for something to become true in a test: polling with a deadline, and a health check that answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx


def until(check: Callable[[], Any], timeout: float = 30.0, message: str = "condition", interval: float = 0.2) -> Any:
    """Call `check` until it returns something truthy and return that; after `timeout` s fail with `message`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {message}; last {value!r}")
        time.sleep(interval)


async def eventually(
    check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05, message: str = "condition"
) -> Any:
    """`until` for async tests: `check` may be sync or async, and the event loop keeps running while it waits."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {message}; last value {last!r}")
        await asyncio.sleep(interval)


def answers(url: str, timeout: float = 1.0) -> bool:
    """True when `url` answers 200 now; False while nothing listens, the connection fails or it is not ready."""
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.TransportError:
        return False
