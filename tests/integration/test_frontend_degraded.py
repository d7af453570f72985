"""The frontend when services are down, and its form protection: pages render and say what is missing."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

import httpx

from eventshop.frontend.app import create_app
from eventshop.frontend.sessions import FrontendSettings
from eventshop.platform.embedded_nats import free_port
from eventshop.platform.serving import serve_app
from eventshop.platform.settings import Settings
from eventshop.services.account.service import declare as account
from tests.conftest import running

DEAD = "http://127.0.0.1:9"


@contextlib.asynccontextmanager
async def frontend(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    port, stop = free_port(), asyncio.Event()
    app = create_app(settings, FrontendSettings(secure_cookies=False))  # plain http here
    task = asyncio.create_task(serve_app(app, "127.0.0.1", port, stop))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
        for _ in range(200):
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/health/live")).status_code == 200:
                    break
            await asyncio.sleep(0.02)
        try:
            yield client
        finally:
            stop.set()
            await task


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "every page with a form carries a CSRF token"
    return found.group(1)


async def test_the_catalog_page_renders_and_says_the_catalog_is_unavailable(settings: Settings) -> None:
    settings.service_urls.update({name: DEAD for name in ("catalog", "cart", "order", "account", "payment-system")})
    async with frontend(settings) as web:
        page = await web.get("/")
        assert page.status_code == 200
        assert "We cannot show the products just now" in page.text
        missing = await web.get("/no/such/page")
        assert missing.status_code == 404 and "Page not found" in missing.text


async def test_a_form_post_without_its_csrf_token_is_refused(settings: Settings) -> None:
    settings.service_urls.update({name: DEAD for name in ("catalog", "cart", "order", "account", "payment-system")})
    async with frontend(settings) as web:
        await web.get("/signin")
        refused = await web.post("/signin", data={"email": "a@example.com", "password": "x"})
        assert refused.status_code == 403 and "did not come from this site" in refused.text
        assert (await web.get("/orders")).status_code == 303  # not signed in: sent to sign in


async def test_signed_in_pages_render_when_cart_and_order_are_down(settings: Settings, clean_broker: None) -> None:
    settings.service_urls.update({name: DEAD for name in ("catalog", "cart", "order", "payment-system")})
    async with running(account(), settings) as accounts, frontend(settings) as web:
        await accounts.http.post("/accounts", json={
            "name": "Ada", "email": "ada@example.com", "password": "correct horse battery", "payment_token": "tok_visa",
            "address": {"street": "A 1", "city": "Berlin", "postcode": "10115", "country": "DE"}})
        token = csrf_of((await web.get("/signin")).text)
        signed = await web.post("/signin", data={"email": "ada@example.com", "password": "correct horse battery",
                                                 "csrf": token, "next": "/cart"})
        assert signed.status_code == 303 and signed.headers["location"] == "/cart"
        cart = await web.get("/cart")
        assert cart.status_code == 200 and "We cannot show your cart just now" in cart.text
        orders = await web.get("/orders")
        assert orders.status_code == 200 and "We cannot show your orders just now" in orders.text
        wrong = await web.post("/signin", data={"email": "ada@example.com", "password": "nope-nope-nope",
                                                "csrf": csrf_of((await web.get("/signin")).text)})
        assert wrong.status_code == 401 and "email or password is wrong" in wrong.text
