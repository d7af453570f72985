"""Checkout over the stand-ins: the review page before the order is placed, and the cart of a shopper who has not
signed in yet, kept in the cookie and added to the customer's cart at sign-in and sign-up."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx

from eventshop.frontend.sessions import COOKIE

from .standins import PASSWORD, csrf_of, open_shop, post_form, sign_in


def cookie_of(web: httpx.AsyncClient) -> dict[str, Any]:
    """What the signed session cookie holds (itsdangerous: base64 JSON, then timestamp and signature)."""
    payload = web.cookies[COOKIE].split(".")[0]
    found: dict[str, Any] = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    return found


async def test_the_review_page_shows_items_address_card_and_total_and_places_the_order() -> None:
    async with open_shop() as (web, shop):
        account = await sign_in(web, shop)
        await post_form(web, "/products/kettle", "/cart/add", product_id="kettle", quantity=2)
        await post_form(web, "/products/cups", "/cart/add", product_id="cups", quantity=1)
        assert 'href="/checkout">Check out · €112.30' in (await web.get("/cart")).text

        review = await web.get("/checkout")
        assert review.status_code == 200 and review.text.count('data-testid="review-line"') == 2
        assert re.search(r"<td>Gooseneck Kettle</td>\s*<td[^>]*>2</td>\s*<td>€49.90</td>\s*<td>€99.80</td>",
                         review.text)
        assert re.search(r'data-testid="review-address">Ada Lovelace<br>Main St 1<br>10115 Berlin<br>Germany<',
                         review.text)
        assert 'data-testid="review-card">Visa ending 4242</p>' in review.text and "tok_visa" not in review.text
        assert 'data-testid="review-total">€112.30<' in review.text
        for link in ('href="/cart" data-testid="edit-cart"', 'href="/account" data-testid="edit-address"',
                     'href="/account" data-testid="edit-card"'):
            assert link in review.text, link
        assert 'name="expected_total" value="11230"' in review.text
        assert f'name="cart_id" value="cart-{account["id"]}"' in review.text

        placed = await web.post("/checkout", data={"csrf": csrf_of(review.text), "expected_total": "11230",
                                                    "cart_id": f"cart-{account['id']}"})
        assert placed.status_code == 303 and re.fullmatch(r"/orders/[0-9a-f]{32}", placed.headers["location"])
        assert shop.carts[account["id"]] == []


async def test_a_price_change_between_review_and_placing_asks_to_confirm_the_new_total() -> None:
    async with open_shop() as (web, shop):
        await sign_in(web, shop)
        await post_form(web, "/products/cups", "/cart/add", product_id="cups", quantity=2)
        review = await web.get("/checkout")
        shop.products["cups"]["price"] = 1400
        changed = await web.post("/checkout", data={"csrf": csrf_of(review.text), "expected_total": "2500"})
        assert changed.status_code == 409 and "Some prices changed" in changed.text
        assert re.search(r"Espresso Cups: was <s>€12.50</s>, now <strong>€14.00</strong>", changed.text)
        assert "Confirm new prices and place order · €28.00" in changed.text
        confirmed = await web.post("/checkout", data={"csrf": csrf_of(changed.text), "expected_total": "2800"})
        assert confirmed.status_code == 303 and confirmed.headers["location"].startswith("/orders/")


async def test_the_review_page_needs_a_signed_in_customer_with_products_in_the_cart() -> None:
    async with open_shop() as (web, shop):
        guest = await web.get("/checkout")
        assert guest.status_code == 303 and guest.headers["location"] == "/signin?next=/checkout"
        assert "sign in or create an account to check out" in (await web.get("/signin?next=/checkout")).text
        await sign_in(web, shop)
        empty = await web.get("/checkout")
        assert empty.headers["location"] == "/cart"
        assert "Your cart is empty" in (await web.get("/cart")).text


async def test_a_guest_cart_keeps_only_ids_and_quantities_and_shows_the_catalogs_names_and_prices() -> None:
    async with open_shop() as (web, shop):
        added = await post_form(web, "/products/kettle", "/cart/add", product_id="kettle", quantity=1)
        assert added.status_code == 303 and added.headers["location"] == "/cart"
        await post_form(web, "/products/cups", "/cart/add", product_id="cups", quantity=2)
        assert cookie_of(web)["guest_cart"] == {"kettle": 1, "cups": 2}
        assert "Gooseneck" not in json.dumps(cookie_of(web)) and "4990" not in json.dumps(cookie_of(web))
        shop.products["kettle"]["price"] = 5290
        cart = await web.get("/cart")
        assert cart.text.count('data-testid="cart-line"') == 2 and "€52.90 each" in cart.text
        assert 'data-testid="cart-total">€77.90<' in cart.text and 'data-testid="guest-note"' in cart.text
        assert re.search(r'data-testid="cart-count">.*3.*items', cart.text)

        too_many = await post_form(web, "/products/cups", "/cart/add", product_id="cups", quantity=2)
        assert too_many.headers["location"] == "/products/cups"
        assert "Only 3 of Espresso Cups can be ordered right now. You already have 2" in (await web.get("/")).text
        sold_out = await post_form(web, "/products/grinder", "/cart/add", product_id="grinder", quantity=1)
        assert sold_out.headers["location"] == "/products/grinder"
        await post_form(web, "/cart", "/cart/update", product_id="kettle", quantity=3)
        await post_form(web, "/cart", "/cart/remove", product_id="cups")
        assert cookie_of(web)["guest_cart"] == {"kettle": 3}
        del shop.products["kettle"]
        gone = await web.get("/cart")
        assert "no longer in the catalog" in gone.text and 'data-testid="cart-line"' not in gone.text
        assert "guest_cart" not in cookie_of(web)


async def test_signing_in_from_checkout_adds_the_guest_cart_to_the_customers_and_lands_on_the_review() -> None:
    # 37 kettles in the cart, 5 chosen as a guest, 40 in stock: 3 are added; cups sold out and beans gone: skipped
    async with open_shop() as (web, shop):
        account = shop.account()
        shop.carts[account["id"]] = [{"product_id": "kettle", "sku": "KETTLE", "name": "Gooseneck Kettle",
                                      "quantity": 37, "unit_price": 4990, "currency": "EUR"}]
        for product_id, quantity in (("kettle", 5), ("cups", 2), ("beans", 1)):
            await post_form(web, f"/products/{product_id}", "/cart/add", product_id=product_id, quantity=quantity)
        shop.products["cups"]["availability"] = {"status": "out_of_stock", "available": 0}
        del shop.products["beans"]
        assert (await web.get("/checkout")).headers["location"] == "/signin?next=/checkout"
        signed = await post_form(web, "/signin?next=/checkout", "/signin", email=account["email"], password=PASSWORD,
                                 next="/checkout")
        assert signed.status_code == 303 and signed.headers["location"] == "/checkout"
        assert [(line["product_id"], line["quantity"]) for line in shop.carts[account["id"]]] == [("kettle", 40)]
        review = (await web.get("/checkout")).text
        for message in ("Espresso Cups is out of stock, so it is not in your cart.",
                        "A product you chose is no longer in the catalog",
                        "Your cart now has 40 of Gooseneck Kettle, the most that can be ordered.",
                        "The products you chose before signing in are in your cart."):
            assert message in review, message
        assert re.search(r"<td>Gooseneck Kettle</td>\s*<td[^>]*>40</td>", review)
        assert "guest_cart" not in cookie_of(web)
        await post_form(web, "/cart", "/signout")
        assert 'data-testid="cart-line"' not in (await web.get("/cart")).text, "merged, then cleared"


async def test_signing_up_adds_the_guest_cart_to_the_new_account() -> None:
    async with open_shop() as (web, shop):
        await post_form(web, "/products/kettle", "/cart/add", product_id="kettle", quantity=2)
        signin = (await web.get("/signin?next=/checkout")).text
        assert 'href="/signup?next=/checkout"' in signin
        form = {"name": "Grace Hopper", "email": "grace@example.com", "password": PASSWORD, "street": "A 1",
                "postcode": "10117", "city": "Berlin", "country": "DE", "payment_token": "tok_visa"}
        created = await post_form(web, "/signup?next=/checkout", "/signup", **form, next="/checkout")
        assert created.status_code == 303 and created.headers["location"] == "/checkout"
        [grace] = [a for a in shop.accounts.values() if a["email"] == "grace@example.com"]
        assert [(line["product_id"], line["quantity"]) for line in shop.carts[grace["id"]]] == [("kettle", 2)]
        review = (await web.get("/checkout")).text
        assert 'data-testid="review-total">€99.80<' in review and "Welcome, Grace Hopper" in review


async def test_a_guest_cart_that_cannot_be_added_at_sign_in_is_kept_and_added_on_the_cart_page() -> None:
    async with open_shop() as (web, shop):
        account = shop.account()
        await post_form(web, "/products/kettle", "/cart/add", product_id="kettle", quantity=2)
        shop.cart_down = True
        signed = await post_form(web, "/signin", "/signin", email=account["email"], password=PASSWORD, next="/")
        assert signed.status_code == 303
        assert "We could not add the products you chose to your cart just now; they are kept" in \
            (await web.get("/")).text
        assert cookie_of(web)["guest_cart"] == {"kettle": 2}
        shop.cart_down = False
        cart = await web.get("/cart")
        assert cart.text.count('data-testid="cart-line"') == 1 and "The products you chose" in cart.text
        assert [(line["product_id"], line["quantity"]) for line in shop.carts[account["id"]]] == [("kettle", 2)]
        assert "guest_cart" not in cookie_of(web)
