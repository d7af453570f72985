"""The operator console app: sign-in, the pages over the services and the broker, security headers, health."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from eventshop.console import deadletter_routes, fault_routes, order_routes, signin, signin_routes, status_routes
from eventshop.console.calls import OperatorCalls
from eventshop.console.pages import TEMPLATES, error_page
from eventshop.console.rates import RateSampler
from eventshop.console.signin import ConsoleSettings, SignInFirst
from eventshop.platform.errors import DomainError, RateLimited
from eventshop.platform.security_headers import SECURITY_HEADERS, SecurityHeaders
from eventshop.platform.settings import Settings
from eventshop.platform.telemetry import LogContextMiddleware

log = logging.getLogger(__name__)


def create_app(settings: Settings, console: ConsoleSettings | None = None) -> FastAPI:
    """The app; MissingKeys (a configuration error) without the operator's key, the password or the secret."""
    console = console or ConsoleSettings()
    operator = OperatorCalls(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await operator.aclose()

    app = FastAPI(title="eventshop console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(signin.verify_csrf)])
    app.state.settings = settings
    app.state.calls = operator
    app.state.rates = RateSampler()
    app.state.console = console
    signin.install_sessions(app, settings, console)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(LogContextMiddleware, start_ids=True)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    for module in (signin_routes, status_routes, deadletter_routes, order_routes, fault_routes):
        app.include_router(module.router)

    @app.get("/health/live")
    @app.get("/health/ready")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": "console"}

    install_error_pages(app)
    return app


def install_error_pages(app: FastAPI) -> None:
    """Every error is a page in the console's layout; a page that needs the operator sends them to sign in."""

    @app.exception_handler(SignInFirst)
    async def sign_in_first(request: Request, exc: SignInFirst) -> RedirectResponse:
        return RedirectResponse(signin.signin_url(exc.back), status_code=303)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> HTMLResponse:
        page = error_page(request, exc.status, "That did not work", exc.message)
        if isinstance(exc, RateLimited):
            page.headers["Retry-After"] = str(exc.retry_after_seconds)
        return page

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
        if exc.status_code == 404:
            return error_page(request, 404, "Page not found", "There is nothing at this address.")
        return error_page(request, exc.status_code, "That did not work", str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> HTMLResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
        return error_page(request, 400, "That did not work", f"The address or form has a bad value ({problems}).")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> HTMLResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        # Rendered outside the session middleware: nothing that reads or writes the session.
        return TEMPLATES.TemplateResponse(request, "error.html", {
            "signed_in": False, "csrf": "", "flashes": [], "unavailable": [], "title": "Something went wrong",
            "message": "The console could not show this page; the console's log has the details.",
        }, status_code=500, headers=SECURITY_HEADERS)
