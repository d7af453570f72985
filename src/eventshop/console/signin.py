"""The operator's sign-in: the console password, a signed session cookie, a CSRF token on every form."""

from __future__ import annotations

import hmac
import secrets
import time
from collections import deque
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from pydantic import Field
from pydantic_settings import SettingsConfigDict
from starlette.middleware.sessions import SessionMiddleware

from eventshop.platform.errors import RateLimited
from eventshop.platform.identity import CONSOLE_PASSWORD, CONSOLE_SESSION_SECRET, MissingKeys, secrets_dir
from eventshop.platform.settings import EnvSettings, Settings
from eventshop.platform.web_session import csrf_token as csrf_token  # the app's pages use them from here
from eventshop.platform.web_session import flash as flash
from eventshop.platform.web_session import take_flashes as take_flashes
from eventshop.platform.web_session import verify_csrf as verify_csrf

COOKIE = "eventshop_console"
FAILURES_ALLOWED = 5  # wrong passwords per minute before sign-in pauses
FAILURE_WINDOW_SECONDS = 60.0


class ConsoleSettings(EnvSettings):
    """EVENTSHOP_CONSOLE_*: the password and cookie secret (else files in the HTTP secrets directory)."""

    model_config = SettingsConfigDict(env_prefix="EVENTSHOP_CONSOLE_", extra="ignore")

    password: str | None = None
    secret: str | None = None
    # The session cookie only over https; `eventshop up` (plain http on this machine) turns it off.
    secure_cookies: bool = True
    session_hours: float = Field(default=8.0, gt=0, le=24 * 30)
    # The shop runs the three sandboxes (their health and fault switches are shown); false where the real
    # providers stand in their place.
    sandboxes: bool = True


def _secret(settings: Settings, given: str | None, name: str, variable: str) -> str:
    if given:
        return given
    path: Path = secrets_dir(settings) / name
    if path.is_file() and (text := path.read_text().strip()):
        return text
    raise MissingKeys(f"no {name} ({variable} or {path}): run `eventshop up` once (it writes it)")


def console_password(settings: Settings, console: ConsoleSettings) -> str:
    """EVENTSHOP_CONSOLE_PASSWORD, else <http secrets dir>/console-password (written by `eventshop up`)."""
    return _secret(settings, console.password, CONSOLE_PASSWORD, "EVENTSHOP_CONSOLE_PASSWORD")


def install_sessions(app: FastAPI, settings: Settings, console: ConsoleSettings) -> None:
    """The session cookie, signed with the console's secret; MissingKeys without one."""
    secret = _secret(settings, console.secret, CONSOLE_SESSION_SECRET, "EVENTSHOP_CONSOLE_SECRET")
    app.state.password = console_password(settings, console)
    app.state.failures = deque(maxlen=FAILURES_ALLOWED)
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie=COOKIE, same_site="strict",
                       https_only=console.secure_cookies, max_age=int(console.session_hours * 3600))


class SignInFirst(Exception):
    """A page asked for without a signed-in session: the app answers with the sign-in page."""

    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


async def signed_in(request: Request) -> None:
    """Dependency of every page but sign-in: the operator's session, else off to sign in."""
    if not request.session.get("operator"):
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInFirst(back)


def signin_url(back: str) -> str:
    return f"/signin?next={quote(back)}"


def safe_next(raw: str | None) -> str:
    """Only a path of this console: never an address elsewhere (`//host`, `https://...`)."""
    return raw if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw else "/"


def sign_in(request: Request, password: str) -> bool:
    """True (and a fresh session) when the password is the console's; wrong ones in a row pause sign-in."""
    failures: deque[float] = request.app.state.failures
    now = time.monotonic()
    if len(failures) == FAILURES_ALLOWED and now - failures[0] < FAILURE_WINDOW_SECONDS:
        wait = int(FAILURE_WINDOW_SECONDS - (now - failures[0])) + 1
        raise RateLimited("Too many wrong passwords; wait a minute and try again.", retry_after_seconds=wait)
    expected: str = request.app.state.password
    if not hmac.compare_digest(expected.encode(), password.encode()):
        failures.append(now)
        return False
    request.session.clear()
    request.session.update({"operator": True, "csrf": secrets.token_urlsafe(24)})
    return True


def sign_out(request: Request) -> None:
    request.session.clear()
