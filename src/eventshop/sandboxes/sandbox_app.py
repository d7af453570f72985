"""What every sandbox app has: JSON errors, health routes, failure injection, an optional API key."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from eventshop.platform.apidocs import install_api_docs
from eventshop.platform.errors import ERROR_RESPONSES
from eventshop.sandboxes.errors import install_error_handlers, sandbox_error
from eventshop.sandboxes.faults import FaultConfig, install_faults
from eventshop.sandboxes.operator import OperatorKey


class RequireApiKey:
    """ASGI middleware: API routes need `Authorization: Bearer <key>`, as at a real provider."""

    def __init__(self, app: ASGIApp, api_key: str, api_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.expected = f"Bearer {api_key}".encode()
        self.api_prefixes = api_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith(self.api_prefixes):
            sent = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(sent, self.expected):
                response = sandbox_error(401, "invalid_api_key", "send a valid key as Authorization: Bearer <key>")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def new_sandbox_app(
    name: str,
    title: str,
    description: str,
    faults: FaultConfig,
    api_prefixes: tuple[str, ...],
    *,
    api_key: str | None = None,
    operator_key: OperatorKey | None = None,
    on_close: Callable[[], None] | None = None,
) -> FastAPI:
    """`operator_key`: who may switch faults at run time (nobody without one)."""
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if on_close is not None:
            on_close()

    app = FastAPI(title=title, description=description, version="1", lifespan=lifespan,
                  responses=ERROR_RESPONSES, docs_url=None, redoc_url=None)
    install_api_docs(app)
    install_error_handlers(app)
    if api_key:
        app.add_middleware(RequireApiKey, api_key=api_key, api_prefixes=api_prefixes)
    # Added last, so it runs first: an outage answers before the key is even checked.
    install_faults(app, faults, api_prefixes, operator_key or OperatorKey(name, None))

    @app.get("/health", tags=["health"])
    @app.get("/health/live", tags=["health"])
    @app.get("/health/ready", tags=["health"])
    async def health() -> dict[str, str]:
        return {"status": "ok", "system": name}

    return app
