"""A correlation id for each page request: its backend calls carry it, so one failure is found in every log."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from eventshop.platform.telemetry import CORRELATION_HEADER, log_context

# A proxy in front of the shop may have started the id; anything else is replaced, it ends up in log lines.
GIVEN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestCorrelation:
    """Pure ASGI middleware: binds the id to the log context, which the service clients send along."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(CORRELATION_HEADER, "")
        with log_context(correlation_id=given if GIVEN_ID.fullmatch(given) else uuid.uuid4().hex):
            await self.app(scope, receive, send)
