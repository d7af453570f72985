"""Signed-cookie sessions and CSRF tokens for the shop's forms."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import Request

from eventshop.platform.errors import Forbidden


def customer(request: Request) -> dict[str, str] | None:
    found = request.session.get("customer")
    return found if isinstance(found, dict) else None


def sign_in(request: Request, account_id: str, name: str, email: str) -> None:
    request.session.clear()  # a new session on sign-in: no fixation
    request.session["customer"] = {"id": account_id, "name": name, "email": email}


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


def check_csrf(request: Request, form: dict[str, Any]) -> None:
    expected = request.session.get("csrf", "")
    given = str(form.get("csrf", ""))
    if not expected or not hmac.compare_digest(expected, given):
        raise Forbidden("the form expired or did not come from this shop; reload the page and try again",
                        code="csrf_failed")


def flash(request: Request, message: str, kind: str = "info") -> None:
    request.session.setdefault("flash", []).append({"message": message, "kind": kind})


def take_flashes(request: Request) -> list[dict[str, str]]:
    return list(request.session.pop("flash", []))
