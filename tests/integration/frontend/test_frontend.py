"""The Shop Frontend's pages over HTTP, against small stand-ins of the service APIs it calls (docs/api.md)."""

from __future__ import annotations

import asyncio
import re

import pytest

from .standins import PASSWORD, csrf_of, open_shop, post_form, product, sign_in, sse_events


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
        past = await web.get("/", params={"page": 99})
        assert "No products yet" not in past.text and "There is no page 99" in past.text
        assert re.search(r'<a href="/">Go to the first page</a>', past.text)


async def test_the_catalog_filters_by_category_and_stock_in_links_that_keep_the_other_filters() -> None:
    async with open_shop() as (web, shop):
        home = (await web.get("/")).text
        assert re.search(r'<a href="/" aria-current="page">All products</a>', home)
        assert '<a href="/?category=brewing" >Brewing gear</a>' in home and "Sweet treats" not in home  # none in it
        assert 'alt="Drawing of Gooseneck Kettle"' in home
        brewing = (await web.get("/", params={"category": "brewing"})).text
        assert brewing.count('data-testid="product-card"') == 2 and "<h1>Brewing gear</h1>" in brewing
        assert '<a href="/?category=brewing" aria-current="page">Brewing gear</a>' in brewing
        assert '<input type="hidden" name="category" value="brewing">' in brewing
        in_stock = (await web.get("/", params={"category": "brewing", "in_stock": "1"})).text
        assert in_stock.count('data-testid="product-card"') == 1 and "Gooseneck Kettle" in in_stock
        assert re.search(r'id="in_stock"[^>]*checked', in_stock) and "1 product in stock" in in_stock
        assert '<a href="/?in_stock=1" >All products</a>' in in_stock
        assert '<a href="/?category=coffee&amp;in_stock=1" >Coffee</a>' in in_stock
        none = (await web.get("/", params={"q": "beans", "in_stock": "1"})).text
        assert "No products match “beans” in stock." in none
        for n in range(13):
            shop.products[f"mug{n}"] = product(f"mug{n}", f"Mug {n}", 900, "in_stock", 9, "tableware")
        first = (await web.get("/", params={"q": "mug", "category": "tableware", "in_stock": "1"})).text
        assert '<a href="/?q=mug&amp;category=tableware&amp;in_stock=1&amp;page=2" rel="next">' in first
        unknown = await web.get("/", params={"category": "lamps"})
        assert unknown.status_code == 404 and "Category not found" in unknown.text


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
        form = {
            "name": "Grace Hopper",
            "email": "not-an-email",
            "password": PASSWORD,
            "street": "",
            "postcode": "10117",
            "city": "Berlin",
            "country": "DE",
            "payment_token": "tok_visa",
        }
        local = await post_form(web, "/signup", "/signup", **form)
        assert local.status_code == 422
        for field in ("email", "street"):
            assert re.search(rf'id="{field}"[^>]*aria-describedby="{field}-error"', local.text)
            assert f'id="{field}-error"' in local.text
        assert 'value="Grace Hopper"' in local.text and PASSWORD not in local.text

        shop.account(email="grace@example.com")
        taken = await post_form(web, "/signup", "/signup", **{**form, "email": "grace@example.com", "street": "A 1"})
        assert taken.status_code == 422 and re.search(r'id="email-error">An account with this email exists', taken.text)
        weak = await post_form(
            web, "/signup", "/signup", **{**form, "email": "g2@example.com", "street": "A 1", "password": "short"}
        )
        assert re.search(r'id="password-error">The password needs at least 8 characters', weak.text)
        long_name = await post_form(
            web, "/signup", "/signup", **{**form, "email": "g3@example.com", "street": "A 1", "name": "G" * 40}
        )
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
        changed = await post_form(
            web,
            "/account",
            "/account",
            name="Ada King",
            street="New Road 2",
            postcode="10117",
            city="Berlin",
            country="DE",
            payment_token="tok_declined",
        )
        assert changed.status_code == 303
        assert shop.accounts[account["id"]]["address"]["street"] == "New Road 2"
        assert shop.accounts[account["id"]]["payment_token"] == "tok_declined"
        await post_form(web, "/account", "/account/deactivate")
        assert shop.accounts[account["id"]]["status"] == "active"
        await post_form(web, "/account", "/account/deactivate", confirm="yes")
        assert shop.accounts[account["id"]]["status"] == "deactivated"


async def test_the_account_page_changes_the_email_with_the_current_password() -> None:
    async with open_shop() as (web, shop):
        account = await sign_in(web, shop)
        shop.account("Grace Hopper", "grace@example.com")
        page = (await web.get("/account")).text
        assert 'action="/account/email"' in page and 'id="email_current_password"' in page
        wrong = await post_form(web, "/account", "/account/email", email="ada@king.example",
                                email_current_password="not it")
        assert wrong.status_code == 422
        assert 'id="email_current_password-error">The current password is wrong' in wrong.text
        assert 'value="ada@king.example"' in wrong.text, "the entry is kept to correct"
        taken = await post_form(web, "/account", "/account/email", email="grace@example.com",
                                email_current_password=PASSWORD)
        assert taken.status_code == 422 and 'id="email-error">An account with this email exists' in taken.text
        malformed = await post_form(web, "/account", "/account/email", email="ada", email_current_password=PASSWORD)
        assert malformed.status_code == 422 and 'id="email-error">Enter an email address such as' in malformed.text
        assert shop.accounts[account["id"]]["email"] == "ada@example.com"

        changed = await post_form(web, "/account", "/account/email", email="Ada@King.example",
                                  email_current_password=PASSWORD)
        assert changed.status_code == 303 and shop.accounts[account["id"]]["email"] == "ada@king.example"
        after = (await web.get("/account")).text
        assert "Your email is now ada@king.example" in after
        assert 'data-testid="account-email">ada@king.example<' in after


async def test_the_account_page_changes_the_password_with_the_current_one() -> None:
    async with open_shop() as (web, shop):
        account = await sign_in(web, shop)
        wrong = await post_form(web, "/account", "/account/password", current_password="not it",
                                new_password="a brand new secret")
        assert wrong.status_code == 422 and 'id="current_password-error">The current password is wrong' in wrong.text
        short = await post_form(web, "/account", "/account/password", current_password=PASSWORD, new_password="short")
        assert short.status_code == 422 and 'id="new_password-error">The password needs at least 8' in short.text
        missing = await post_form(web, "/account", "/account/password", current_password="", new_password="")
        assert 'id="current_password-error">Enter your current password' in missing.text
        changed = await post_form(web, "/account", "/account/password", current_password=PASSWORD,
                                  new_password="a brand new secret")
        assert changed.status_code == 303 and shop.accounts[account["id"]]["password"] == "a brand new secret"
        assert "Your password is changed" in (await web.get("/account")).text


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
        assert cart.status_code == 200 and "We cannot show your cart just now. Please try again" in cart.text
        assert "Service" not in cart.text
        assert "Traceback" not in cart.text
        ready = (await web.get("/health/ready")).json()
        assert ready["status"] == "ok" and ready["services"]["cart"] is False and ready["services"]["order"] is True


async def test_pages_render_when_the_catalog_and_order_services_are_down() -> None:
    async with open_shop(down=("catalog", "order")) as (web, shop):
        await sign_in(web, shop)
        home = await web.get("/")
        assert home.status_code == 200 and "We cannot show the products just now" in home.text
        orders = await web.get("/orders")
        assert orders.status_code == 200 and "We cannot show your orders just now" in orders.text
        assert "Service" not in home.text + orders.text
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
            assert await anext(events) == ("end", {"status": "shipped", "note": "This order is complete."})
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


async def test_a_cancelled_order_reads_as_cancelled_with_the_reason_and_the_refund() -> None:
    async with open_shop() as (web, shop):
        await sign_in(web, shop)
        await post_form(web, "/products/kettle", "/cart/add", product_id="kettle", quantity=1)
        done = await post_form(web, "/cart", "/checkout")
        order_id = done.headers["location"].rsplit("/", 1)[1]
        shop.advance(order_id, "paid", "PaymentProcessedEvent")
        shop.advance(order_id, "cancelled", "ShippingFailedEvent", reason="shipping_failed:undeliverable_address")
        page = (await web.get(done.headers["location"])).text
        assert "This order is cancelled: the carrier cannot deliver to this address." in page
        assert "The payment of €49.90 is refunded in full" in page
        for internal in ("shipping_failed", "undeliverable_address", "Thank you", "This order is complete", "handled"):
            assert internal not in page, internal
        history = (await web.get("/orders")).text
        assert re.search(r'data-testid="order-row-reason">The carrier cannot deliver to this address<', history)
        assert re.search(r'data-testid="order-row-refund">Refunded €49.90<', history)


async def test_a_checkout_while_a_service_is_down_says_what_to_do_and_logs_the_failed_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with open_shop() as (web, shop):
        await sign_in(web, shop)
        await post_form(web, "/products/kettle", "/cart/add", product_id="kettle", quantity=1)
        shop.failing_checkout = True
        with caplog.at_level("WARNING", logger="eventshop.frontend.clients"):
            refused = await post_form(web, "/cart", "/checkout")
        assert refused.headers["location"] == "/cart"
        cart = (await web.get("/cart")).text
        assert "We could not place your order just now; your cart is kept. Please try again in a minute." in cart
        assert "Service" not in cart and "unavailable" not in cart
        [line] = [r.getMessage() for r in caplog.records if "backend call failed" in r.getMessage()]
        assert "service=cart POST /carts/" in line and "dependency_unavailable" in line
        assert re.search(r"correlation_id=[0-9a-f]{32}", line)
