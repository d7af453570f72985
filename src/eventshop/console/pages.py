"""Rendering shared by the console's routes: templates, money, ages, redirects."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from eventshop.console import signin
from eventshop.console.calls import OperatorCalls
from eventshop.contracts import wording
from eventshop.contracts.money import format_money

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def money(amount: int | None, currency: str | None = "EUR") -> str:
    return "" if amount is None else format_money(amount, currency or "EUR")


def duration(seconds: float | None) -> str:
    """`3h05m`, `4m09s`, `12s`: an age or uptime at a glance."""
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def age_of(moment: str | datetime | None) -> float | None:
    """Seconds since an ISO time (as the services write them, UTC when it carries no zone)."""
    if moment is None:
        return None
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return (datetime.now(UTC) - when).total_seconds()


def when(moment: str | datetime | None) -> str:
    """A service's time as `2025-01-31 14:05:09` (UTC)."""
    if moment is None:
        return ""
    found = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return found.strftime("%Y-%m-%d %H:%M:%S")


TEMPLATES.env.filters["money"] = money
TEMPLATES.env.filters["duration"] = duration
TEMPLATES.env.filters["age"] = lambda moment: duration(age_of(moment))
TEMPLATES.env.filters["when"] = when
TEMPLATES.env.filters["reason"] = wording.reason_text


def calls(request: Request) -> OperatorCalls:
    found: OperatorCalls = request.app.state.calls
    return found


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("unavailable", [])
    return TEMPLATES.TemplateResponse(request, template, {
        "signed_in": bool(request.session.get("operator")),
        "csrf": signin.csrf_token(request),
        "flashes": signin.take_flashes(request),
        **context,
    }, status_code=status)


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render(request, "error.html", status=status, title=title, message=message)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
