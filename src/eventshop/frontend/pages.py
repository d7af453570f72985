"""Rendering helpers shared by the frontend's routes: templates, money, forms, redirects."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from eventshop.frontend import sessions
from eventshop.frontend.clients import Backend, Unavailable

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def money(amount: int | None, currency: str | None = "EUR") -> str:
    if amount is None:
        return ""
    value = f"{amount // 100}.{amount % 100:02d}"
    return f"€{value}" if currency == "EUR" else f"{value} {currency}"


TEMPLATES.env.filters["money"] = money


def backend(request: Request) -> Backend:
    found: Backend = request.app.state.backend
    return found


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("unavailable", [])
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "customer": sessions.customer(request),
            "csrf": sessions.csrf_token(request),
            "flashes": sessions.take_flashes(request),
            "mail_url": request.app.state.settings.url("mail"),
            "cart_count": request.session.get("cart_count", 0),
            **context,
        },
        status_code=status,
    )


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def form_of(request: Request) -> dict[str, Any]:
    form = dict(await request.form())
    sessions.check_csrf(request, form)
    return form


def require_customer(request: Request) -> dict[str, str] | None:
    return sessions.customer(request)


def signin_redirect(request: Request) -> RedirectResponse:
    sessions.flash(request, "Please sign in first.")
    return redirect(f"/signin?next={request.url.path}")


async def optional(call: Any, unavailable: list[str]) -> Any:
    """Await a backend call; on Unavailable, note the service and return None."""
    try:
        return await call
    except Unavailable as exc:
        unavailable.append(str(exc))
        return None


def secret() -> str:
    return os.environ.get("EVENTSHOP_FRONTEND_SECRET", "eventshop-frontend-dev-secret")
