"""Sign-up, sign-in, sign-out and the account page (address, test card, email, password, deactivation)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pycountry
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from eventshop.frontend import guest_cart, sessions
from eventshop.frontend.clients import Unavailable
from eventshop.frontend.pages import (
    backend,
    could_not,
    form_of,
    frontend_backend,
    message_of,
    redirect,
    render,
    signin_redirect,
)
from eventshop.platform.auth import CLIENT_ADDRESS_HEADER
from eventshop.platform.errors import DomainError, NotFound
from eventshop.platform.http import url_path

log = logging.getLogger(__name__)

router = APIRouter()
ADDRESS = ("street", "postcode", "city", "country")
REQUIRED = {
    "name": "Enter your full name.",
    "email": "Enter your email address.",
    "password": "Choose a password.",
    "street": "Enter your street and house number.",
    "postcode": "Enter your postcode.",
    "city": "Enter your city.",
    "country": "Choose your country.",
    "payment_token": "Choose a test card.",
    "current_password": "Enter your current password.",
    "new_password": "Choose a new password.",
    "email_current_password": "Enter your current password.",
}
SIGNUP = ("name", "email", "password", *ADDRESS, "payment_token")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# The select's choices: every ISO 3166-1 country, by the name people use. Account checks the choice again.
COUNTRIES = sorted(((c.alpha_2, getattr(c, "common_name", None) or c.name) for c in pycountry.countries),
                   key=lambda country: country[1])
COUNTRY_CODES = frozenset(code for code, _ in COUNTRIES)
# Service error codes that belong to one field, so the message can sit next to it.
CODE_FIELDS = {"email_taken": "email", "weak_password": "password", "invalid_payment_token": "payment_token",
               "wrong_current_password": "current_password"}
PASSWORD_HINT = "At least 8 characters, and hard to guess: a few uncommon words work well."


def check_fields(values: dict[str, str], fields: tuple[str, ...]) -> dict[str, str]:
    """What the form misses before the Account service is asked; the service has the final word."""
    errors = {field: REQUIRED[field] for field in fields if not values.get(field)}
    if "email" in fields and values.get("email") and not EMAIL.fullmatch(values["email"]):
        errors["email"] = "Enter an email address such as name@example.com."
    if "country" in fields and values.get("country") and values["country"] not in COUNTRY_CODES:
        errors["country"] = "Choose your country from the list."
    return errors


def field_errors(exc: DomainError, renamed: dict[str, str] | None = None) -> dict[str, str]:
    """The service's validation details mapped to form fields (`renamed`: service field -> form field)."""
    errors: dict[str, str] = {}
    for field, message in _problems(exc):
        field = field.split(".")[-1]
        errors.setdefault(field if field in REQUIRED else "form", message_of(Exception(message)))
    if exc.code in CODE_FIELDS:
        errors[CODE_FIELDS[exc.code]] = message_of(exc)
    errors = {(renamed or {}).get(field, field): message for field, message in errors.items()}
    return errors or {"form": message_of(exc)}


def _problems(exc: DomainError) -> list[tuple[str, str]]:
    """(field, message) pairs: a validation error lists its fields; a domain rule (invalid_address) names one."""
    if isinstance(exc.details, list):
        return [(str(item.get("field", "")), str(item.get("message", ""))) for item in exc.details
                if isinstance(item, dict)]
    if isinstance(exc.details, dict) and "field" in exc.details:
        return [(str(exc.details["field"]), exc.message)]
    return []


def client_address(request: Request) -> dict[str, str]:
    """The shopper's address for Account's per-address sign-in limit (uvicorn applies trusted proxies' headers)."""
    return {CLIENT_ADDRESS_HEADER: request.client.host if request.client else "unknown"}


async def open_session(request: Request, email: str, password: str) -> dict[str, Any]:
    found: dict[str, Any] = await frontend_backend(request).send(
        "account", "POST", "/sessions", {"email": email, "password": password}, headers=client_address(request))
    sessions.sign_in(request, found)
    return found


def safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would let a link sign people in elsewhere."""
    return target if target and target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


@router.get("/signup", response_class=HTMLResponse)
async def signup_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "signup.html", cards=await backend(request).test_cards(), values={},
                  password_hint=PASSWORD_HINT, countries=COUNTRIES, next=safe_next(next))


@router.post("/signup", response_class=HTMLResponse, response_model=None)
async def signup(request: Request) -> HTMLResponse | RedirectResponse:
    form = await form_of(request)
    values = {field: form.get(field, "") for field in SIGNUP if field != "password"}
    password, target = form.get("password", ""), safe_next(form.get("next"))
    errors = check_fields({**values, "password": password}, SIGNUP)
    unavailable: list[str] = []
    if not errors:
        body: dict[str, Any] = {
            "name": values["name"], "email": values["email"], "password": password,
            "payment_token": values["payment_token"], "address": {field: values[field] for field in ADDRESS},
        }
        try:
            created = await backend(request).send("account", "POST", "/accounts", body)
        except DomainError as exc:
            errors = field_errors(exc)
        except Unavailable:
            unavailable.append(could_not("create your account"))
        else:
            chosen = guest_cart.lines(request)  # signing in starts a fresh session
            try:
                await open_session(request, values["email"], password)
            except (DomainError, Unavailable):
                sessions.flash(request, f"Welcome, {created['name']}! Your account is ready; please sign in.")
                return redirect(f"/signin?next={quote(target)}")
            sessions.flash(request, f"Welcome, {created['name']}! Your account is ready.")
            await guest_cart.merge(request, created["id"], chosen)
            return redirect(target)
    return render(request, "signup.html", status=422 if errors else 200, cards=await backend(request).test_cards(),
                  values=values, errors=errors, unavailable=unavailable, password_hint=PASSWORD_HINT,
                  countries=COUNTRIES, next=target)


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "signin.html", next=safe_next(next), email="")


@router.post("/signin", response_class=HTMLResponse, response_model=None)
async def signin(request: Request) -> HTMLResponse | RedirectResponse:
    form = await form_of(request)
    email, password, target = form.get("email", ""), form.get("password", ""), safe_next(form.get("next"))
    errors = check_fields({"email": email, "password": password}, ("email", "password"))
    if errors:
        return render(request, "signin.html", status=422, next=target, errors=errors, email=email)
    chosen = guest_cart.lines(request)  # signing in starts a fresh session
    try:
        found = await open_session(request, email, password)
    except DomainError as exc:
        message = {"invalid_credentials": "The email or password is wrong.",
                   "account_deactivated": "This account is deactivated."}.get(exc.code, message_of(exc))
        page = render(request, "signin.html", status=exc.status if exc.status in (401, 403, 429) else 422,
                      next=target, errors={"form": message}, email=email)
        if exc.code == "too_many_attempts" and isinstance(exc.details, dict):
            page.headers["Retry-After"] = str(exc.details.get("retry_after_seconds", ""))
        return page
    except Unavailable:
        return render(request, "signin.html", next=target, email=email, unavailable=[could_not("sign you in")])
    shop = backend(request)  # now with the customer's token
    sessions.set_cart_count(request, await shop.optional(shop.get("cart", url_path("carts", found["account_id"])), []))
    sessions.flash(request, f"Hello again, {found['name']}.")
    await guest_cart.merge(request, found["account_id"], chosen)
    return redirect(target)


@router.post("/signout")
async def signout(request: Request) -> RedirectResponse:
    if session_id := sessions.session_id(request):
        try:
            await frontend_backend(request).send("account", "DELETE", url_path("sessions", session_id))
        except (DomainError, Unavailable):
            # The cookie is cleared all the same; the server-side session then ends when it expires.
            log.warning("Account did not end a session at sign-out")
    sessions.sign_out(request)
    sessions.flash(request, "You are signed out.")
    return redirect("/")


async def _account_page(request: Request, who: dict[str, str], status: int = 200, errors: dict[str, str] | None = None,
                        values: dict[str, str] | None = None, new_email: str = "") -> HTMLResponse | RedirectResponse:
    """The account as the service has it, or with the customer's entries when they need correcting."""
    unavailable: list[str] = []
    shop = backend(request)
    try:
        found = await shop.optional(shop.get("account", url_path("accounts", who['id'])), unavailable)
    except NotFound:
        sessions.sign_out(request)
        return signin_redirect(request, "/account")
    shown = values or ({"name": found["name"], "payment_token": found["payment_token"], **found["address"]}
                       if found else {})
    return render(request, "account.html", status=status, account=found, cards=await shop.test_cards(),
                  errors=errors or {}, shown=shown, unavailable=unavailable, password_hint=PASSWORD_HINT,
                  countries=COUNTRIES, new_email=new_email)


@router.get("/account", response_class=HTMLResponse, response_model=None)
async def account(request: Request) -> HTMLResponse | RedirectResponse:
    who = sessions.customer(request)
    if who is None:
        return signin_redirect(request)
    return await _account_page(request, who)


async def _patch_account(request: Request, who: dict[str, str], form: dict[str, str], fields: tuple[str, ...],
                         body: Callable[[], dict[str, Any]], doing: str,
                         renamed: dict[str, str] | None = None) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Change the account once `fields` are filled in: the account as changed, or the errors to show at the fields."""
    errors = check_fields(form, fields)
    if errors:
        return None, errors
    try:
        changed: dict[str, Any] = await backend(request).send("account", "PATCH", url_path("accounts", who["id"]),
                                                               body())
    except DomainError as exc:
        return None, field_errors(exc, renamed)
    except Unavailable:
        return None, {"form": could_not(doing)}
    return changed, {}


@router.post("/account", response_class=HTMLResponse, response_model=None)
async def update_account(request: Request) -> HTMLResponse | RedirectResponse:
    form = await form_of(request)
    if (who := sessions.customer(request)) is None:
        return signin_redirect(request, "/account")
    changed, errors = await _patch_account(
        request, who, form, ("name", *ADDRESS, "payment_token"),
        lambda: {"name": form["name"], "payment_token": form["payment_token"],
                 "address": {field: form[field] for field in ADDRESS}},
        "save your changes")
    if changed is None:
        return await _account_page(request, who, status=422, errors=errors, values=form)
    request.session["customer"] = {**who, "name": changed["name"]}
    sessions.flash(request, "Your account is updated.")
    return redirect("/account")


@router.post("/account/password", response_class=HTMLResponse, response_model=None)
async def change_password(request: Request) -> HTMLResponse | RedirectResponse:
    form = await form_of(request)
    if (who := sessions.customer(request)) is None:
        return signin_redirect(request, "/account")
    changed, errors = await _patch_account(
        request, who, form, ("current_password", "new_password"),
        lambda: {"password": form["new_password"], "current_password": form["current_password"],
                 "keep_session_id": who["session"]},
        "change your password", renamed={"password": "new_password"})
    if changed is None:
        return await _account_page(request, who, status=422, errors=errors)
    sessions.flash(request, "Your password is changed. Every other device is signed out.")
    return redirect("/account")


@router.post("/account/email", response_class=HTMLResponse, response_model=None)
async def change_email(request: Request) -> HTMLResponse | RedirectResponse:
    form = await form_of(request)
    if (who := sessions.customer(request)) is None:
        return signin_redirect(request, "/account")
    changed, errors = await _patch_account(
        request, who, form, ("email", "email_current_password"),
        lambda: {"email": form["email"], "current_password": form["email_current_password"]},
        "change your email", renamed={"current_password": "email_current_password"})
    if changed is None:
        return await _account_page(request, who, status=422, errors=errors, new_email=form.get("email", ""))
    request.session["customer"] = {**who, "email": changed["email"]}
    sessions.flash(request, f"Your email is now {changed['email']}. Use it to sign in from now on.")
    return redirect("/account")


@router.post("/account/deactivate")
async def deactivate(request: Request) -> RedirectResponse:
    form = await form_of(request)
    who = sessions.customer(request)
    if who is None:
        return signin_redirect(request, "/account")
    if form.get("confirm") != "yes":
        sessions.flash(request, "Tick the box to confirm that you want to deactivate your account.", "error")
        return redirect("/account#deactivate")
    try:
        await backend(request).send("account", "POST", url_path("accounts", who['id'], "deactivate"),
                                    {"reason": "customer request"})
    except Unavailable:
        sessions.flash(request, could_not("deactivate your account"), "error")
        return redirect("/account")
    except DomainError as exc:
        sessions.flash(request, message_of(exc), "error")
        return redirect("/account")
    sessions.sign_out(request)
    sessions.flash(request, "Your account is deactivated. We are sorry to see you go.")
    return redirect("/")
