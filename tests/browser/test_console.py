"""An operator in a real browser: sign in to the console, find an order, read its story and its trace; watch the event
flow's rates move while orders go through; switch an outage of the Payment System on and off again."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from eventshop.platform.identity import CONSOLE_PASSWORD, sandbox_operator_key
from tests.browser.conftest import screenshot
from tests.shop import Shop
from tests.system.shopping import add_product, final_order, order, sign_up

pytestmark = pytest.mark.browser
SOME_TRAFFIC = re.compile(r"^(<0\.1|\d+(\.\d)?)/s$")  # a rate, and not 0/s
REFRESH_TIMEOUT_MS = 40_000  # the page refreshes its figures every 5 s; a loaded machine takes longer


def sign_in(page: Page, shop: Shop, path: str) -> None:
    page.goto(f"{shop.console()}{path}")
    password = (shop.data_dir / "secrets" / "http" / CONSOLE_PASSWORD).read_text().strip()
    page.get_by_label("Console password").fill(password)
    page.get_by_role("button", name="Sign in").click()


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


def test_the_event_flow_shows_the_rates_of_orders_going_through_without_reloading(page: Page, shop: Shop) -> None:
    product = add_product(shop, stock=10, price=500)
    customer = sign_up(shop)
    sign_in(page, shop, "/flow")
    expect(page.get_by_role("heading", name="Event flow")).to_be_visible()
    page.evaluate("document.body.dataset.loadedOnce = 'yes'")  # gone if the page reloaded instead of refreshing

    placed = [order(shop, customer["id"], [(product["id"], 1)]) for _ in range(3)]
    with page.expect_response(lambda answer: answer.url.endswith("/flow.json") and answer.ok,
                              timeout=REFRESH_TIMEOUT_MS):
        pass  # the page's own refresh, not a reload

    published = page.locator('[data-topic="order"] [data-testid="published"]')
    expect(published).to_have_text(SOME_TRAFFIC, timeout=REFRESH_TIMEOUT_MS)
    reader = page.locator('tr[data-consumer="inventory--order"]')
    expect(reader.get_by_test_id("rate")).to_have_text(SOME_TRAFFIC, timeout=REFRESH_TIMEOUT_MS)
    for order_id in placed:
        final_order(shop, order_id)
    expect(page.locator('tr[data-consumer="order--shipping"] [data-testid="lag"]')).to_have_text(
        "0", timeout=REFRESH_TIMEOUT_MS)
    assert page.evaluate("document.body.dataset.loadedOnce") == "yes"
    expect(page.get_by_text(re.compile(r"Rates \(messages per second\) over the last \d+ s"))).to_be_visible()
    screenshot(page, "console-flow")


@pytest.fixture
def payment_system_restored(shop: Shop) -> Iterator[None]:
    """Whatever the test leaves switched on, the Payment System works again after it."""
    yield
    key = sandbox_operator_key(shop.settings, "payment-system")
    reset = httpx.put(f"{shop.url('payment-system')}/admin/faults", json={},
                      headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert reset.status_code == 200, reset.text


def test_an_operator_switches_an_outage_of_the_payment_system_on_and_off_and_the_order_waits_for_it(
    page: Page, shop: Shop, payment_system_restored: None
) -> None:
    product = add_product(shop, stock=3, price=1200)
    customer = sign_up(shop)
    sign_in(page, shop, "/")
    page.get_by_role("link", name="Fault switches").click()
    switches = page.locator('[data-sandbox="payment-system"]')
    expect(switches.get_by_test_id("current")).to_have_text("Now: no faults")

    switches.get_by_label("Error rate (0 to 1)").fill("2")
    switches.get_by_role("button", name="Apply to Payment System").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Payment System: not changed: error_rate: Input should be less than or equal to 1")
    switches = page.locator('[data-sandbox="payment-system"]')
    switches.get_by_label("Error rate (0 to 1)").fill("0")
    switches.get_by_label("Outage").check()
    switches.get_by_role("button", name="Apply to Payment System").click()
    expect(page.get_by_test_id("flash")).to_have_text("Payment System: outage.")
    expect(page.locator('[data-sandbox="payment-system"]').get_by_test_id("current")).to_have_text("Now: outage")
    down = httpx.get(f"{shop.url('payment-system')}/v1/test-tokens", timeout=10)
    assert (down.status_code, down.json()["error"]["code"]) == (503, "outage")

    order_id = order(shop, customer["id"], [(product["id"], 1)])
    page.get_by_role("link", name="Event flow").click()
    charging = page.locator('tr[data-consumer="payment--inventory"]')
    expect(charging.get_by_test_id("lag")).not_to_have_text("0", timeout=REFRESH_TIMEOUT_MS)
    expect(charging.get_by_test_id("redelivered")).not_to_have_text("0", timeout=REFRESH_TIMEOUT_MS)

    page.get_by_role("link", name="Fault switches").click()
    page.locator('[data-sandbox="payment-system"]').get_by_role("button", name="No faults").click()
    expect(page.get_by_test_id("flash")).to_have_text("Payment System: no faults.")
    assert final_order(shop, order_id)["status"] == "shipped"
