"""Shopping Cart with the real Product Catalog and Order: lines, re-pricing, checkout, Order down."""

from __future__ import annotations

import nats

from eventshop.platform.embedded_nats import free_port
from eventshop.platform.settings import Settings
from eventshop.services.cart.service import declare as cart
from eventshop.services.catalog.service import declare as catalog
from eventshop.services.order.service import declare as order
from tests.conftest import eventually, running
from tests.integration.publishing import collect

AUTH = {"Authorization": "Bearer eventshop-internal-dev-token"}


def product(sku: str, price: int) -> dict[str, object]:
    return {"sku": sku, "name": sku.title(), "description": "", "price": price, "currency": "EUR"}


async def test_lines_totals_and_a_checkout_that_creates_one_order_and_one_event(
    settings: Settings, clean_broker: None
) -> None:
    async with running(catalog(), settings) as cat, running(order(), settings) as orders, \
            running(cart(), settings) as carts:
        await cat.http.post("/products", json=product("MUG", 1200), headers=AUTH)
        await cat.http.post("/products", json=product("TEA", 500), headers=AUTH)
        nc = await nats.connect(settings.nats_url)
        published = await collect(nc, "shopping-cart.>")

        await carts.http.post("/carts/c1/lines", json={"product_id": "mug", "quantity": 1})
        await carts.http.post("/carts/c1/lines", json={"product_id": "mug", "quantity": 2})
        view = (await carts.http.post("/carts/c1/lines", json={"product_id": "tea", "quantity": 1})).json()
        assert [(line["product_id"], line["quantity"]) for line in view["lines"]] == [("mug", 3), ("tea", 1)]
        assert view["total"] == 3 * 1200 + 500
        view = (await carts.http.put("/carts/c1/lines/tea", json={"quantity": 0})).json()
        assert view["total"] == 3600

        done = await carts.http.post("/carts/c1/checkout", json={})
        assert done.status_code == 201, done.text
        order_id = done.json()["order_id"]
        created = (await orders.http.get(f"/orders/{order_id}")).json()
        assert created["total"] == 3600 and created["lines"][0]["name"] == "Mug"
        [event] = await eventually(lambda: published, message="ShoppingCartOrderedEvent")
        assert event["type"] == "ShoppingCartOrderedEvent" and event["data"]["order_id"] == order_id
        assert (await carts.http.get("/carts/c1")).json()["lines"] == []  # a fresh open cart
        await nc.close()


async def test_a_changed_price_is_shown_not_charged(settings: Settings, clean_broker: None) -> None:
    async with running(catalog(), settings) as cat, running(order(), settings), running(cart(), settings) as carts:
        await cat.http.post("/products", json=product("LAMP", 3000), headers=AUTH)
        await carts.http.post("/carts/c2/lines", json={"product_id": "lamp", "quantity": 1})
        await cat.http.put("/products/lamp", json=product("LAMP", 3500), headers=AUTH)

        refused = await carts.http.post("/carts/c2/checkout", json={})
        assert refused.status_code == 409
        assert refused.json()["error"]["details"]["changed"] == {"lamp": {"was": 3000, "now": 3500}}
        assert (await carts.http.get("/carts/c2")).json()["total"] == 3500
        accepted = await carts.http.post("/carts/c2/checkout", json={"expected_total": 3500})
        assert accepted.status_code == 201 and accepted.json()["total"] == 3500


async def test_empty_cart_unknown_product_and_bad_quantity_are_clear_errors(
    settings: Settings, clean_broker: None
) -> None:
    async with running(catalog(), settings), running(cart(), settings) as carts:
        empty = await carts.http.post("/carts/c3/checkout", json={})
        assert empty.status_code == 422 and empty.json()["error"]["code"] == "empty_cart"
        unknown = await carts.http.post("/carts/c3/lines", json={"product_id": "nope", "quantity": 1})
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "product_not_found"
        too_many = await carts.http.post("/carts/c3/lines", json={"product_id": "nope", "quantity": 500})
        assert too_many.status_code == 422


async def test_order_down_gives_503_and_a_retry_creates_the_same_order(settings: Settings, clean_broker: None) -> None:
    order_port = free_port()
    settings.service_urls["order"] = f"http://127.0.0.1:{order_port}"
    async with running(catalog(), settings) as cat, running(cart(), settings) as carts:
        await cat.http.post("/products", json=product("BOWL", 900), headers=AUTH)
        await carts.http.post("/carts/c4/lines", json={"product_id": "bowl", "quantity": 1})
        down = await carts.http.post("/carts/c4/checkout", json={})
        assert down.status_code == 503 and "Order Service" in down.json()["error"]["message"]
        assert (await carts.http.get("/carts/c4")).json()["status"] == "open"
        async with running(order(), settings, port=order_port) as orders:
            again = await carts.http.post("/carts/c4/checkout", json={})
            assert again.status_code == 201
            listed = (await orders.http.get("/orders", params={"customer_id": "c4"})).json()
            assert listed["total"] == 1 and listed["items"][0]["id"] == again.json()["order_id"]


async def test_catalog_down_on_add_is_a_503_with_a_message(settings: Settings, clean_broker: None) -> None:
    settings.service_urls["catalog"] = "http://127.0.0.1:9"
    async with running(cart(), settings) as carts:
        response = await carts.http.post("/carts/c5/lines", json={"product_id": "x", "quantity": 1})
        assert response.status_code == 503
        assert response.json()["error"]["message"].startswith("Product Catalog Service is unavailable")
