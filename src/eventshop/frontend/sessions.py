"""Signed-cookie sessions (who is signed in, flash messages), checked against Account's server-side session,
the customer's token that Account hands out with each check, and the CSRF token of every form."""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from pydantic import Field
from pydantic_settings import SettingsConfigDict
from starlette.middleware.sessions import SessionMiddleware

from eventshop.frontend.clients import Backend, Unavailable
from eventshop.platform.errors import NotFound
from eventshop.platform.http import url_path
from eventshop.platform.identity import FRONTEND_SESSION_SECRET, MissingKeys, secrets_dir
from eventshop.platform.settings import EnvSettings, Settings
from eventshop.platform.web_session import csrf_token as csrf_token  # the app's pages use them from here
from eventshop.platform.web_session import flash as flash
from eventshop.platform.web_session import take_flashes as take_flashes
from eventshop.platform.web_session import verify_csrf as verify_csrf

DEV_SECRET = "eventshop-frontend-dev-secret"  # EVENTSHOP_DEV_SECRETS only
COOKIE = "eventshop_session"
MAX_AGE_SECONDS = 14 * 24 * 3600
log = logging.getLogger(__name__)


class FrontendSettings(EnvSettings):
    """The frontend's own settings (EVENTSHOP_FRONTEND_*)."""

    model_config = SettingsConfigDict(env_prefix="EVENTSHOP_FRONTEND_", extra="ignore")

    # Signs the session cookie; else <http secrets dir>/frontend-session.secret (written by `eventshop up`).
    secret: str | None = None
    # The cookie is sent over HTTPS only; `eventshop up` turns this off, since it serves plain http locally.
    secure_cookies: bool = True
    # How long a page may trust Account's last answer that a session is live: sign-out elsewhere (another
    # replica, a password change) takes effect within this time.
    session_check_seconds: float = Field(default=5.0, ge=0)


def cookie_secret(settings: Settings, frontend: FrontendSettings) -> str:
    """EVENTSHOP_FRONTEND_SECRET, else the file `eventshop up` writes; MissingKeys when neither is there."""
    if frontend.secret:
        return frontend.secret
    path = secrets_dir(settings) / FRONTEND_SESSION_SECRET
    if path.is_file():
        return path.read_text().strip()
    if settings.dev_secrets:
        return DEV_SECRET
    raise MissingKeys(f"no cookie secret (EVENTSHOP_FRONTEND_SECRET or {path}): run `eventshop up` once, "
                      "or set EVENTSHOP_DEV_SECRETS=true for development")


@dataclass
class Checked:
    at: float  # monotonic time of Account's last answer
    token: str | None  # the customer's token from that answer
    token_until: float  # monotonic time after which the token is renewed


class SessionChecks:
    """Account's recent answers about sessions, so a page costs Account at most one check every few seconds.

    Each answer carries a fresh customer token, kept here (not in the cookie) and renewed well before it expires.
    """

    MAX_ENTRIES = 10_000

    def __init__(self, backend: Backend, fresh_for: float) -> None:
        self.backend = backend
        self.fresh_for = fresh_for
        self.checked: dict[str, Checked] = {}

    async def live(self, session_id: str) -> bool:
        now = time.monotonic()
        found = self.checked.get(session_id)
        if found and now - found.at < self.fresh_for and now < found.token_until:
            return True
        try:
            answer = await self.backend.get("account", url_path("sessions", session_id))
        except NotFound:
            self.forget(session_id)
            return False
        except Unavailable:
            # Account is down: the cookie's word stands, so the shop stays usable; revocation waits for Account.
            log.warning("Account did not answer a session check; the session is trusted meanwhile")
            return True
        self.remember(session_id, answer)
        return True

    def remember(self, session_id: str, answer: dict[str, object]) -> None:
        """Keep Account's answer (a sign-in or a check) and the customer token in it."""
        now = time.monotonic()
        if len(self.checked) >= self.MAX_ENTRIES:
            self.checked = {sid: c for sid, c in self.checked.items() if now - c.at < self.fresh_for}
        token, until = answer.get("token"), now
        with contextlib.suppress(TypeError, ValueError):
            left = datetime.fromisoformat(str(answer["token_expires_at"])) - datetime.now(UTC)
            until = now + left.total_seconds() / 2  # renewed at half its life: never used near expiry
        self.checked[session_id] = Checked(now, str(token) if token else None, until)

    def token(self, session_id: str) -> str | None:
        found = self.checked.get(session_id)
        return found.token if found else None

    def forget(self, session_id: str) -> None:
        self.checked.pop(session_id, None)


def install_sessions(app: FastAPI, settings: FrontendSettings, secret: str, backend: Backend) -> None:
    """The session lives in a cookie signed with itsdangerous: HttpOnly, SameSite=Lax, Secure unless turned off."""
    app.state.session_checks = SessionChecks(backend, settings.session_check_seconds)
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie=COOKIE, same_site="lax",
                       https_only=settings.secure_cookies, max_age=MAX_AGE_SECONDS)


def customer(request: Request) -> dict[str, str] | None:
    found = request.session.get("customer")
    return found if isinstance(found, dict) and found.get("id") and found.get("session") else None


async def check_session(request: Request) -> None:
    """App-wide dependency: a cookie whose Account session has ended (signed out, password changed) signs out."""
    found = request.session.get("customer")
    if not found:
        return
    session_id = found.get("session") if isinstance(found, dict) else None
    if not session_id or not await checks(request).live(str(session_id)):
        request.session.clear()
        flash(request, "Your session has ended. Please sign in again.")


def checks(request: Request) -> SessionChecks:
    found: SessionChecks = request.app.state.session_checks
    return found


def sign_in(request: Request, opened: dict[str, object]) -> None:
    """Account opened a session (POST /sessions): remember who it is in the cookie, its token here."""
    request.session.clear()  # a fresh session (and CSRF token) on sign-in: no session fixation
    session = str(opened["session_id"])
    request.session["customer"] = {"id": str(opened["account_id"]), "name": str(opened["name"]),
                                   "email": str(opened["email"]), "session": session}
    checks(request).remember(session, opened)


def customer_token(request: Request) -> str | None:
    """The signed-in customer's token for their own resources, None when nobody is signed in."""
    sid = session_id(request)
    return checks(request).token(sid) if sid else None


def session_id(request: Request) -> str | None:
    who = customer(request)
    return who["session"] if who else None


def sign_out(request: Request) -> None:
    if sid := session_id(request):
        checks(request).forget(sid)
    request.session.clear()


def set_cart_count(request: Request, cart: dict[str, object] | None) -> None:
    lines = cart.get("lines") if cart else None
    request.session["cart_count"] = sum(int(line["quantity"]) for line in lines) if isinstance(lines, list) else 0


def cart_count(request: Request) -> int:
    return int(request.session.get("cart_count", 0))
