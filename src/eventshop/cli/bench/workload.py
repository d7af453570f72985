"""Shoppers for the end-to-end bench: customers placing orders through the public APIs, closed or open loop.

An order counts as final when its terminal event is seen on the broker (a core NATS subscription),
so that the Order service is not polled while its CPU is being measured.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from eventshop.contracts.registry import TOPICS
from eventshop.platform.identity import operator_headers
from eventshop.platform.outbox import CHAOS_COPY_SUFFIX
from eventshop.platform.settings import Settings

# Order publishes OrderCancelledEvent with the state change (outbox), so it is final when seen; for
# ShippingProcessedEvent the Order service still has to record `shipped`, which the timeline fetch confirms.
TERMINAL_EVENTS = frozenset({"ShippingProcessedEvent", "OrderCancelledEvent"})
GOOD_CARD = "tok_visa"
SLOW_CARD = "tok_timeout"
BENCH_PASSWORD = "bench-password-kettle-17"


@dataclass
class PlacedOrder:
    order_id: str
    checkout_ms: float  # the checkout request as the shopper saw it
    slow_card: bool = False
    terminal_event: str | None = None
    final_seen: float = 0.0  # monotonic time the terminal event arrived
    placed_at: float = field(default_factory=time.monotonic)  # when the checkout answered
    status: str | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)


class FinalityWatch:
    """Every event on every topic: counts them (once per event id) and resolves waiters on terminal events."""

    def __init__(self) -> None:
        self.terminal: dict[str, str] = {}
        self.waiters: dict[str, asyncio.Future[str]] = {}
        self.seen_ids: set[str] = set()
        self.events = 0

    async def start(self, nc: NATS) -> None:
        for topic in TOPICS:
            await nc.subscribe(f"{topic}.>", cb=self._on_message)

    def reset_count(self) -> None:
        self.events = 0

    async def _on_message(self, msg: Msg) -> None:
        # The relay names each event in its headers, so only a terminal event's body is read (for its order id).
        headers = msg.headers or {}
        event_id, event_type = headers.get("Nats-Msg-Id"), headers.get("Ce-Type")
        if event_id is None or event_type is None:
            return
        event_id = event_id.removesuffix(CHAOS_COPY_SUFFIX)
        if event_id in self.seen_ids:  # the relay may publish an event twice; JetStream dedups, we must too
            return
        self.seen_ids.add(event_id)
        self.events += 1
        if event_type not in TERMINAL_EVENTS:
            return
        try:
            order_id = json.loads(msg.data)["data"].get("order_id")
        except (ValueError, KeyError, AttributeError):
            return
        if isinstance(order_id, str):
            self.terminal.setdefault(order_id, event_type)
            waiter = self.waiters.pop(order_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(event_type)

    def wait(self, order_id: str) -> asyncio.Future[str]:
        """Resolves with the terminal event's type; at once if it was seen before the checkout answered."""
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if order_id in self.terminal:
            waiter.set_result(self.terminal[order_id])
        else:
            self.waiters[order_id] = waiter
        return waiter


HTTP_ERRORS = (aiohttp.ClientError, TimeoutError)


class Shoppers:
    """Customers and their orders, through the public Account and Shopping Cart APIs only.

    On aiohttp's client, whose CPU per request is a fraction of httpx's: the load generator shares the shop's
    cores. Use as `async with Shoppers(...) as shoppers:`, which closes its connections.
    """

    def __init__(self, settings: Settings, products: list[str], watch: FinalityWatch, connections: int = 100):
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30),
                                          connector=aiohttp.TCPConnector(limit=connections))
        self.settings = settings
        self.products = products
        self.watch = watch
        self.orders: list[PlacedOrder] = []
        self.errors: Counter[str] = Counter()
        self.placed = 0
        self.tokens: dict[str, str] = {}  # customer id -> the bearer token Account gave at sign-in
        self.operator = operator_headers(settings, "order")

    async def __aenter__(self) -> Shoppers:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()

    async def _post(self, url: str, body: dict[str, Any], headers: dict[str, str] | None = None
                    ) -> tuple[int, Any]:
        async with self.http.post(url, json=body, headers=headers) as response:
            return response.status, await response.json() if response.status < 300 else await response.text()

    async def create_customer(self, card: str = GOOD_CARD) -> str:
        """Sign up and sign in, as a shopper does; the customer's token authorizes the cart calls."""
        email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
        status, account = await self._post(f"{self.settings.url('account')}/accounts", {
            "name": "Bench Shopper", "email": email, "password": BENCH_PASSWORD, "payment_token": card,
            "address": {"street": "Alexanderplatz 1", "city": "Berlin", "postcode": "10178", "country": "DE"},
        })
        if status >= 300:
            raise RuntimeError(f"signing up a bench customer: HTTP {status} {account}")
        customer_id = str(account["id"])
        status, session = await self._post(f"{self.settings.url('account')}/sessions",
                                           {"email": email, "password": BENCH_PASSWORD})
        if status >= 300:
            raise RuntimeError(f"signing in a bench customer: HTTP {status} {session}")
        self.tokens[customer_id] = str(session["token"])
        return customer_id

    def as_customer(self, customer_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[customer_id]}"}

    async def create_customers(self, count: int) -> list[str]:
        limit = asyncio.Semaphore(8)  # password hashing makes account creation slow; do not swamp Account

        async def one() -> str:
            async with limit:
                return await self.create_customer()

        return list(await asyncio.gather(*(one() for _ in range(count))))

    async def place_order(self, customer_id: str, n: int, slow_card: bool = False) -> PlacedOrder | None:
        """Add one line and check out; None (and an error counted) if the shop refused or failed."""
        cart = f"{self.settings.url('cart')}/carts/{customer_id}"
        try:
            added, _ = await self._post(f"{cart}/lines", {"product_id": self.products[n % len(self.products)],
                                                          "quantity": 1}, self.as_customer(customer_id))
            if added != 200:
                self.errors[f"add line: HTTP {added}"] += 1
                return None
            checkout_started = time.perf_counter()
            status, body = await self._post(f"{cart}/checkout", {}, self.as_customer(customer_id))
        except HTTP_ERRORS as exc:
            self.errors[f"{type(exc).__name__}"] += 1
            return None
        if status != 201:
            self.errors[f"checkout: HTTP {status}"] += 1
            return None
        placed = PlacedOrder(str(body["order_id"]), (time.perf_counter() - checkout_started) * 1000,
                             slow_card=slow_card)
        self.orders.append(placed)
        self.placed += not slow_card
        return placed

    async def finish(self, placed: PlacedOrder, deadline: float) -> bool:
        """Wait (until `deadline`, monotonic) for the order's terminal event; whether it came."""
        waiter = self.watch.wait(placed.order_id)
        try:
            placed.terminal_event = await asyncio.wait_for(waiter, timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            self.watch.waiters.pop(placed.order_id, None)
            return False
        placed.final_seen = time.monotonic()
        return True


async def closed_loop(shoppers: Shoppers, customers: list[str], duration: float, drain: float) -> None:
    """Each customer places its next order only once its previous one is final, until `duration` is over."""
    end = time.monotonic() + duration

    async def shopper(index: int, customer: str) -> None:
        n = index
        while time.monotonic() < end:
            placed = await shoppers.place_order(customer, n)
            n += len(customers)
            if placed is None:
                await asyncio.sleep(0.1)  # a refused checkout must not become a tight loop
            elif not await shoppers.finish(placed, end + drain):
                return

    await asyncio.gather(*(shopper(i, c) for i, c in enumerate(customers)))


async def open_loop(shoppers: Shoppers, customers: list[str], rate: float, duration: float, drain: float) -> None:
    """Orders start at `rate` per second whatever the shop's state; a customer serves one checkout at a time."""
    free: asyncio.Queue[str] = asyncio.Queue()
    for customer in customers:
        free.put_nowait(customer)
    started = time.monotonic()
    pending: list[asyncio.Task[None]] = []

    async def one(n: int) -> None:
        customer = await free.get()
        try:
            placed = await shoppers.place_order(customer, n)
        finally:
            free.put_nowait(customer)  # its cart is ordered: the customer may shop again at once
        if placed is not None:
            await shoppers.finish(placed, started + duration + drain)

    n = 0
    while n / rate < duration:
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        pending.append(asyncio.create_task(one(n)))
        n += 1
    await asyncio.gather(*pending)


async def fetch_timelines(shoppers: Shoppers, orders: list[PlacedOrder], tries: int = 10) -> None:
    """One GET per order (more only while Order has not yet recorded the terminal event)."""
    limit = asyncio.Semaphore(16)
    url = shoppers.settings.url("order")

    async def one(placed: PlacedOrder) -> None:
        async with limit:
            for _ in range(tries):
                try:
                    async with shoppers.http.get(f"{url}/orders/{placed.order_id}",
                                                 headers=shoppers.operator) as response:
                        body = await response.json() if response.status == 200 else None
                except HTTP_ERRORS:
                    await asyncio.sleep(0.2)
                    continue
                if body is not None:
                    placed.status, placed.timeline = str(body["status"]), list(body["timeline"])
                    if placed.status in ("shipped", "cancelled") or placed.terminal_event is None:
                        return
                await asyncio.sleep(0.2)

    await asyncio.gather(*(one(o) for o in orders))


async def progress_ticker(shoppers: Shoppers, update: Callable[[float, int, int], None], duration: float) -> None:
    """Calls `update(elapsed, placed, final)` four times a second until cancelled."""
    started = time.monotonic()
    while True:
        final = sum(1 for o in shoppers.orders if o.terminal_event and not o.slow_card)
        update(min(duration, time.monotonic() - started), shoppers.placed, final)
        await asyncio.sleep(0.25)
