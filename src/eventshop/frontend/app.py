"""The Shop Frontend app: server-rendered pages over the services' APIs, sessions, CSRF, security headers, health."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from eventshop.frontend import (
    account_routes,
    cart_routes,
    catalog_routes,
    checkout_routes,
    order_routes,
    sessions,
)
from eventshop.frontend.clients import Backend
from eventshop.frontend.pages import TEMPLATES, error_page
from eventshop.frontend.sessions import FrontendSettings
from eventshop.platform.errors import DomainError
from eventshop.platform.identity import FRONTEND, load_keyring
from eventshop.platform.instrumentation import RequestInstruments
from eventshop.platform.security_headers import SECURITY_HEADERS, SecurityHeaders
from eventshop.platform.settings import Settings
from eventshop.platform.telemetry import LogContextMiddleware
from eventshop.platform.trace_routes import trace_router

log = logging.getLogger(__name__)


def create_app(settings: Settings, frontend: FrontendSettings | None = None) -> FastAPI:
    """The app; MissingKeys (a configuration error) without the frontend's key or cookie secret."""
    frontend = frontend or FrontendSettings()
    keyring = load_keyring(settings, FRONTEND)  # refuse to start without an HTTP identity
    secret = sessions.cookie_secret(settings, frontend)
    backend = Backend(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await backend.aclose()

    app = FastAPI(title="Shop Frontend", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(sessions.check_session), Depends(sessions.verify_csrf)])
    app.state.settings = settings
    app.state.backend = backend
    app.state.keyring = keyring  # verifies the operator's token on /ops/traces
    sessions.install_sessions(app, frontend, secret, backend)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestInstruments, service="frontend")
    app.add_middleware(LogContextMiddleware, start_ids=True)  # outside: a page's span continues a given trace
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    for module in (catalog_routes, cart_routes, checkout_routes, account_routes, order_routes):
        app.include_router(module.router)
    app.include_router(trace_router(FRONTEND))

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok", "service": "frontend"}

    @app.get("/health/ready")
    async def ready() -> dict[str, object]:
        """Ready when the frontend itself serves; which services answer is reported, not required."""
        return {"status": "ok", "service": "frontend", "services": await backend.answering()}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Public, like every service's: Prometheus scrapes it inside the deployment, it holds no customer data."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    install_error_pages(app, settings)
    return app


def install_error_pages(app: FastAPI, settings: Settings) -> None:
    """Every error is a page in the shop's layout: a message for people, never a stack trace."""

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> HTMLResponse:
        title = "This form has expired" if exc.code == "csrf_failed" else "Something went wrong"
        return error_page(request, exc.status, title, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
        if exc.status_code == 404:
            return error_page(request, 404, "Page not found", "There is nothing at this address.")
        if exc.status_code == 405:
            return error_page(request, 405, "Not here", "This address does not take that kind of request.")
        return error_page(request, exc.status_code, "Something went wrong", str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> HTMLResponse:
        if any(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
            return error_page(request, 404, "Page not found", "There is nothing at this address.")
        return error_page(request, 400, "That did not work", "The address has a value the shop does not understand.")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> HTMLResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        # Rendered outside the session middleware: nothing that reads or writes the session.
        return TEMPLATES.TemplateResponse(request, "error.html", {
            "customer": None, "csrf": "", "flashes": [], "cart_count": 0, "unavailable": [], "errors": {},
            "mail_url": settings.url("mail"), "title": "Something went wrong",
            "message": "The shop could not show this page. Please try again in a moment.",
        }, status_code=500, headers=SECURITY_HEADERS)  # this response bypasses the middleware
