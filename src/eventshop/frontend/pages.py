"""Rendering shared by the frontend's routes: templates, money, forms, redirects."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from eventshop.contracts import wording
from eventshop.contracts.money import format_money
from eventshop.frontend import sessions
from eventshop.frontend.clients import Backend
from eventshop.platform.errors import DomainError

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
MAX_QUANTITY = 99
TRY_AGAIN = "Please try again in a minute."


def money(amount: int | None, currency: str | None = "EUR") -> str:
    """Integer minor units as a price, the one way the shop writes money: 1250 EUR -> "€12.50"."""
    return "" if amount is None else format_money(amount, currency or "EUR")


def could_not(what: str, *, kept: str = "") -> str:
    """What a shopper reads when a service did not answer an action: what did not happen, and what to do."""
    return f"We could not {what} just now{'; ' + kept if kept else ''}. {TRY_AGAIN}"


TEMPLATES.env.filters["money"] = money
TEMPLATES.env.filters["reason"] = wording.reason_text
TEMPLATES.env.filters["status"] = wording.status_text
TEMPLATES.env.tests["refunded"] = wording.refunded


def frontend_backend(request: Request) -> Backend:
    """Calls as the frontend itself (sessions): the services see the frontend's own token."""
    found: Backend = request.app.state.backend
    return found


def backend(request: Request) -> Backend:
    """Calls on the signed-in customer's behalf, with their token (catalog pages need none)."""
    return frontend_backend(request).for_customer(sessions.customer_token(request))


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("unavailable", [])
    context.setdefault("errors", {})
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "customer": sessions.customer(request),
            "csrf": sessions.csrf_token(request),
            "flashes": sessions.take_flashes(request),
            "mail_url": request.app.state.settings.url("mail"),
            "cart_count": sessions.cart_count(request),
            **context,
        },
        status_code=status,
    )


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render(request, "error.html", status=status, title=title, message=message)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def form_of(request: Request) -> dict[str, str]:
    """The posted form's text fields, trimmed except passwords (the CSRF token was checked app-wide)."""
    return {key: value if "password" in key else value.strip()
            for key, value in (await request.form()).items() if isinstance(value, str)}


def signin_redirect(request: Request, back: str | None = None) -> RedirectResponse:
    sessions.flash(request, "Please sign in first.")
    return redirect(f"/signin?next={quote(back or request.url.path)}")


def message_of(exc: Exception) -> str:
    text = exc.message if isinstance(exc, DomainError) else str(exc)
    return text[:1].upper() + text[1:]


def quantity_of(raw: str | None) -> int | None:
    """A quantity from a form field, or None when it is not a whole number in range."""
    try:
        quantity = int(raw or "")
    except ValueError:
        return None
    return quantity if 0 <= quantity <= MAX_QUANTITY else None
