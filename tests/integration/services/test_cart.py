"""Shopping Cart with the real Product Catalog and Inventory, and a stand-in Order HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from eventshop.contracts.values import MAX_UNIT_PRICE
from eventshop.platform.db import PLATFORM_TABLES
from eventshop.platform.embedded_nats import free_port
from eventshop.platform.identity import load_keyring
from eventshop.platform.serving import serve_app
from eventshop.platform.settings import Settings
from eventshop.services.cart.service import declare as cart
from eventshop.services.catalog.service import declare as catalog
from eventshop.services.inventory.service import declare as inventory
from tests.conftest import RunningService, create_database, drop_database, eventually, postgres_available, running
from tests.credentials import DEV
from tests.integration.publishing import broker, collect


class StandInOrder:
    """A real HTTP server in the Order Service's place: records every Create Order, answers 201 or 503."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.received: list[dict[str, Any]] = []
        self.callers: list[str] = []
        self.answer = 201
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/orders")
        async def create_order(request: Request) -> JSONResponse:
            body = await request.json()
            self.received.append(body)
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            self.callers.append(str(load_keyring(DEV, "order").verify(token).name))
            if self.answer != 201:
                return JSONResponse({"error": {"code": "unavailable", "message": "try later"}}, self.answer)
            return JSONResponse({"id": body["order_id"], "status": "created", **body}, 201)

        @app.get("/health/live")
        async def live() -> dict[str, str]:
            return {"status": "ok"}

        return app

    async def start(self) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(serve_app(self._app(), "127.0.0.1", self.port, self._stop))
        await eventually(self._answers, timeout=10, message="stand-in Order")

    async def _answers(self) -> bool:
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{self.url}/health/live")).status_code == 200
        except httpx.TransportError:
            return False

    async def stop(self) -> None:
        if self._task is not None:
            self._stop.set()
            await self._task
            self._task = None

    @property
    def order_ids(self) -> list[str]:
        return [str(body["order_id"]) for body in self.received]


@dataclass
class Shop:
    catalog: RunningService
    cart: RunningService
    order: StandInOrder

    async def add_product(self, sku: str, price: int, currency: str = "EUR") -> str:
        body = {"sku": sku, "name": sku.title(), "description": "", "price": price, "currency": currency}
        created = await self.catalog.http.post("/products", json=body)
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    async def reprice(self, product_id: str, sku: str, price: int) -> None:
        body = {"sku": sku, "name": sku.title(), "description": "", "price": price, "currency": "EUR"}
        assert (await self.catalog.http.put(f"/products/{product_id}", json=body)).status_code == 200

    async def add(self, customer: str, product_id: str, quantity: int = 1) -> httpx.Response:
        return await self.cart.http.post(f"/carts/{customer}/lines", json={"product_id": product_id,
                                                                            "quantity": quantity})

    async def checkout(self, customer: str, **body: Any) -> httpx.Response:
        return await self.cart.http.post(f"/carts/{customer}/checkout", json=body)

    async def view(self, customer: str) -> dict[str, Any]:
        found: dict[str, Any] = (await self.cart.http.get(f"/carts/{customer}")).json()
        return found

    async def ordered_events_in_outbox(self) -> int:
        outbox = PLATFORM_TABLES["outbox"]
        query = select(func.count()).select_from(outbox).where(outbox.c.event_type == "ShoppingCartOrderedEvent")
        async with self.cart.context.db.transaction() as uow:
            return int(await uow.session.scalar(query) or 0)


@contextlib.asynccontextmanager
async def shop(settings: Settings) -> AsyncIterator[Shop]:
    order = StandInOrder()
    settings.service_urls["order"] = order.url
    await order.start()
    try:
        async with running(inventory(), settings), running(catalog(), settings) as cat, \
                running(cart(), settings) as carts:
            yield Shop(cat, carts, order)
    finally:
        await order.stop()


def lines_of(view: dict[str, Any]) -> list[tuple[str, int, int]]:
    return [(line["product_id"], line["quantity"], line["line_total"]) for line in view["lines"]]


async def test_lines_can_be_added_changed_and_removed_and_the_total_follows(
    settings: Settings, clean_broker: None
) -> None:
    async with shop(settings) as s:
        mug, tea = await s.add_product("MUG", 1200), await s.add_product("TEA", 499)
        fresh = await s.view("c1")
        assert (fresh["status"], fresh["lines"], fresh["total"], fresh["currency"]) == ("open", [], 0, None)

        await s.add("c1", mug)
        await s.add("c1", mug, 2)
        view = (await s.add("c1", tea)).json()
        assert lines_of(view) == [("mug", 3, 3600), ("tea", 1, 499)]
        assert (view["total"], view["currency"], view["id"]) == (4099, "EUR", fresh["id"])
        first = view["lines"][0]
        assert (first["sku"], first["name"], first["unit_price"]) == ("MUG", "Mug", 1200)

        view = (await s.cart.http.put(f"/carts/c1/lines/{tea}", json={"quantity": 4})).json()
        assert view["total"] == 3600 + 4 * 499
        view = (await s.cart.http.put(f"/carts/c1/lines/{tea}", json={"quantity": 0})).json()
        assert lines_of(view) == [("mug", 3, 3600)]
        view = (await s.cart.http.delete(f"/carts/c1/lines/{mug}")).json()
        assert (view["lines"], view["total"], view["currency"]) == ([], 0, None)
        assert (await s.cart.http.delete(f"/carts/c1/lines/{mug}")).status_code == 200


async def test_bad_quantities_unknown_products_and_mixed_currencies_are_refused(
    settings: Settings, clean_broker: None
) -> None:
    async with shop(settings) as s:
        mug, dollar_mug = await s.add_product("MUG", 1200), await s.add_product("US-MUG", 1300, "USD")
        for quantity in (0, 100):
            assert (await s.add("c2", mug, quantity)).status_code == 422
        await s.add("c2", mug, 98)
        over = await s.add("c2", mug, 2)
        assert over.status_code == 422 and over.json()["error"]["code"] == "invalid_quantity"
        unknown = await s.add("c2", "no-such-product")
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "product_not_found"
        mixed = await s.add("c2", dollar_mug)
        assert mixed.status_code == 422 and mixed.json()["error"]["code"] == "mixed_currency"
        absent = await s.cart.http.put("/carts/c2/lines/tea", json={"quantity": 2})
        assert absent.status_code == 404 and absent.json()["error"]["code"] == "line_not_found"
        for not_a_number in (True, 1.5, "2"):  # JSON booleans, floats and strings are not counts
            refused = await s.cart.http.post("/carts/c2/lines", json={"product_id": mug, "quantity": not_a_number})
            assert refused.status_code == 422, not_a_number
        assert (await s.cart.http.post("/carts/c2/checkout", json={"expected_total": True})).status_code == 422


async def test_a_cart_whose_total_cannot_be_stored_is_refused_at_checkout(
    settings: Settings, clean_broker: None
) -> None:
    async with shop(settings) as s:
        for n in range(3):  # three lines of 99 at the highest unit price: more than any order may total
            await s.add("c9", await s.add_product(f"CAR-{n}", MAX_UNIT_PRICE), 99)
        refused = await s.checkout("c9")
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "total_too_large"
        assert s.order.received == [] and (await s.view("c9"))["status"] == "open"


async def test_an_empty_cart_cannot_be_checked_out(settings: Settings, clean_broker: None) -> None:
    async with shop(settings) as s:
        empty = await s.checkout("c3")
        assert empty.status_code == 422 and empty.json()["error"]["code"] == "empty_cart"
        assert s.order.received == []


async def test_checkout_creates_one_order_and_publishes_one_event_with_the_lines_and_total(
    settings: Settings, clean_broker: None
) -> None:
    async with shop(settings) as s:
        mug, tea = await s.add_product("MUG", 1200), await s.add_product("TEA", 499)
        await s.add("c4", mug, 2)
        cart_id = (await s.add("c4", tea)).json()["id"]
        nc = await broker(settings)
        published = await collect(nc, "shopping-cart.>")

        done = await s.checkout("c4")

        assert done.status_code == 201, done.text
        receipt = done.json()
        assert (receipt["cart_id"], receipt["total"], receipt["currency"]) == (cart_id, 2899, "EUR")
        [sent] = s.order.received
        assert s.order.callers == ["cart"]
        assert (sent["order_id"], sent["cart_id"], sent["customer_id"]) == (receipt["order_id"], cart_id, "c4")
        assert (sent["total"], sent["currency"]) == (2899, "EUR")
        assert sent["lines"] == [
            {"product_id": "mug", "sku": "MUG", "name": "Mug", "quantity": 2, "unit_price": 1200, "currency": "EUR"},
            {"product_id": "tea", "sku": "TEA", "name": "Tea", "quantity": 1, "unit_price": 499, "currency": "EUR"},
        ]
        [event] = await eventually(lambda: published, message="ShoppingCartOrderedEvent")
        assert event["type"] == "ShoppingCartOrderedEvent" and event["correlationid"] == receipt["order_id"]
        assert {k: event["data"][k] for k in sent} == sent
        assert await s.ordered_events_in_outbox() == 1

        next_cart = await s.view("c4")
        assert next_cart["status"] == "open" and next_cart["lines"] == [] and next_cart["id"] != cart_id
        await nc.close()


async def test_a_repeated_checkout_returns_the_same_order_without_a_second_one(
    settings: Settings, clean_broker: None
) -> None:
    async with shop(settings) as s:
        await s.add("c5", await s.add_product("MUG", 1200))

        first, second = await asyncio.gather(s.checkout("c5"), s.checkout("c5"))
        statuses = sorted((first.status_code, second.status_code))
        assert statuses in ([201, 201], [201, 422])  # the later one may already see the next, empty cart
        receipt = first.json() if first.status_code == 201 else second.json()
        again = await s.checkout("c5", cart_id=receipt["cart_id"])

        assert again.status_code == 201 and again.json() == receipt
        assert set(s.order.order_ids) == {receipt["order_id"]}
        assert await s.ordered_events_in_outbox() == 1
        assert (await s.checkout("c5")).json()["error"]["code"] == "empty_cart"
        other = await s.checkout("someone-else", cart_id=receipt["cart_id"])
        assert other.status_code == 404 and other.json()["error"]["code"] == "cart_not_found"


async def test_a_changed_price_is_shown_not_charged_and_the_next_checkout_accepts_it(
    settings: Settings, clean_broker: None
) -> None:
    async with shop(settings) as s:
        lamp = await s.add_product("LAMP", 3000)
        await s.add("c6", lamp, 2)
        await s.reprice(lamp, "LAMP", 3500)

        refused = await s.checkout("c6")

        assert refused.status_code == 409
        error = refused.json()["error"]
        assert error["code"] == "price_changed"
        assert (error["details"]["status"], error["details"]["total"]) == ("open", 7000)
        assert error["details"]["lines"][0]["unit_price"] == 3500
        assert error["details"]["price_changes"] == [
            {"product_id": "lamp", "was": 3000, "now": 3500, "currency": "EUR"}
        ]
        assert s.order.received == []
        assert (await s.view("c6"))["total"] == 7000
        stale = await s.checkout("c6", expected_total=6000)
        assert stale.status_code == 409 and stale.json()["error"]["details"]["total"] == 7000

        accepted = await s.checkout("c6", expected_total=7000)

        assert accepted.status_code == 201 and accepted.json()["total"] == 7000
        [sent] = s.order.received
        assert sent["total"] == 7000 and sent["lines"][0]["unit_price"] == 3500


async def test_order_down_gives_503_keeps_the_cart_open_and_a_retry_reuses_the_order_id(
    settings: Settings, clean_broker: None
) -> None:
    async with shop(settings) as s:
        await s.add("c7", await s.add_product("BOWL", 900))
        s.order.answer = 503

        failing = await s.checkout("c7")
        assert failing.status_code == 503
        message = failing.json()["error"]["message"]
        assert "Order Service is unavailable" in message and "check out again" in message
        await s.order.stop()
        stopped = await s.checkout("c7")
        assert stopped.status_code == 503
        view = await s.view("c7")
        assert (view["status"], len(view["lines"]), view["order_id"]) == ("open", 1, None)
        assert await s.ordered_events_in_outbox() == 0

        s.order.answer = 201
        await s.order.start()
        done = await s.checkout("c7")

        assert done.status_code == 201
        assert s.order.order_ids == [done.json()["order_id"]] * 2
        assert await s.ordered_events_in_outbox() == 1


async def test_changing_the_cart_after_a_failed_checkout_orders_under_a_new_order_id(
    settings: Settings, clean_broker: None
) -> None:
    async with shop(settings) as s:
        bowl, spoon = await s.add_product("BOWL", 900), await s.add_product("SPOON", 150)
        await s.add("c8", bowl)
        s.order.answer = 503
        assert (await s.checkout("c8")).status_code == 503
        await s.add("c8", spoon)
        s.order.answer = 201

        done = await s.checkout("c8")

        assert done.status_code == 201 and done.json()["total"] == 1050
        first_try, second_try = s.order.order_ids
        assert done.json()["order_id"] == second_try != first_try


async def test_catalog_down_on_add_gives_503_with_a_message(settings: Settings, clean_broker: None) -> None:
    settings.service_urls["catalog"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with running(cart(), settings) as carts:
        response = await carts.http.post("/carts/c9/lines", json={"product_id": "mug", "quantity": 1})
        assert response.status_code == 503
        assert response.json()["error"]["message"].startswith("Product Catalog Service is unavailable")
        assert (await carts.http.get("/carts/c9")).json()["lines"] == []


@pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not running on 127.0.0.1:5432")
async def test_concurrent_requests_on_postgresql_open_one_cart_and_make_one_order(
    settings: Settings, clean_broker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = await create_database()
    monkeypatch.setenv("EVENTSHOP_CART_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
    try:
        async with shop(settings) as s:
            first_visits = await asyncio.gather(*(s.cart.http.get("/carts/c10") for _ in range(8)))
            assert {r.status_code for r in first_visits} == {200}
            assert len({r.json()["id"] for r in first_visits}) == 1
            mug = await s.add_product("MUG", 1200)
            adds = await asyncio.gather(*(s.add("c10", mug) for _ in range(6)))  # a customer clicking fast
            assert {r.status_code for r in adds} <= {200, 201}
            assert lines_of(await s.view("c10")) == [(mug, 6, 7200)]

            checkouts = await asyncio.gather(*(s.checkout("c10") for _ in range(4)))

            assert {r.status_code for r in checkouts} <= {201, 422} and 201 in {r.status_code for r in checkouts}
            assert len(set(s.order.order_ids)) == 1
            assert await s.ordered_events_in_outbox() == 1
    finally:
        await drop_database(name)
