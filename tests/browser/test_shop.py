"""A customer in a real browser: sign up, shop, check out, watch the order ship live, read the email."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from eventshop.cli.seeding import seed
from tests.browser.conftest import screenshot
from tests.shop import Shop
from tests.system.shopping import add_product

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def demo_catalog(shop: Shop) -> None:
    """The catalog `eventshop up` seeds, so the screenshots show what a newcomer sees."""
    seed(shop.settings)


def demo_product(shop: Shop, sku: str) -> dict[str, Any]:
    with shop.http("catalog") as catalog:
        found = catalog.get("/products", params={"q": sku}).json()["items"]
    return next(p for p in found if p["sku"] == sku)


def sign_up(page: Page, shop: Shop, card: str = "tok_visa") -> str:
    email = fill_sign_up(page, shop, "a very long password", card)
    expect(page.get_by_text("Your account is ready")).to_be_visible()
    return email


def fill_sign_up(page: Page, shop: Shop, password: str, card: str = "tok_visa") -> str:
    email = f"grace-{uuid.uuid4().hex[:6]}@example.com"
    page.goto(f"{shop.url('frontend')}/signup")
    page.get_by_label("Full name").fill("Grace Hopper")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Street and number").fill("Unter den Linden 6")
    page.get_by_label("Postcode").fill("10117")
    page.get_by_label("City").fill("Berlin")
    page.get_by_label("Country code").fill("DE")
    page.get_by_label("Test card").select_option(card)
    page.get_by_role("button", name="Create account").click()
    return email


def add_to_cart(page: Page, shop: Shop, product_id: str, quantity: int = 1) -> None:
    page.goto(f"{shop.url('frontend')}/products/{product_id}")
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/cart$"))


def test_a_customer_orders_two_products_and_watches_the_order_ship_live(page: Page, shop: Shop) -> None:
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text
            else None)
    teapot, tea = demo_product(shop, "TEAPOT-CAST"), demo_product(shop, "TEA-SENCHA")
    email = sign_up(page, shop)

    page.goto(shop.url("frontend"))
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    screenshot(page, "catalog")
    add_to_cart(page, shop, teapot["id"])
    page.goto(f"{shop.url('frontend')}/products/{tea['id']}")
    screenshot(page, "product")
    add_to_cart(page, shop, tea["id"], 2)
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    expect(page.get_by_test_id("cart-total")).to_have_text("€78.70")
    screenshot(page, "cart")

    page.get_by_role("button", name=re.compile("Check out")).click()
    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f]+$"))
    page.evaluate("window.__stillTheSamePage = true")
    expect(page.get_by_test_id("order-status")).to_have_text("shipped", timeout=45_000)
    expect(page.get_by_test_id("tracking-number")).to_have_text(re.compile(r"\w{8,}"))
    assert page.evaluate("window.__stillTheSamePage") is True  # updated live, not reloaded
    assert blocked == [], "the Content-Security-Policy blocks nothing the shop's pages use"
    screenshot(page, "order-shipped")

    page.goto(f"{shop.url('mail')}/?to={email}")
    expect(page.get_by_role("link", name=re.compile("confirmed"))).to_be_visible(timeout=20_000)
    page.get_by_role("link", name=re.compile("has shipped")).click()
    expect(page.get_by_text("Tracking number")).to_be_visible()
    screenshot(page, "mail-inbox")


def test_a_guessable_password_is_refused_with_the_reason_next_to_the_field(page: Page, shop: Shop) -> None:
    fill_sign_up(page, shop, "password")
    expect(page.locator("#password-error")).to_contain_text("This is a top-10 common password")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")


def test_a_declined_card_shows_the_order_cancelled_with_the_reason(page: Page, shop: Shop) -> None:
    product = add_product(shop, stock=5, price=990, name="Stoneware Mug")
    sign_up(page, shop, card="tok_declined")
    add_to_cart(page, shop, product["id"])
    page.get_by_role("button", name=re.compile("Check out")).click()

    expect(page.get_by_test_id("order-status")).to_have_text("cancelled", timeout=45_000)
    expect(page.get_by_test_id("order-reason")).to_have_text("The card was declined (card_declined)")
    screenshot(page, "order-cancelled")


def test_a_product_cannot_be_ordered_beyond_its_stock(page: Page, shop: Shop) -> None:
    sold_out = add_product(shop, stock=0, price=129900, name="Lever Espresso Machine")
    scarce = add_product(shop, stock=2, price=2490, name="Espresso Cups")
    sign_up(page, shop)

    page.goto(f"{shop.url('frontend')}/products/{sold_out['id']}")
    expect(page.get_by_role("button", name="Sold out")).to_be_disabled()

    page.goto(f"{shop.url('frontend')}/products/{scarce['id']}")
    expect(page.get_by_text("Only 2 left")).to_be_visible()
    page.get_by_label("Quantity").evaluate("el => el.removeAttribute('max')")  # a customer bypassing the form
    page.get_by_label("Quantity").fill("3")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("alert")).to_contain_text("Only 2")
    page.goto(f"{shop.url('frontend')}/cart")
    expect(page.get_by_test_id("cart-line")).to_have_count(0)


def test_pages_render_on_a_phone_sized_screen(page: Page, shop: Shop) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(shop.url("frontend"))
    expect(page.get_by_role("link", name="Cart")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways ({width}px)"
    screenshot(page, "phone-catalog")
