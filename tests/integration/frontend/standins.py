"""Small stand-ins of the service APIs the Shop Frontend calls, and helpers to drive its forms."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
from fastapi import Body, FastAPI, Request, Response
from pydantic import BaseModel, Field

from eventshop.frontend.app import create_app
from eventshop.frontend.sessions import FrontendSettings
from eventshop.platform.embedded_nats import free_port
from eventshop.platform.errors import (
    Conflict,
    DependencyUnavailable,
    Forbidden,
    Invalid,
    NotFound,
    Unauthorized,
    install_error_handlers,
    problem,
)
from eventshop.platform.serving import serve_app
from eventshop.platform.settings import Settings

NOW = "2025-01-02T10:11:12.000000Z"
PASSWORD = "a very long password"
PLAIN_HTTP = FrontendSettings(secure_cookies=False)  # the tests talk http to the frontend


CATEGORIES = {"coffee": "Coffee", "brewing": "Brewing gear", "tableware": "Cups and serving", "treats": "Sweet treats"}


def product(pid: str, name: str, price: int, status: str, available: int | None,
            category: str | None = None) -> dict[str, Any]:
    return {
        "id": pid,
        "sku": pid.upper(),
        "name": name,
        "description": f"{name}, made to last.",
        "price": price,
        "currency": "EUR",
        "category": category,
        "category_name": CATEGORIES.get(category or ""),
        "image_url": f"/products/{pid}/image.svg",
        "image_alt": f"Drawing of {name}",
        "availability": {"status": status, "available": available},
    }


class Shop:
    """What the stand-ins hold; a test reads and changes it directly."""

    def __init__(self) -> None:
        self.products = {
            p["id"]: p
            for p in (
                product("kettle", "Gooseneck Kettle", 4990, "in_stock", 40, "brewing"),
                product("cups", "Espresso Cups", 1250, "low_stock", 3, "tableware"),
                product("grinder", "Hand Grinder", 8900, "out_of_stock", 0, "brewing"),
                product("beans", "House Beans", 1490, "unknown", None, "coffee"),
            )
        }
        self.accounts: dict[str, dict[str, Any]] = {}
        self.carts: dict[str, list[dict[str, Any]]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, str] = {}  # live session id -> account id
        self.failing_checkout = False  # Cart answers checkout as when Order is down
        self.cart_down = False  # Cart answers every request with a 503

    def product(self, pid: str) -> dict[str, Any]:
        if pid not in self.products:
            raise NotFound(f"no product {pid}", code="product_not_found")
        return self.products[pid]

    def account(self, name: str = "Ada Lovelace", email: str = "ada@example.com") -> dict[str, Any]:
        found: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "name": name,
            "email": email,
            "password": PASSWORD,
            "status": "active",
            "payment_token": "tok_visa",
            "revision": 1,
            "created_at": NOW,
            "updated_at": NOW,
            "address": {"street": "Main St 1", "city": "Berlin", "postcode": "10115", "country": "DE"},
        }
        self.accounts[found["id"]] = found
        return found

    def cart(self, customer: str) -> dict[str, Any]:
        lines = [{**line, "line_total": line["quantity"] * line["unit_price"]} for line in self.carts.get(customer, [])]
        return {
            "id": f"cart-{customer}",
            "customer_id": customer,
            "status": "open",
            "lines": lines,
            "total": sum(line["line_total"] for line in lines),
            "currency": "EUR",
            "order_id": None,
            "updated_at": NOW,
        }

    def advance(self, order_id: str, status: str, event: str, **changes: Any) -> None:
        order = self.orders[order_id]
        order.update(status=status, **changes)
        order["timeline"].append({"at": NOW, "status": status, "event": event, "detail": f"{event} handled"})


def page_of(items: list[dict[str, Any]], page: int, page_size: int) -> dict[str, Any]:
    return {
        "items": items[(page - 1) * page_size : page * page_size],
        "page": page,
        "page_size": page_size,
        "total": len(items),
    }


def customer_token(account_id: str) -> dict[str, str]:
    """What the stand-in Account hands out with a session; the stand-ins check the frontend passes it on."""
    expires = datetime.now(UTC) + timedelta(minutes=15)
    return {"token": f"token-of:{account_id}", "token_expires_at": expires.isoformat()}


def standin() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.get("/health/live")(lambda: {"status": "ok"})

    @app.middleware("http")
    async def customer_resources_need_the_customers_token(request: Request, call_next: Any) -> Any:
        parts = request.url.path.strip("/").split("/")
        owned = parts[0] in ("carts", "orders") or (parts[0] == "accounts" and len(parts) > 1)
        given = request.headers.get("Authorization", "")
        if owned and not given.startswith("Bearer token-of:"):
            return problem(401, "authentication_required", "no customer token")
        if parts[0] in ("carts", "accounts") and len(parts) > 1 and given != f"Bearer token-of:{parts[1]}":
            return problem(403, "not_your_resource", "another customer's token")
        return await call_next(request)

    return app


def catalog_api(shop: Shop) -> FastAPI:
    app = standin()

    @app.get("/products")
    async def search(q: str = "", category: str | None = None, in_stock: bool = False, page: int = 1,
                     page_size: int = 20) -> dict[str, Any]:
        if category is not None and category not in CATEGORIES:
            raise Invalid(f"there is no category {category!r}", code="validation_error")
        found = [p for p in shop.products.values() if q.lower() in p["name"].lower()
                 and category in (None, p["category"]) and (not in_stock or (p["availability"]["available"] or 0) > 0)]
        return page_of(found, page, page_size)

    @app.get("/categories")
    async def categories() -> list[dict[str, Any]]:
        return [{"id": c, "name": name, "products": sum(p["category"] == c for p in shop.products.values())}
                for c, name in CATEGORIES.items()]

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

    @app.middleware("http")
    async def down_when_told(request: Request, call_next: Any) -> Any:
        if shop.cart_down and request.url.path.startswith("/carts"):
            return problem(503, "dependency_unavailable", "the cart database is not answering")
        return await call_next(request)

    app.get("/carts/{customer}")(shop.cart)

    @app.post("/carts/{customer}/lines")
    async def add(customer: str, body: LineBody) -> dict[str, Any]:
        p, lines = shop.product(body.product_id), shop.carts.setdefault(customer, [])
        for line in lines:
            if line["product_id"] == p["id"]:
                line["quantity"] += body.quantity
                return shop.cart(customer)
        lines.append(
            {
                "product_id": p["id"],
                "sku": p["sku"],
                "name": p["name"],
                "quantity": body.quantity,
                "unit_price": p["price"],
                "currency": p["currency"],
            }
        )
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
        if shop.failing_checkout:
            raise DependencyUnavailable("Order Service is unavailable (NotConnected)")
        lines = shop.carts.get(customer, [])
        if not lines:
            raise Invalid("the cart is empty", code="empty_cart")
        changes = [
            {
                "product_id": line["product_id"],
                "was": line["unit_price"],
                "now": shop.products[line["product_id"]]["price"],
                "currency": "EUR",
            }
            for line in lines
            if line["unit_price"] != shop.products[line["product_id"]]["price"]
        ]
        for line in lines:
            line["unit_price"] = shop.products[line["product_id"]]["price"]
        cart = shop.cart(customer)
        if changes or (body.expected_total is not None and body.expected_total != cart["total"]):
            raise Conflict("prices changed", code="price_changed", details={**cart, "price_changes": changes})
        order_id = uuid.uuid4().hex
        shop.orders[order_id] = {
            "id": order_id,
            "cart_id": cart["id"],
            "customer_id": customer,
            "status": "created",
            "reason": None,
            "lines": [{k: v for k, v in line.items() if k != "line_total"} for line in cart["lines"]],
            "total": cart["total"],
            "currency": "EUR",
            "payment_id": None,
            "carrier": None,
            "tracking_number": None,
            "created_at": NOW,
            "updated_at": NOW,
            "timeline": [{"at": NOW, "status": "created", "event": "OrderCreated", "detail": "order placed"}],
        }
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
        session_id = uuid.uuid4().hex
        shop.sessions[session_id] = match[0]["id"]
        return {"account_id": match[0]["id"], "name": match[0]["name"], "email": match[0]["email"],
                "session_id": session_id, **customer_token(match[0]["id"])}

    @app.get("/sessions/{session_id}")
    async def check(session_id: str) -> dict[str, Any]:
        if session_id not in shop.sessions:
            raise NotFound("this session has ended", code="session_ended")
        account = found(shop.sessions[session_id])
        return {"account_id": account["id"], "name": account["name"], "email": account["email"],
                **customer_token(account["id"])}

    @app.delete("/sessions/{session_id}", status_code=204)
    async def end(session_id: str) -> None:
        shop.sessions.pop(session_id, None)

    app.get("/accounts/{account_id}")(lambda account_id: public(found(account_id)))

    @app.patch("/accounts/{account_id}")
    async def change(account_id: str, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        account = found(account_id)
        email = str(body.get("email", account["email"])).strip().lower()
        if (email != account["email"] or "password" in body) and body.get("current_password") != account["password"]:
            raise Invalid("the current password is wrong", code="wrong_current_password",
                          details={"field": "current_password"})
        if any(a["email"] == email for a in shop.accounts.values() if a["id"] != account_id):
            raise Conflict("an account with this email exists", code="email_taken")
        if len(body.get("password", PASSWORD)) < 8:
            raise Invalid("the password needs at least 8 characters", code="weak_password",
                          details={"field": "password"})
        account.update({k: body[k] for k in ("name", "address", "payment_token", "password") if k in body})
        account["email"] = email
        return public(account)

    @app.post("/accounts/{account_id}/deactivate")
    async def deactivate(account_id: str) -> dict[str, Any]:
        found(account_id)["status"] = "deactivated"
        return public(found(account_id))

    return app


def order_api(shop: Shop) -> FastAPI:
    app = standin()

    @app.get("/orders/{order_id}")
    async def one(order_id: str, request: Request) -> dict[str, Any]:
        if order_id not in shop.orders:
            raise NotFound("no such order", code="order_not_found")
        if request.headers.get("Authorization") != f"Bearer token-of:{shop.orders[order_id]['customer_id']}":
            raise Forbidden("this belongs to another customer", code="not_your_resource")  # as Order does
        return shop.orders[order_id]

    @app.get("/orders")
    async def page(customer_id: str, page: int = 1, page_size: int = 20) -> dict[str, Any]:
        return page_of([o for o in reversed(shop.orders.values()) if o["customer_id"] == customer_id], page, page_size)

    return app


def payment_system_api() -> FastAPI:
    app = standin()
    app.get("/v1/test-tokens")(
        lambda: [
            {"token": "tok_visa", "label": "Visa ending 4242 (succeeds)"},
            {"token": "tok_timeout", "label": "Visa ending 0119 (answers too late)"},
            {"token": "tok_declined", "label": "Visa ending 0002 (declined)"},
        ]
    )
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
    apps = {
        "catalog": catalog_api(shop),
        "cart": cart_api(shop),
        "account": account_api(shop),
        "order": order_api(shop),
        "payment-system": payment_system_api(),
    }
    urls = {name: f"http://127.0.0.1:{free_port()}" for name in (*apps, "frontend")}
    settings = Settings(service_urls={**urls, "mail": "http://127.0.0.1:8103"}, dev_secrets=True)
    apps = {name: app for name, app in apps.items() if name not in down}
    apps["frontend"] = create_app(settings, PLAIN_HTTP)
    stop = asyncio.Event()
    tasks = {
        name: asyncio.create_task(serve_app(app, "127.0.0.1", int(urls[name].rsplit(":", 1)[1]), stop))
        for name, app in apps.items()
    }
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
