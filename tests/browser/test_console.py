"""An operator in a real browser: sign in to the console, find an order, read its story and its trace."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from eventshop.platform.identity import CONSOLE_PASSWORD
from tests.browser.conftest import screenshot
from tests.shop import Shop
from tests.system.shopping import add_product, final_order, order, sign_up

pytestmark = pytest.mark.browser


def test_an_operator_signs_in_finds_an_order_and_reads_its_story_and_trace(page: Page, shop: Shop) -> None:
    product = add_product(shop, stock=3, price=1999)
    customer = sign_up(shop)
    order_id = order(shop, customer["id"], [(product["id"], 1)])
    final_order(shop, order_id)
    console = shop.console()

    page.goto(f"{console}/orders")
    expect(page.get_by_role("heading", name="Operator sign-in")).to_be_visible()
    page.get_by_label("Console password").fill("a wrong guess")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That is not the console password.")
    password = (shop.data_dir / "secrets" / "http" / CONSOLE_PASSWORD).read_text().strip()
    page.get_by_label("Console password").fill(password)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    page.get_by_label("Order or customer id").fill(order_id)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name=f"Order {order_id}")).to_be_visible()
    expect(page.get_by_test_id("order-status")).to_have_text("shipped")
    story = page.get_by_test_id("story")
    for source in ("Order", "Payment", "Shipping"):
        expect(story.locator(f'tr[data-source="{source}"]').first).to_be_visible()
    expect(page.get_by_test_id("payment")).to_contain_text("€19.99")
    screenshot(page, "console-order")

    # The checkout's trace as a waterfall, drawn from the spans each process keeps.
    waterfall = page.get_by_test_id("waterfall").first
    for service in ("cart", "order", "payment", "shipping"):
        expect(waterfall.locator(f'tr[data-service="{service}"]').first).to_be_visible()
    expect(waterfall.locator('tr[data-depth="0"]').first).to_contain_text("POST /carts/{customer_id}/checkout")
    expect(waterfall.locator('tr[data-kind="consumer"] rect').first).to_be_visible()
    waterfall.evaluate("panel => panel.scrollIntoView()")  # its heading and first rows on the screenshot
    screenshot(page, "console-trace")

    page.get_by_role("link", name="Processes").click()
    expect(page.locator('tr[data-process="order"] .state')).to_have_text("ready")
    screenshot(page, "console-processes")
