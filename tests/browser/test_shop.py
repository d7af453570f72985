"""A customer in a real browser: sign up or shop as a guest and sign in, review and place the order, watch it ship
live, read the email."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, ViewportSize, expect

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


PHONE: ViewportSize = {"width": 390, "height": 844}


def sign_up(page: Page, shop: Shop, card: str = "tok_visa", postcode: str = "10117") -> str:
    email = fill_sign_up(page, shop, "a very long password", card, postcode)
    expect(page.get_by_text("Your account is ready")).to_be_visible()
    return email


def fill_sign_up(page: Page, shop: Shop, password: str, card: str = "tok_visa", postcode: str = "10117",
                 country: str = "DE") -> str:
    email = f"grace-{uuid.uuid4().hex[:6]}@example.com"
    page.goto(f"{shop.url('frontend')}/signup")
    page.get_by_label("Full name").fill("Grace Hopper")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Street and number").fill("Unter den Linden 6")
    page.get_by_label("Postcode").fill(postcode)
    page.get_by_label("City").fill("Berlin")
    page.get_by_label("Country").select_option(country)
    page.get_by_label("Test card").select_option(card)
    page.get_by_role("button", name="Create account").click()
    return email


def assert_no_sideways_scrolling(page: Page) -> None:
    page.wait_for_load_state("load")
    width, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= viewport, f"{page.url} scrolls sideways ({width}px in {viewport}px)"


def check_out_and_watch(page: Page) -> None:
    page.get_by_role("link", name=re.compile("Check out")).click()
    expect(page).to_have_url(re.compile(r"/checkout$"))
    page.get_by_role("button", name=re.compile("Place order")).click()
    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f]+$"))


def add_to_cart(page: Page, shop: Shop, product_id: str, quantity: int = 1) -> None:
    page.goto(f"{shop.url('frontend')}/products/{product_id}")
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/cart$"))


@pytest.mark.parametrize("style", ["choreography", "orchestration"])
def test_a_customer_orders_two_products_and_watches_the_order_ship_live(
    page: Page, request: pytest.FixtureRequest, style: str,
) -> None:
    """The walkthrough in both saga styles (EVENTSHOP_SAGA); the README's screenshots come from the first."""
    shop: Shop = request.getfixturevalue("shop" if style == "choreography" else "orchestrated_shop")
    seed(shop.settings)  # the demo catalog (again: seeding finds what it made before)

    def shoot(name: str) -> None:
        if style == "choreography":
            screenshot(page, name)

    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text
            else None)
    teapot, tea = demo_product(shop, "TEAPOT-CAST"), demo_product(shop, "TEA-SENCHA")
    email = sign_up(page, shop)

    page.goto(shop.url("frontend"))
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    shoot("catalog")
    add_to_cart(page, shop, teapot["id"])
    page.goto(f"{shop.url('frontend')}/products/{tea['id']}")
    shoot("product")
    add_to_cart(page, shop, tea["id"], 2)
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    expect(page.get_by_test_id("cart-total")).to_have_text("€78.70")
    shoot("cart")

    check_out_and_watch(page)
    page.evaluate("window.__stillTheSamePage = true")
    expect(page.get_by_test_id("order-status")).to_have_text("Shipped", timeout=45_000)
    expect(page.get_by_test_id("order-headline")).to_have_text("Your order is on its way.")
    expect(page.get_by_test_id("timeline")).to_contain_text("Payment of €78.70 received")
    expect(page.get_by_test_id("tracking-number")).to_have_text(re.compile(r"\w{8,}"))
    assert page.evaluate("window.__stillTheSamePage") is True  # updated live, not reloaded
    assert blocked == [], "the Content-Security-Policy blocks nothing the shop's pages use"
    shoot("order-shipped")

    page.goto(f"{shop.url('mail')}/?to={email}")
    expect(page.get_by_role("link", name=re.compile("confirmed"))).to_be_visible(timeout=20_000)
    page.get_by_role("link", name=re.compile("has shipped")).click()
    expect(page.get_by_text("Tracking number")).to_be_visible()
    shoot("mail-inbox")


def test_a_shopper_filters_the_catalog_by_category_and_stock_with_the_keyboard_and_can_link_the_page(
        page: Page, shop: Shop) -> None:
    page.goto(shop.url("frontend"))
    categories = page.get_by_role("navigation", name="Categories")
    expect(categories.get_by_role("link", name="All products")).to_have_attribute("aria-current", "page")
    categories.get_by_role("link", name="Brewing gear").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/\?category=brewing$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Brewing gear")
    cards = page.get_by_test_id("product-card")
    expect(cards).to_have_count(8)
    expect(cards.filter(has_text="Lever Espresso Machine")).to_have_count(1)
    image = cards.first.get_by_role("img")
    expect(image).to_have_attribute("alt", re.compile(r"^Drawing of "))
    assert image.evaluate("img => img.complete && img.naturalWidth > 0"), "the drawing is shown"

    page.get_by_label("In stock only").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Apply")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"category=brewing&in_stock=1"))
    expect(cards).to_have_count(7)
    expect(cards.filter(has_text="Lever Espresso Machine")).to_have_count(0)
    expect(page.get_by_test_id("availability-badge").filter(has_text="Out of stock")).to_have_count(0)
    expect(page.get_by_test_id("result-count")).to_have_text("7 products in stock")

    page.get_by_label("Search products").fill("kettle")
    page.get_by_role("button", name="Search").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Brushed Steel Kettle")
    linked = page.url
    page.goto(linked)  # a filtered page is a link: it opens as it was
    expect(page.get_by_label("In stock only")).to_be_checked()
    expect(page.get_by_label("Search products")).to_have_value("kettle")
    expect(categories.get_by_role("link", name="Brewing gear")).to_have_attribute("aria-current", "page")
    categories.get_by_role("link", name="All products").click()
    expect(page).to_have_url(re.compile(r"/\?q=kettle&in_stock=1$"))
    page.goto(f"{shop.url('frontend')}/products/{demo_product(shop, 'TEA-SENCHA')['id']}")
    expect(page.get_by_role("img", name="Drawing of a cup of tea on a saucer")).to_be_visible()
    page.get_by_test_id("product-category").click()
    expect(page).to_have_url(re.compile(r"/\?category=tea$"))
    expect(cards).to_have_count(3)


def test_a_guest_cart_is_kept_through_sign_in_and_the_review_shows_address_card_and_total(
        page: Page, shop: Shop) -> None:
    kettle = demo_product(shop, "KETTLE-STEEL")
    email = f"ada-{uuid.uuid4().hex[:6]}@example.com"
    with shop.http("account") as account:
        account.post("/accounts", json={
            "name": "Ada Lovelace", "email": email, "password": "a very long password", "payment_token": "tok_visa",
            "address": {"street": "Invalidenstr. 1", "city": "Berlin", "postcode": "10115", "country": "DE"},
        }).raise_for_status()

    add_to_cart(page, shop, kettle["id"], 2)  # as a guest
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    expect(page.get_by_test_id("cart-count")).to_contain_text("2")
    page.get_by_role("link", name=re.compile("Check out")).click()
    expect(page).to_have_url(re.compile(r"/signin\?next=/checkout$"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("a very long password")
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/checkout$"))
    expect(page.get_by_text("The products you chose before signing in are in your cart.")).to_be_visible()
    page.get_by_test_id("edit-cart").click()
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    expect(page.get_by_test_id("cart-line")).to_contain_text(kettle["name"])
    expect(page.get_by_label(f"Quantity of {kettle['name']}")).to_have_value("2")
    page.get_by_role("link", name=re.compile("Check out")).click()

    expect(page.get_by_test_id("review-line")).to_have_count(1)
    expect(page.get_by_test_id("review-quantity")).to_have_text("2")
    expect(page.get_by_test_id("review-address")).to_contain_text("Invalidenstr. 1")
    expect(page.get_by_test_id("review-address")).to_contain_text("10115 Berlin")
    expect(page.get_by_test_id("review-address")).to_contain_text("Germany")
    expect(page.get_by_test_id("review-card")).to_have_text("Visa ending 4242")
    expect(page.get_by_test_id("review-total")).to_have_text("€99.80")
    screenshot(page, "checkout-review")
    page.get_by_role("button", name="Place order · €99.80").click()
    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f]+$"))
    expect(page.get_by_test_id("order-status")).to_have_text("Shipped", timeout=45_000)


def test_a_guessable_password_is_refused_with_the_reason_next_to_the_field(page: Page, shop: Shop) -> None:
    fill_sign_up(page, shop, "password")
    expect(page.locator("#password-error")).to_contain_text("This is a top-10 common password")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")


def test_a_declined_card_shows_the_order_cancelled_with_the_reason_in_words_on_a_phone(page: Page, shop: Shop) -> None:
    page.set_viewport_size(PHONE)
    product = add_product(shop, stock=5, price=990, name="Stoneware Mug")
    sign_up(page, shop, card="tok_declined")
    add_to_cart(page, shop, product["id"])
    check_out_and_watch(page)

    expect(page.get_by_test_id("order-status")).to_have_text("Cancelled", timeout=45_000)
    expect(page.get_by_test_id("order-reason")).to_have_text("The card was declined")
    expect(page.get_by_test_id("order-headline")).to_have_text("This order is cancelled: the card was declined.")
    expect(page.get_by_test_id("money-note")).to_have_text("Nothing was charged.")
    expect(page.get_by_test_id("live-note")).to_have_text("This order is closed: nothing more happens with it.")
    text = page.locator("main").inner_text()
    for wrong in ("Thank you", "This order is complete", "card_declined", "Payment failed"):
        assert wrong not in text, wrong
    assert_no_sideways_scrolling(page)
    screenshot(page, "order-cancelled")
    page.reload()
    expect(page.get_by_test_id("order-headline")).to_have_text("This order is cancelled: the card was declined.")
    page.goto(f"{page.url.rsplit('/orders/', 1)[0]}/orders")
    expect(page.get_by_test_id("order-row-reason")).to_have_text("The card was declined")
    expect(page.get_by_test_id("order-row-reason")).to_be_in_viewport()
    expect(page.get_by_test_id("order-row-refund")).to_have_count(0)  # nothing was charged
    assert_no_sideways_scrolling(page)


def test_an_order_that_cannot_be_shipped_shows_the_refund(page: Page, shop: Shop) -> None:
    product = add_product(shop, stock=5, price=2490, name="Espresso Tamper")
    sign_up(page, shop, postcode="00000")  # the logistics sandbox cannot deliver there
    add_to_cart(page, shop, product["id"])
    check_out_and_watch(page)

    expect(page.get_by_test_id("order-status")).to_have_text("Cancelled", timeout=45_000)
    expect(page.get_by_test_id("order-reason")).to_have_text("The carrier cannot deliver to this address")
    expect(page.get_by_test_id("money-note")).to_contain_text("The payment of €24.90 is refunded in full")
    expect(page.get_by_test_id("timeline")).to_contain_text("Payment of €24.90 received")
    assert "shipping_failed" not in page.locator("main").inner_text()
    page.get_by_role("link", name="Orders", exact=True).click()
    expect(page.get_by_test_id("order-row-refund")).to_have_text("Refunded €24.90")


def test_an_address_that_does_not_exist_is_refused_at_its_field(page: Page, shop: Shop) -> None:
    fill_sign_up(page, shop, "a very long password", postcode="1011")
    expect(page.locator("#postcode-error")).to_have_text("Enter a postcode such as 10115 (Germany)")
    expect(page.get_by_label("Postcode")).to_have_attribute("aria-invalid", "true")
    fill_sign_up(page, shop, "a very long password", postcode="10115", country="GB")
    expect(page.locator("#postcode-error")).to_contain_text("SW1A 1AA")
    expect(page.get_by_label("Country")).to_have_value("GB")


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


def test_pages_fit_a_phone_screen_with_two_products_a_row_and_unit_prices_in_the_cart(page: Page, shop: Shop) -> None:
    page.set_viewport_size(PHONE)
    kettle = demo_product(shop, "KETTLE-STEEL")
    page.goto(shop.url("frontend"))
    expect(page.get_by_role("link", name="Cart")).to_be_visible()
    cards = page.get_by_test_id("product-card")
    first, second, third = (cards.nth(n).bounding_box() for n in range(3))
    assert first and second and third and first["y"] == second["y"] < third["y"], "two products a row"
    search = page.get_by_role("search").bounding_box()
    assert search and search["y"] + search["height"] + 8 <= first["y"], "the search box keeps off the first card"
    assert_no_sideways_scrolling(page)
    screenshot(page, "phone-catalog")
    page.goto(f"{shop.url('frontend')}/?category=tea&in_stock=1")
    first, second = (cards.nth(n).bounding_box() for n in range(2))
    assert first and second and first["y"] == second["y"], "two products a row, filtered too"
    filters = page.get_by_role("navigation", name="Categories").bounding_box()
    assert filters and filters["y"] + filters["height"] <= first["y"], "the category links keep off the first card"
    assert_no_sideways_scrolling(page)
    page.goto(f"{shop.url('frontend')}/?page=99")
    expect(page.get_by_test_id("past-the-end")).to_contain_text("There is no page 99")
    page.get_by_role("link", name="Go to the first page").click()
    expect(cards.first).to_be_visible()

    sign_up(page, shop)
    assert_no_sideways_scrolling(page)
    add_to_cart(page, shop, kettle["id"], 2)
    expect(page.get_by_test_id("unit-price")).to_have_text("€49.90 each")
    expect(page.get_by_test_id("unit-price")).to_be_visible()
    assert_no_sideways_scrolling(page)
    for path in ("/products/" + kettle["id"], "/orders", "/account", "/signin"):
        page.goto(shop.url("frontend") + path)
        assert_no_sideways_scrolling(page)


def test_the_mail_inbox_and_an_order_email_read_well_on_a_phone(page: Page, shop: Shop) -> None:
    page.set_viewport_size(PHONE)
    kettle = demo_product(shop, "KETTLE-STEEL")
    email = sign_up(page, shop)
    add_to_cart(page, shop, kettle["id"], 2)
    check_out_and_watch(page)
    order_id = page.url.rsplit("/", 1)[1]

    page.goto(f"{shop.url('mail')}/?to={email}")
    confirmed = page.get_by_role("link", name=f"Order {order_id[:8]} confirmed")
    expect(confirmed).to_be_visible(timeout=20_000)
    expect(page.get_by_role("button", name="Delete all")).to_have_count(0)  # the customer's own link
    assert_no_sideways_scrolling(page)
    screenshot(page, "phone-mail-inbox")

    confirmed.click()
    expect(page.get_by_test_id("plain")).to_contain_text(f"2 x {kettle['name']} (€49.90 each): €99.80")
    assert_no_sideways_scrolling(page)
    body = page.frame_locator("iframe[title='HTML body']")
    expect(body.get_by_text("Hello Grace,")).to_be_visible()
    expect(body.get_by_role("link", name="View your order")).to_have_attribute(
        "href", f"{shop.url('frontend')}/orders/{order_id}")
    expect(body.get_by_text("€99.80").first).to_be_visible()
    frame = next(f for f in page.frames if f != page.main_frame)
    width, viewport = frame.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= viewport, f"the email's HTML scrolls sideways in the inbox ({width}px in {viewport}px)"
    screenshot(page, "phone-mail-message")

    page.goto(shop.url("mail"))  # the operator view: the shop's sandbox has its operator key, so it may delete
    expect(page.get_by_role("button", name="Delete all")).to_be_visible()
    assert_no_sideways_scrolling(page)
