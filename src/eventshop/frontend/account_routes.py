"""Sign-up, sign-in, sign-out and the account page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from eventshop.frontend import sessions
from eventshop.frontend.clients import Unavailable
from eventshop.frontend.pages import backend, form_of, optional, redirect, render, signin_redirect
from eventshop.platform.errors import DomainError

router = APIRouter()
ADDRESS = ("street", "city", "postcode", "country")


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


def _field_errors(exc: DomainError) -> dict[str, str]:
    """Map the service's validation details to form fields, so messages sit next to them."""
    errors: dict[str, str] = {}
    if isinstance(exc.details, list):
        for item in exc.details:
            field = str(item.get("field", "")).split(".")[-1]
            errors.setdefault(field or "form", str(item.get("message", "")))
    codes = {"email_taken": "email", "weak_password": "password", "invalid_payment_token": "payment_token"}
    if exc.code in codes:
        errors[codes[exc.code]] = exc.message
    return errors or {"form": exc.message}


@router.get("/signup", response_class=HTMLResponse)
async def signup_page(request: Request) -> HTMLResponse:
    return render(request, "signup.html", cards=await backend(request).test_cards(), values={}, errors={})


@router.post("/signup", response_class=HTMLResponse, response_model=None)
async def signup(request: Request) -> HTMLResponse | RedirectResponse:
    form = await form_of(request)
    values = {k: str(v).strip() for k, v in form.items() if k not in ("csrf", "password")}
    body: dict[str, Any] = {
        "name": values.get("name", ""), "email": values.get("email", ""), "password": str(form.get("password", "")),
        "payment_token": values.get("payment_token", ""), "address": {k: values.get(k, "") for k in ADDRESS},
    }
    try:
        created = await backend(request).send("account", "POST", "/accounts", body)
    except (DomainError, Unavailable) as exc:
        errors = _field_errors(exc) if isinstance(exc, DomainError) else {"form": str(exc)}
        return render(request, "signup.html", status=422, cards=await backend(request).test_cards(),
                      values=values, errors=errors)
    sessions.sign_in(request, created["id"], created["name"], created["email"])
    sessions.flash(request, f"Welcome, {created['name']}! Your account is ready.")
    return redirect("/")


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "signin.html", next=_safe_next(next), errors={}, email="")


@router.post("/signin", response_class=HTMLResponse, response_model=None)
async def signin(request: Request) -> HTMLResponse | RedirectResponse:
    form = await form_of(request)
    email, target = str(form.get("email", "")).strip(), _safe_next(str(form.get("next", "/")))
    try:
        found = await backend(request).send("account", "POST", "/sessions",
                                            {"email": email, "password": str(form.get("password", ""))})
    except (DomainError, Unavailable) as exc:
        message = exc.message if isinstance(exc, DomainError) else str(exc)
        if isinstance(exc, DomainError) and exc.code == "validation_error":
            message = "Enter your email and password."
        return render(request, "signin.html", status=401, next=target, errors={"form": message}, email=email)
    sessions.sign_in(request, found["account_id"], found["name"], found["email"])
    return redirect(target)


@router.post("/signout")
async def signout(request: Request) -> RedirectResponse:
    await form_of(request)
    request.session.clear()
    sessions.flash(request, "You are signed out.")
    return redirect("/")


@router.get("/account", response_class=HTMLResponse, response_model=None)
async def account(request: Request) -> HTMLResponse | RedirectResponse:
    who = sessions.customer(request)
    if who is None:
        return signin_redirect(request)
    unavailable: list[str] = []
    found = await optional(backend(request).get("account", f"/accounts/{who['id']}"), unavailable)
    return render(request, "account.html", account=found, cards=await backend(request).test_cards(),
                  errors={}, unavailable=unavailable)


@router.post("/account", response_class=HTMLResponse, response_model=None)
async def update_account(request: Request) -> HTMLResponse | RedirectResponse:
    form = await form_of(request)
    who = sessions.customer(request)
    if who is None:
        return signin_redirect(request)
    body = {"address": {k: str(form.get(k, "")).strip() for k in ADDRESS},
            "payment_token": str(form.get("payment_token", "")), "name": str(form.get("name", "")).strip()}
    try:
        await backend(request).send("account", "PATCH", f"/accounts/{who['id']}", body)
    except (DomainError, Unavailable) as exc:
        errors = _field_errors(exc) if isinstance(exc, DomainError) else {"form": str(exc)}
        found = await optional(backend(request).get("account", f"/accounts/{who['id']}"), [])
        return render(request, "account.html", status=422, account=found, errors=errors,
                      cards=await backend(request).test_cards())
    sessions.flash(request, "Your account is updated.")
    return redirect("/account")


@router.post("/account/deactivate")
async def deactivate(request: Request) -> RedirectResponse:
    form = await form_of(request)
    who = sessions.customer(request)
    if who is None:
        return signin_redirect(request)
    if form.get("confirm") != "yes":
        sessions.flash(request, "Tick the box to confirm that you want to deactivate your account.", "error")
        return redirect("/account")
    try:
        await backend(request).send("account", "POST", f"/accounts/{who['id']}/deactivate",
                                    {"reason": "customer request"})
    except (DomainError, Unavailable) as exc:
        sessions.flash(request, exc.message if isinstance(exc, DomainError) else str(exc), "error")
        return redirect("/account")
    request.session.clear()
    sessions.flash(request, "Your account is deactivated. We are sorry to see you go.")
    return redirect("/")
