"""A continuous pull from one durable consumer: messages arrive as they are stored, never more in flight than allowed.

nats-py's `fetch(batch, timeout)` returns a partly filled batch only when its timeout runs out, so an idle
consumer handed one message waits for the rest of the timeout before handling it. Instead this keeps pull
requests open (JetStream's own flow control, as the newer clients' `consume()` does) and tops them up as
deliveries finish: each message reaches the worker as soon as the server sends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

log = logging.getLogger(__name__)

STATUS = "Status"
PENDING_MESSAGES = "Nats-Pending-Messages"
HEARTBEAT = "100"
EXPIRES_SECONDS = 30.0
HEARTBEAT_SECONDS = 2.0


@dataclass
class _Request:
    remaining: int
    deadline: float


class PullFeed:
    """Keeps up to `credit` messages requested or being handled; calls `deliver` for each message, in order."""

    def __init__(self, nc: NATS, prefix: str, stream: str, durable: str, credit: int,
                 deliver: Callable[[Msg], None]) -> None:
        self.nc = nc
        self.api_subject = f"{prefix}.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self.credit = max(1, credit)
        self.deliver = deliver
        self.in_hand = 0  # delivered to the worker and not yet finished
        self.requests: dict[str, _Request] = {}  # open pull requests, oldest first
        self.inbox = nc.new_inbox()
        self.sub: Subscription | None = None
        self.counter = 0
        self.last_heard = 0.0
        self.paused = False

    @property
    def outstanding(self) -> int:
        return sum(request.remaining for request in self.requests.values())

    async def start(self) -> None:
        self.sub = await self.nc.subscribe(f"{self.inbox}.*", cb=self._on_message)
        self.last_heard = asyncio.get_running_loop().time()
        await self.top_up()

    async def _on_message(self, msg: Msg) -> None:
        self.last_heard = asyncio.get_running_loop().time()
        status = msg.headers.get(STATUS) if msg.headers else None
        if not status:
            # A stored message arrives under its own subject, so it is counted against the oldest
            # open request: the server fills waiting requests first come, first served.
            for token, request in self.requests.items():
                request.remaining -= 1
                if request.remaining <= 0:
                    del self.requests[token]
                break
            self.in_hand += 1
            self.deliver(msg)
            return
        if status == HEARTBEAT:
            return
        # 408 expired, 409 limits, leadership change or a deleted consumer: that request is over.
        # Status messages come to the request's own reply subject.
        self.requests.pop(msg.subject.rsplit(".", 1)[-1], None)
        if not status.startswith("408"):
            log.info("pull request on %s ended: %s %s", self.api_subject, status,
                     msg.headers.get("Description", "") if msg.headers else "")
        await self.top_up()

    def finished(self) -> None:
        """One delivered message is acked, nakked or parked: its credit is free again."""
        self.in_hand -= 1

    async def top_up(self) -> None:
        """Ask for more once a quarter of the credit is free, so requests stay few and large."""
        if self.paused or self.sub is None or not self.nc.is_connected:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        for token, request in list(self.requests.items()):
            if request.deadline < now:  # the server's 408 was lost (reconnect): forget it
                del self.requests[token]
        if now - self.last_heard > 2.5 * HEARTBEAT_SECONDS:
            self.requests.clear()  # no heartbeat: the server no longer holds our requests
            self.last_heard = now
        free = self.credit - self.in_hand - self.outstanding
        if free < max(1, self.credit // 4):
            return
        self.counter += 1
        token = str(self.counter)
        self.requests[token] = _Request(free, now + EXPIRES_SECONDS + 2.0)
        pull = {"batch": free, "expires": int(EXPIRES_SECONDS * 1e9), "idle_heartbeat": int(HEARTBEAT_SECONDS * 1e9)}
        try:
            await self.nc.publish(self.api_subject, json.dumps(pull).encode(), reply=f"{self.inbox}.{token}")
        except Exception as exc:  # disconnected: the watchdog asks again
            self.requests.pop(token, None)
            log.debug("pull request not sent: %s", exc)

    async def stop(self) -> None:
        self.paused = True
        if self.sub is not None:
            with contextlib.suppress(Exception):
                await self.sub.unsubscribe()
        self.sub = None
