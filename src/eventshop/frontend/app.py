"""The Shop Frontend app: server-rendered pages over the services' APIs, sessions, CSRF, health."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from eventshop.frontend import account_routes, order_routes, routes
from eventshop.frontend.clients import Backend
from eventshop.frontend.pages import render, secret
from eventshop.platform.errors import DomainError
from eventshop.platform.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.backend = Backend(settings)
        try:
            yield
        finally:
            await app.state.backend.aclose()

    app = FastAPI(title="Shop Frontend", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.add_middleware(SessionMiddleware, secret_key=secret(), session_cookie="eventshop_session",
                       same_site="lax", https_only=False, max_age=14 * 24 * 3600)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    for module in (routes, account_routes, order_routes):
        app.include_router(module.router)

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok", "service": "frontend"}

    @app.get("/health/ready")
    async def ready() -> dict[str, object]:
        answered = {}
        for name, client in app.state.backend.clients.items():
            try:
                answered[name] = (await client.http.get("/health/live", timeout=1)).status_code == 200
            except Exception:
                answered[name] = False
        return {"status": "ok", "service": "frontend", "services": answered}

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> HTMLResponse:
        return render(request, "error.html", status=exc.status, title="Something went wrong", message=exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> HTMLResponse | JSONResponse:
        if exc.status_code == 404:
            return render(request, "error.html", status=404, title="Page not found",
                          message="There is nothing at this address.")
        return render(request, "error.html", status=exc.status_code, title="Something went wrong",
                      message=str(exc.detail))

    return app
