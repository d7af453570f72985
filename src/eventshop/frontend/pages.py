"""Rendering shared by the frontend's routes: templates, money, forms, redirects."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from eventshop.frontend import sessions
from eventshop.frontend.clients import Backend
from eventshop.platform.errors import DomainError

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
MAX_QUANTITY = 99


def money(amount: int | None, currency: str | None = "EUR") -> str:
    """Integer minor units as a price: 1250 EUR -> "€12.50"."""
    if amount is None:
        return ""
    units, cents = divmod(abs(int(amount)), 100)
    value = f"{'-' if amount < 0 else ''}{units:,}.{cents:02d}"
    code = (currency or "EUR").upper()
    return f"{SYMBOLS[code]}{value}" if code in SYMBOLS else f"{value} {code}"


# Why an order was cancelled, in the customer's words; the code stays visible for the curious.
REASONS = {
    "out_of_stock": "Some items were out of stock",
    "card_declined": "The card was declined",
    "insufficient_funds": "The card has insufficient funds",
    "expired_card": "The card has expired",
    "invalid_payment_method": "The payment method is not valid",
    "account_deactivated": "The account is deactivated",
    "undeliverable_address": "The carrier cannot deliver to this address",
    "country_not_served": "The carrier does not deliver to this country",
}


def reason_text(code: str | None) -> str:
    """"card_declined" -> "The card was declined (card_declined)"; unknown codes read as words."""
    if not code:
        return ""
    return f"{REASONS.get(code, code.replace('_', ' ').capitalize())} ({code})"


TEMPLATES.env.filters["money"] = money
TEMPLATES.env.filters["reason"] = reason_text


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
