"""The Shop Frontend's pages over HTTP, against small stand-ins of the service APIs it calls (docs/api.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Body, FastAPI, Response
from pydantic import BaseModel, Field

from eventshop.frontend.app import create_app
from eventshop.frontend.pages import money
from eventshop.platform.embedded_nats import free_port
from eventshop.platform.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized, install_error_handlers
from eventshop.platform.serving import serve_app
from eventshop.platform.settings import Settings

NOW = "2025-01-02T10:11:12.000000Z"
PASSWORD = "a very long password"


def product(pid: str, name: str, price: int, status: str, available: int | None) -> dict[str, Any]:
    return {"id": pid, "sku": pid.upper(), "name": name, "description": f"{name}, made to last.", "price": price,
            "currency": "EUR", "image_url": f"/products/{pid}/image.svg",
            "availability": {"status": status, "available": available}}


class Shop:
    """What the stand-ins hold; a test reads and changes it directly."""

    def __init__(self) -> None:
        self.products = {p["id"]: p for p in (
            product("kettle", "Gooseneck Kettle", 4990, "in_stock", 40),
            product("cups", "Espresso Cups", 1250, "low_stock", 3),
            product("grinder", "Hand Grinder", 8900, "out_of_stock", 0),
            product("beans", "House Beans", 1490, "unknown", None),
        )}
        self.accounts: dict[str, dict[str, Any]] = {}
        self.carts: dict[str, list[dict[str, Any]]] = {}
        self.orders: dict[str, dict[str, Any]] = {}

    def product(self, pid: str) -> dict[str, Any]:
        if pid not in self.products:
            raise NotFound(f"no product {pid}", code="product_not_found")
        return self.products[pid]

    def account(self, name: str = "Ada Lovelace", email: str = "ada@example.com") -> dict[str, Any]:
        found: dict[str, Any] = {
            "id": uuid.uuid4().hex, "name": name, "email": email, "password": PASSWORD, "status": "active",
            "payment_token": "tok_visa", "revision": 1, "created_at": NOW, "updated_at": NOW,
            "address": {"street": "Main St 1", "city": "Berlin", "postcode": "10115", "country": "DE"}}
        self.accounts[found["id"]] = found
        return found

    def cart(self, customer: str) -> dict[str, Any]:
        lines = [{**line, "line_total": line["quantity"] * line["unit_price"]} for line in self.carts.get(customer, [])]
        return {"id": f"cart-{customer}", "customer_id": customer, "status": "open", "lines": lines,
                "total": sum(line["line_total"] for line in lines), "currency": "EUR", "order_id": None,
                "updated_at": NOW}

    def advance(self, order_id: str, status: str, event: str, **changes: Any) -> None:
        order = self.orders[order_id]
        order.update(status=status, **changes)
        order["timeline"].append({"at": NOW, "status": status, "event": event, "detail": f"{event} handled"})


def page_of(items: list[dict[str, Any]], page: int, page_size: int) -> dict[str, Any]:
    return {"items": items[(page - 1) * page_size:page * page_size], "page": page, "page_size": page_size,
            "total": len(items)}


def standin() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.get("/health/live")(lambda: {"status": "ok"})
    return app


def catalog_api(shop: Shop) -> FastAPI:
    app = standin()

    @app.get("/products")
    async def search(q: str = "", page: int = 1, page_size: int = 20) -> dict[str, Any]:
        return page_of([p for p in shop.products.values() if q.lower() in p["name"].lower()], page, page_size)

    app.get("/products/{pid}")(shop.product)

    @app.get("/products/{pid}/image.svg")
    async def image(pid: str) -> Response:
        return Response(f"<svg><title>{shop.product(pid)['name']}</title></svg>", media_type="image/svg+xml")

    return app


class LineBody(BaseModel):
    product_id: str
    quantity: int = Field(ge=0, le=99)


class CheckoutBody(BaseModel):
    expected_total: int | None = None
    cart_id: str | None = None


def cart_api(shop: Shop) -> FastAPI:
    app = standin()
    app.get("/carts/{customer}")(shop.cart)

    @app.post("/carts/{customer}/lines")
    async def add(customer: str, body: LineBody) -> dict[str, Any]:
        p, lines = shop.product(body.product_id), shop.carts.setdefault(customer, [])
        for line in lines:
            if line["product_id"] == p["id"]:
                line["quantity"] += body.quantity
                return shop.cart(customer)
        lines.append({"product_id": p["id"], "sku": p["sku"], "name": p["name"], "quantity": body.quantity,
                      "unit_price": p["price"], "currency": p["currency"]})
        return shop.cart(customer)

    @app.put("/carts/{customer}/lines/{pid}")
    async def change(customer: str, pid: str, body: LineBody) -> dict[str, Any]:
        lines = shop.carts.get(customer, [])
        line = next((line for line in lines if line["product_id"] == pid), None)
        if line is None:
            raise NotFound("no such line", code="line_not_found")
        line["quantity"] = body.quantity
        shop.carts[customer] = [line for line in lines if line["quantity"] > 0]
        return shop.cart(customer)

    @app.delete("/carts/{customer}/lines/{pid}")
    async def remove(customer: str, pid: str) -> dict[str, Any]:
        shop.carts[customer] = [line for line in shop.carts.get(customer, []) if line["product_id"] != pid]
        return shop.cart(customer)

    @app.post("/carts/{customer}/checkout", status_code=201)
    async def checkout(customer: str, body: CheckoutBody) -> dict[str, Any]:
        lines = shop.carts.get(customer, [])
        if not lines:
            raise Invalid("the cart is empty", code="empty_cart")
        changes = [{"product_id": line["product_id"], "was": line["unit_price"],
                    "now": shop.products[line["product_id"]]["price"], "currency": "EUR"}
                   for line in lines if line["unit_price"] != shop.products[line["product_id"]]["price"]]
        for line in lines:
            line["unit_price"] = shop.products[line["product_id"]]["price"]
        cart = shop.cart(customer)
        if changes or (body.expected_total is not None and body.expected_total != cart["total"]):
            raise Conflict("prices changed", code="price_changed", details={**cart, "price_changes": changes})
        order_id = uuid.uuid4().hex
        shop.orders[order_id] = {
            "id": order_id, "cart_id": cart["id"], "customer_id": customer, "status": "created", "reason": None,
            "lines": [{k: v for k, v in line.items() if k != "line_total"} for line in cart["lines"]],
            "total": cart["total"], "currency": "EUR", "payment_id": None, "carrier": None, "tracking_number": None,
            "created_at": NOW, "updated_at": NOW,
            "timeline": [{"at": NOW, "status": "created", "event": "OrderCreated", "detail": "order placed"}]}
        shop.carts[customer] = []
        return {"order_id": order_id, "cart_id": cart["id"], "total": cart["total"], "currency": "EUR"}

    return app


class Address(BaseModel):
    street: str = Field(min_length=1)
    city: str = Field(min_length=1)
    postcode: str = Field(min_length=1)
    country: str = Field(pattern="^[A-Za-z]{2}$")


class NewAccount(BaseModel):
    name: str = Field(min_length=1, max_length=30)
    email: str = Field(pattern=r"^[^@]+@[^@]+$")
    password: str
    address: Address
    payment_token: str


def account_api(shop: Shop) -> FastAPI:
    app = standin()

    def public(account: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in account.items() if k != "password"}

    def found(account_id: str) -> dict[str, Any]:
        if account_id not in shop.accounts:
            raise NotFound("no such account", code="account_not_found")
        return shop.accounts[account_id]

    @app.post("/accounts", status_code=201)
    async def create(body: NewAccount) -> dict[str, Any]:
        if len(body.password) < 8:
            raise Invalid("the password needs at least 8 characters", code="weak_password")
        if any(a["email"] == body.email for a in shop.accounts.values()):
            raise Conflict("an account with this email exists", code="email_taken")
        account = shop.account(body.name, body.email)
        account.update(password=body.password, address=body.address.model_dump(), payment_token=body.payment_token)
        return public(account)

    @app.post("/sessions")
    async def sign_in(body: Annotated[dict[str, str], Body()]) -> dict[str, Any]:
        match = [a for a in shop.accounts.values() if (a["email"], a["password"]) == (body["email"], body["password"])]
        if not match:
            raise Unauthorized("email or password is wrong", code="invalid_credentials")
        if match[0]["status"] != "active":
            raise Forbidden("this account is deactivated", code="account_deactivated")
        return {"account_id": match[0]["id"], "name": match[0]["name"], "email": match[0]["email"]}

    app.get("/accounts/{account_id}")(lambda account_id: public(found(account_id)))

    @app.patch("/accounts/{account_id}")
    async def change(account_id: str, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        found(account_id).update({k: body[k] for k in ("name", "address", "payment_token") if k in body})
        return public(found(account_id))

    @app.post("/accounts/{account_id}/deactivate")
    async def deactivate(account_id: str) -> dict[str, Any]:
        found(account_id)["status"] = "deactivated"
        return public(found(account_id))

    return app


def order_api(shop: Shop) -> FastAPI:
    app = standin()

    @app.get("/orders/{order_id}")
    async def one(order_id: str) -> dict[str, Any]:
        if order_id not in shop.orders:
            raise NotFound("no such order", code="order_not_found")
        return shop.orders[order_id]

    @app.get("/orders")
    async def page(customer_id: str, page: int = 1, page_size: int = 20) -> dict[str, Any]:
        return page_of([o for o in reversed(shop.orders.values()) if o["customer_id"] == customer_id], page,
                       page_size)

    return app


def payment_system_api() -> FastAPI:
    app = standin()
    app.get("/v1/test-tokens")(lambda: [
        {"token": "tok_visa", "label": "Visa ending 4242 (succeeds)"},
        {"token": "tok_timeout", "label": "Visa ending 0119 (answers too late)"},
        {"token": "tok_declined", "label": "Visa ending 0002 (declined)"},
    ])
    return app


async def until_live(url: str, task: asyncio.Task[None]) -> None:
    async with httpx.AsyncClient(base_url=url) as probe, asyncio.timeout(10):
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await probe.get("/health/live")).status_code == 200:
                    return
            if task.done():
                task.result()
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def open_shop(down: tuple[str, ...] = ()) -> AsyncIterator[tuple[httpx.AsyncClient, Shop]]:
    """The frontend over the stand-ins, all served at once; a service in `down` gets an address nobody serves."""
    shop = Shop()
    apps = {"catalog": catalog_api(shop), "cart": cart_api(shop), "account": account_api(shop),
            "order": order_api(shop), "payment-system": payment_system_api()}
    urls = {name: f"http://127.0.0.1:{free_port()}" for name in (*apps, "frontend")}
    settings = Settings(service_urls={**urls, "mail": "http://127.0.0.1:8103"})
    apps = {name: app for name, app in apps.items() if name not in down} | {"frontend": create_app(settings)}
    stop = asyncio.Event()
    tasks = {name: asyncio.create_task(serve_app(app, "127.0.0.1", int(urls[name].rsplit(":", 1)[1]), stop))
             for name, app in apps.items()}
    try:
        await asyncio.gather(*(until_live(urls[name], task) for name, task in tasks.items()))
        async with httpx.AsyncClient(base_url=urls["frontend"], timeout=10) as web:
            yield web, shop
    finally:
        stop.set()
        await asyncio.gather(*tasks.values())


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "every page with a form carries a CSRF token"
    return found.group(1)


async def post_form(web: httpx.AsyncClient, page: str, action: str, **fields: Any) -> httpx.Response:
    """Post a form as a browser does: with the CSRF token of the page it is on."""
    token = csrf_of((await web.get(page)).text)
    return await web.post(action, data={"csrf": token, **{k: str(v) for k, v in fields.items()}})


async def sign_in(web: httpx.AsyncClient, shop: Shop) -> dict[str, Any]:
    account = shop.account()
    signed = await post_form(web, "/signin", "/signin", email=account["email"], password=PASSWORD, next="/cart")
    assert signed.status_code == 303 and signed.headers["location"] == "/cart"
    return account


def test_money_is_formatted_from_integer_minor_units() -> None:
    assert money(1250, "EUR") == "€12.50"
    assert money(129900, "EUR") == "€1,299.00"
    assert money(5, "USD") == "$0.05"
    assert money(-250, "SEK") == "-2.50 SEK"


async def test_the_catalog_lists_and_pages_products_with_price_image_and_availability() -> None:
    async with open_shop() as (web, shop):
        page = await web.get("/")
        assert page.status_code == 200
        assert page.text.count('data-testid="product-card"') == 4
        for text in ("Gooseneck Kettle", "€49.90", "In stock", "Only 3 left", "Out of stock", "Availability unknown"):
            assert text in page.text
        assert '<img src="/images/kettle.svg"' in page.text
        image = await web.get("/images/kettle.svg")
        assert image.status_code == 200 and image.headers["content-type"].startswith("image/svg+xml")
        assert "Gooseneck Kettle" in image.text
        searched = await web.get("/", params={"q": "cups"})
        assert searched.text.count('data-testid="product-card"') == 1 and "Espresso Cups" in searched.text
        for n in range(10):
            shop.products[f"mug{n}"] = product(f"mug{n}", f"Mug {n}", 900, "in_stock", 9)
        second = await web.get("/", params={"page": 2})
        assert second.text.count('data-testid="product-card"') == 2 and "Page 2 of 2" in second.text


async def test_the_product_page_limits_the_quantity_and_disables_a_sold_out_product() -> None:
    async with open_shop() as (web, _):
        cups = await web.get("/products/cups")
        assert cups.status_code == 200 and "Espresso Cups, made to last." in cups.text and "Only 3 left" in cups.text
        assert re.search(r'id="quantity"[^>]*max="3"', cups.text)
        grinder = await web.get("/products/grinder")
        assert re.search(r"<button[^>]*disabled[^>]*>Sold out</button>", grinder.text)
        assert (await web.get("/products/nothing-here")).status_code == 404


async def test_the_server_refuses_more_than_is_available_and_out_of_stock_products() -> None:
    async with open_shop() as (web, shop):
        account = await sign_in(web, shop)
        too_many = await post_form(web, "/products/cups", "/cart/add", product_id="cups", quantity=4)
        assert too_many.headers["location"] == "/products/cups"
        assert "Only 3 of Espresso Cups can be ordered" in (await web.get("/products/cups")).text
        sold_out = await post_form(web, "/products/grinder", "/cart/add", product_id="grinder", quantity=1)
        assert sold_out.headers["location"] == "/products/grinder"
        assert "Hand Grinder is out of stock" in (await web.get("/products/grinder")).text
        assert shop.carts.get(account["id"], []) == []
        added = await post_form(web, "/products/cups", "/cart/add", product_id="cups", quantity=2)
        assert added.headers["location"] == "/cart"
        cart = await web.get("/cart")
        assert cart.text.count('data-testid="cart-line"') == 1 and "€25.00" in cart.text
        assert 'data-testid="cart-count"' in cart.text


async def test_sign_up_shows_each_validation_error_next_to_its_field() -> None:
    async with open_shop() as (web, shop):
        form = {"name": "Grace Hopper", "email": "not-an-email", "password": PASSWORD, "street": "",
                "postcode": "10117", "city": "Berlin", "country": "DE", "payment_token": "tok_visa"}
        local = await post_form(web, "/signup", "/signup", **form)
        assert local.status_code == 422
        for field in ("email", "street"):
            assert re.search(rf'id="{field}"[^>]*aria-describedby="{field}-error"', local.text)
            assert f'id="{field}-error"' in local.text
        assert 'value="Grace Hopper"' in local.text and PASSWORD not in local.text

        shop.account(email="grace@example.com")
        taken = await post_form(web, "/signup", "/signup", **{**form, "email": "grace@example.com", "street": "A 1"})
        assert taken.status_code == 422 and re.search(r'id="email-error">An account with this email exists', taken.text)
        weak = await post_form(web, "/signup", "/signup", **{**form, "email": "g2@example.com", "street": "A 1",
                                                            "password": "short"})
        assert re.search(r'id="password-error">The password needs at least 8 characters', weak.text)
        long_name = await post_form(web, "/signup", "/signup", **{**form, "email": "g3@example.com", "street": "A 1",
                                                                 "name": "G" * 40})
        assert 'id="name-error"' in long_name.text

        created = await post_form(web, "/signup", "/signup", **{**form, "email": "g4@example.com", "street": "A 1"})
        assert created.status_code == 303
        assert "Your account is ready" in (await web.get("/")).text


async def test_sign_up_offers_the_sandbox_test_cards_or_the_built_in_list() -> None:
    async with open_shop() as (web, _):
        cards = (await web.get("/signup")).text
        assert 'value="tok_visa"' in cards and 'value="tok_declined"' in cards and "tok_timeout" not in cards
    async with open_shop(down=("payment-system",)) as (web, _):
        cards = (await web.get("/signup")).text
        for token in ("tok_visa", "tok_mastercard", "tok_declined", "tok_insufficient_funds", "tok_expired"):
            assert f'value="{token}"' in cards


async def test_sign_in_sets_a_signed_http_only_session_and_sign_out_ends_it() -> None:
    async with open_shop() as (web, shop):
        account = shop.account()
        wrong = await post_form(web, "/signin", "/signin", email=account["email"], password="wrong password")
        assert wrong.status_code == 401 and "The email or password is wrong" in wrong.text
        signed = await post_form(web, "/signin", "/signin", email=account["email"], password=PASSWORD)
        cookie = signed.headers["set-cookie"].lower()
        assert signed.status_code == 303 and "httponly" in cookie and "samesite=lax" in cookie
        page = await web.get("/account")
        assert page.status_code == 200 and "ada@example.com" in page.text and "Sign out" in page.text
        assert 'href="http://127.0.0.1:8103/?to=ada%40example.com"' in page.text
        assert (await post_form(web, "/", "/signout")).status_code == 303
        assert (await web.get("/account")).headers["location"] == "/signin?next=/account"


async def test_the_account_page_changes_the_address_and_deactivates_only_when_confirmed() -> None:
    async with open_shop() as (web, shop):
        account = await sign_in(web, shop)
        changed = await post_form(web, "/account", "/account", name="Ada King", street="New Road 2", postcode="10117",
                                  city="Berlin", country="DE", payment_token="tok_declined")
        assert changed.status_code == 303
        assert shop.accounts[account["id"]]["address"]["street"] == "New Road 2"
        assert shop.accounts[account["id"]]["payment_token"] == "tok_declined"
        await post_form(web, "/account", "/account/deactivate")
        assert shop.accounts[account["id"]]["status"] == "active"
        await post_form(web, "/account", "/account/deactivate", confirm="yes")
        assert shop.accounts[account["id"]]["status"] == "deactivated"


async def test_a_form_post_without_its_csrf_token_is_refused_with_403() -> None:
    async with open_shop() as (web, shop):
        await sign_in(web, shop)
        missing = await web.post("/cart/add", data={"product_id": "cups", "quantity": "1"})
        assert missing.status_code == 403 and "This form has expired" in missing.text
        forged = await web.post("/signout", data={"csrf": "forged"})
        assert forged.status_code == 403
        assert (await web.get("/account")).status_code == 200  # still signed in


async def test_the_cart_page_renders_and_says_so_when_the_cart_service_is_down() -> None:
    async with open_shop(down=("cart",)) as (web, shop):
        await sign_in(web, shop)
        cart = await web.get("/cart")
        assert cart.status_code == 200 and "Shopping Cart Service is unavailable right now" in cart.text
        assert "Traceback" not in cart.text
        ready = (await web.get("/health/ready")).json()
        assert ready["status"] == "ok" and ready["services"]["cart"] is False and ready["services"]["order"] is True


async def test_pages_render_when_the_catalog_and_order_services_are_down() -> None:
    async with open_shop(down=("catalog", "order")) as (web, shop):
        await sign_in(web, shop)
        home = await web.get("/")
        assert home.status_code == 200 and "Product Catalog Service is unavailable right now" in home.text
        orders = await web.get("/orders")
        assert orders.status_code == 200 and "Order Service is unavailable right now" in orders.text
        missing = await web.get("/no/such/page")
        assert missing.status_code == 404 and "Page not found" in missing.text


async def test_checkout_redirects_to_the_order_page_and_the_history_lists_it() -> None:
    async with open_shop() as (web, shop):
        await sign_in(web, shop)
        await post_form(web, "/products/kettle", "/cart/add", product_id="kettle", quantity=2)
        done = await post_form(web, "/cart", "/checkout", expected_total=9980, cart_id="ignored")
        assert done.status_code == 303 and re.fullmatch(r"/orders/[0-9a-f]{32}", done.headers["location"])
        order = await web.get(done.headers["location"])
        assert order.status_code == 200 and 'data-testid="order-status"' in order.text and "€99.80" in order.text
        assert '<script src="/static/order.js"' in order.text and "Refresh" in order.text
        history = await web.get("/orders")
        assert history.text.count('data-testid="order-row"') == 1


async def test_checkout_shows_changed_prices_and_a_second_checkout_confirms_them() -> None:
    async with open_shop() as (web, shop):
        await sign_in(web, shop)
        await post_form(web, "/products/cups", "/cart/add", product_id="cups", quantity=2)
        shop.products["cups"]["price"] = 1400
        changed = await post_form(web, "/cart", "/checkout", expected_total=2500)
        assert changed.status_code == 409 and "Some prices changed" in changed.text
        assert re.search(r"Espresso Cups: was <s>€12.50</s>, now <strong>€14.00</strong>", changed.text)
        assert 'name="expected_total" value="2800"' in changed.text
        confirmed = await web.post("/checkout", data={"csrf": csrf_of(changed.text), "expected_total": "2800"})
        assert confirmed.status_code == 303 and confirmed.headers["location"].startswith("/orders/")


async def test_checkout_of_an_empty_cart_says_the_cart_is_empty() -> None:
    async with open_shop() as (web, shop):
        await sign_in(web, shop)
        empty = await post_form(web, "/cart", "/checkout")
        assert empty.headers["location"] == "/cart"
        assert "Your cart is empty. Add a product" in (await web.get("/cart")).text


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    name, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif not line and data:
            yield name, json.loads(data)
            name, data = "message", ""


async def test_the_order_stream_pushes_each_change_and_ends_when_the_order_is_final() -> None:
    async with open_shop() as (web, shop):
        await sign_in(web, shop)
        await post_form(web, "/products/kettle", "/cart/add", product_id="kettle", quantity=1)
        order_id = (await post_form(web, "/cart", "/checkout")).headers["location"].rsplit("/", 1)[1]
        async with asyncio.timeout(15), web.stream("GET", f"/orders/{order_id}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = sse_events(stream)
            assert (await anext(events))[1]["status"] == "created"
            shop.advance(order_id, "paid", "PaymentProcessedEvent")
            name, paid = await anext(events)
            assert name == "order" and paid["status"] == "paid" and len(paid["timeline"]) == 2
            shop.advance(order_id, "shipped", "ShippingProcessedEvent", carrier="DHL", tracking_number="TRK12345678")
            shipped = (await anext(events))[1]
            assert shipped["status"] == "shipped" and shipped["tracking_number"] == "TRK12345678"
            assert await anext(events) == ("end", {"status": "shipped"})
            with pytest.raises(StopAsyncIteration):
                await anext(events)
        final = await web.get(f"/orders/{order_id}")
        assert re.search(r'data-testid="tracking-number">TRK12345678<', final.text) and "order.js" not in final.text


async def test_another_customers_order_is_not_shown_or_streamed() -> None:
    async with open_shop() as (web, shop):
        await sign_in(web, shop)
        other = shop.account("Eve", "eve@example.com")
        shop.orders["x1"] = {"id": "x1", "customer_id": other["id"], "status": "created"}
        assert (await web.get("/orders/x1")).status_code == 404
        assert (await web.get("/orders/x1/events")).status_code == 404
