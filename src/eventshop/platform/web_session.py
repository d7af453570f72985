"""What the server-rendered apps (the shop's frontend, the operator console) do with their signed session cookie:
a CSRF token every form carries, and one-time messages shown on the next page."""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

from eventshop.platform.errors import Forbidden


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
        raise Forbidden("The form expired or did not come from this site; reload the page and try again.",
                        code="csrf_failed")


def flash(request: Request, message: str, kind: str = "info") -> None:
    request.session.setdefault("flash", []).append({"message": message, "kind": kind})


def take_flashes(request: Request) -> list[dict[str, str]]:
    return list(request.session.pop("flash", []))
