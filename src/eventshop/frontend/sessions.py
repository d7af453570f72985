"""Signed-cookie sessions (who is signed in, flash messages) and the CSRF token of every form."""

from __future__ import annotations

import hmac
import os
import secrets

from fastapi import FastAPI, Request
from starlette.middleware.sessions import SessionMiddleware

from eventshop.platform.errors import Forbidden

SECRET_ENV = "EVENTSHOP_FRONTEND_SECRET"
DEV_SECRET = "eventshop-frontend-dev-secret"
COOKIE = "eventshop_session"
MAX_AGE_SECONDS = 14 * 24 * 3600


def install_sessions(app: FastAPI) -> None:
    """The session lives in a cookie signed with itsdangerous: HttpOnly, SameSite=Lax."""
    app.add_middleware(SessionMiddleware, secret_key=os.environ.get(SECRET_ENV) or DEV_SECRET,
                       session_cookie=COOKIE, same_site="lax", https_only=False, max_age=MAX_AGE_SECONDS)


def customer(request: Request) -> dict[str, str] | None:
    found = request.session.get("customer")
    return found if isinstance(found, dict) and found.get("id") else None


def sign_in(request: Request, account_id: str, name: str, email: str) -> None:
    request.session.clear()  # a fresh session (and CSRF token) on sign-in: no session fixation
    request.session["customer"] = {"id": account_id, "name": name, "email": email}


def sign_out(request: Request) -> None:
    request.session.clear()


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


async def verify_csrf(request: Request) -> None:
    """App-wide dependency: every POST must carry this session's token in its `csrf` field."""
    if request.method != "POST":
        return
    form = await request.form()
    expected = str(request.session.get("csrf", ""))
    given = form.get("csrf")
    if not expected or not isinstance(given, str) or not hmac.compare_digest(expected.encode(), given.encode()):
        raise Forbidden("The form expired or did not come from this shop; reload the page and try again.",
                        code="csrf_failed")


def flash(request: Request, message: str, kind: str = "info") -> None:
    request.session.setdefault("flash", []).append({"message": message, "kind": kind})


def take_flashes(request: Request) -> list[dict[str, str]]:
    return list(request.session.pop("flash", []))


def set_cart_count(request: Request, cart: dict[str, object] | None) -> None:
    lines = cart.get("lines") if cart else None
    request.session["cart_count"] = sum(int(line["quantity"]) for line in lines) if isinstance(lines, list) else 0


def cart_count(request: Request) -> int:
    return int(request.session.get("cart_count", 0))
