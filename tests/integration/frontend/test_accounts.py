"""The frontend's account pages over the real Account service and its database: password policy, throttled
sign-in, server-side sessions, the Secure cookie and the security headers."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from eventshop.frontend.app import create_app
from eventshop.frontend.sessions import COOKIE, FrontendSettings
from eventshop.platform.settings import Settings
from eventshop.services.account.service import declare as account
from tests.conftest import running, serving

from .standins import csrf_of

DEAD = "http://127.0.0.1:9"
PASSWORD = "correct horse battery"
# No cache of Account's answers: a revoked session is refused on the very next page.
PLAIN_HTTP = FrontendSettings(secure_cookies=False, session_check_seconds=0)
SIGNUP = {"name": "Ada Lovelace", "email": "ada@example.com", "password": PASSWORD, "street": "Main St 1",
          "postcode": "10115", "city": "Berlin", "country": "DE", "payment_token": "tok_visa"}


@contextlib.asynccontextmanager
async def shop(settings: Settings, frontend: FrontendSettings = PLAIN_HTTP) -> AsyncIterator[str]:
    """Account for real; the other services the pages call are down (the pages say so and render)."""
    settings.service_urls.update({name: DEAD for name in ("catalog", "cart", "order", "payment-system")})
    async with running(account(), settings), serving(create_app(settings, frontend)) as url:
        yield url


@contextlib.asynccontextmanager
async def browser(url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=url, timeout=20) as client:
        yield client


async def post_form(web: httpx.AsyncClient, page: str, action: str, **fields: str) -> httpx.Response:
    token = csrf_of((await web.get(page)).text)
    return await web.post(action, data={"csrf": token, **fields})


async def sign_in(web: httpx.AsyncClient, password: str = PASSWORD) -> httpx.Response:
    return await post_form(web, "/signin", "/signin", email="ada@example.com", password=password)


async def test_sign_up_refuses_a_common_password_with_the_reason_next_to_the_field(
    settings: Settings, clean_broker: None
) -> None:
    async with shop(settings) as url, browser(url) as web:
        weak = await post_form(web, "/signup", "/signup", **SIGNUP | {"password": "password"})
        assert weak.status_code == 422
        assert re.search(r'id="password-error">This is a top-10 common password\.', weak.text)
        assert re.search(r'id="password"[^>]*aria-describedby="password-error"', weak.text)
        created = await post_form(web, "/signup", "/signup", **SIGNUP)
        assert created.status_code == 303
        assert (await web.get("/account")).status_code == 200, "signed in with a server-side session"


async def test_a_copied_session_cookie_no_longer_works_after_sign_out(settings: Settings, clean_broker: None) -> None:
    async with shop(settings) as url, browser(url) as web, browser(url) as thief:
        await post_form(web, "/signup", "/signup", **SIGNUP)
        copied = web.cookies[COOKIE]
        thief.cookies.set(COOKIE, copied)
        assert (await thief.get("/account")).status_code == 200
        assert (await post_form(web, "/account", "/signout")).status_code == 303
        reused = await thief.get("/account")
        assert reused.status_code == 303 and reused.headers["location"] == "/signin?next=/account"


async def test_changing_the_password_signs_out_every_other_device(settings: Settings, clean_broker: None) -> None:
    async with shop(settings) as url, browser(url) as laptop, browser(url) as phone:
        await post_form(laptop, "/signup", "/signup", **SIGNUP)
        assert (await sign_in(phone)).status_code == 303
        wrong = await post_form(laptop, "/account", "/account/password", current_password="not it",
                                new_password="a brand new secret")
        assert wrong.status_code == 422 and 'id="current_password-error">The current password is wrong' in wrong.text
        weak = await post_form(laptop, "/account", "/account/password", current_password=PASSWORD,
                               new_password="12345678")
        assert weak.status_code == 422 and re.search(r'id="new_password-error">This is a top-10 common', weak.text)
        assert (await phone.get("/account")).status_code == 200

        changed = await post_form(laptop, "/account", "/account/password", current_password=PASSWORD,
                                  new_password="a brand new secret")
        assert changed.status_code == 303
        assert "Every other device is signed out" in (await laptop.get("/account")).text
        assert (await phone.get("/account")).status_code == 303
        assert "Your session has ended" in (await phone.get("/signin")).text
        assert (await sign_in(phone, "a brand new secret")).status_code == 303


async def test_changing_the_email_keeps_the_shopper_signed_in_and_the_new_email_signs_in(
    settings: Settings, clean_broker: None
) -> None:
    async with shop(settings) as url, browser(url) as web:
        await post_form(web, "/signup", "/signup", **SIGNUP)
        wrong = await post_form(web, "/account", "/account/email", email="ada@king.example",
                                email_current_password="not it")
        assert wrong.status_code == 422 and 'id="email_current_password-error">The current password' in wrong.text
        changed = await post_form(web, "/account", "/account/email", email="ADA@king.example",
                                  email_current_password=PASSWORD)
        assert changed.status_code == 303
        assert 'data-testid="account-email">ada@king.example<' in (await web.get("/account")).text
        await post_form(web, "/account", "/signout")
        assert (await sign_in(web)).status_code == 401
        again = await post_form(web, "/signin", "/signin", email="ada@king.example", password=PASSWORD)
        assert again.status_code == 303


async def test_repeated_wrong_passwords_show_when_to_try_again_even_for_the_right_one(
    settings: Settings, clean_broker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTSHOP_ACCOUNT_SIGN_IN_FAILURES_PER_ACCOUNT", "3")
    async with shop(settings) as url, browser(url) as web:
        await post_form(web, "/signup", "/signup", **SIGNUP)
        await post_form(web, "/account", "/signout")
        for _ in range(3):
            assert (await sign_in(web, "wrong password")).status_code == 401
        refused = await sign_in(web)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 800
        assert re.search(r'role="alert" id="form-error">Too many failed sign-in attempts for this account\. '
                         r'Try again in 15 minutes \(after \d\d:\d\d UTC\)\.', refused.text)


async def test_every_page_carries_the_security_headers(settings: Settings, clean_broker: None) -> None:
    async with shop(settings) as url, browser(url) as web:
        for path in ("/", "/signin", "/static/shop.css", "/no/such/page", "/health/live"):
            headers = (await web.get(path)).headers
            assert "default-src 'self'" in headers["content-security-policy"], path
            assert "frame-ancestors 'none'" in headers["content-security-policy"], path
            assert headers["x-frame-options"] == "DENY", path
            assert headers["referrer-policy"] == "same-origin", path
            assert headers["x-content-type-options"] == "nosniff", path


async def test_the_session_cookie_is_secure_unless_turned_off(settings: Settings, clean_broker: None) -> None:
    async with shop(settings, FrontendSettings()) as url, browser(url) as web:
        cookie = (await web.get("/signin")).headers["set-cookie"].lower()
        assert cookie.startswith(f"{COOKIE}=") and "; secure" in cookie and "httponly" in cookie
    async with shop(settings) as url, browser(url) as web:
        assert "secure" not in (await web.get("/signin")).headers["set-cookie"].lower()


async def test_sign_up_and_the_account_page_show_an_address_error_at_its_field(
    settings: Settings, clean_broker: None
) -> None:
    async with shop(settings) as url, browser(url) as web:
        form = (await web.get("/signup")).text
        assert re.search(r'<select id="country" name="country"', form) and '<option value="DE" >Germany' in form
        assert "Country code" not in form
        refused = await post_form(web, "/signup", "/signup", **SIGNUP | {"postcode": "1011"})
        assert refused.status_code == 422
        assert re.search(r'id="postcode-error">Enter a postcode such as 10115 \(Germany\)', refused.text)
        assert re.search(r'id="postcode"[^>]*aria-invalid="true"', refused.text)
        unknown = await post_form(web, "/signup", "/signup", **SIGNUP | {"country": "XX"})
        assert unknown.status_code == 422 and 'id="country-error">Choose your country from the list.' in unknown.text
        assert (await post_form(web, "/signup", "/signup", **SIGNUP)).status_code == 303

        change = {k: SIGNUP[k] for k in ("name", "street", "city", "payment_token")}
        moved = await post_form(web, "/account", "/account", **change, country="GB", postcode="10115")
        assert moved.status_code == 422
        assert re.search(r'id="postcode-error">Enter a postcode such as SW1A 1AA', moved.text)
        assert re.search(r'<option value="GB" selected>United Kingdom', moved.text), "the entry is kept to correct"
        fixed = await post_form(web, "/account", "/account", **change, country="GB", postcode="sw1a 1aa")
        assert fixed.status_code == 303
        assert 'value="SW1A 1AA"' in (await web.get("/account")).text
