"""HTTP requests served and external-system calls made, measured (Prometheus) and traced (OpenTelemetry)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eventshop.platform.telemetry import EXTERNAL_CALLS, EXTERNAL_SECONDS, HTTP_REQUESTS, HTTP_SECONDS
from eventshop.platform.tracing import Span, span

UNMATCHED = "unmatched"  # any path no route serves: one label, whatever the path (no cardinality from scanners)
# Polled by `up`, Prometheus, the probes and the console (recent traces): measured, never traced.
UNTRACED = ("/health/", "/metrics", "/static/", "/docs", "/redoc", "/openapi.json", "/ops/")


def route_of(scope: Scope) -> str:
    """The template of the route that served the request (`/orders/{order_id}`), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class RequestInstruments:
    """Pure ASGI middleware: counts and times every request by route template, method and status, and serves it
    inside a server span continuing the caller's traceparent (bound to the log context by LogContextMiddleware,
    which must wrap this one)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        status = 500  # unless a response starts: an exception that escaped the app

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        traced = not str(scope.get("path", "")).startswith(UNTRACED)
        served = span(method, "server", attributes={"http.request.method": method}) if traced \
            else contextlib.nullcontext()
        with served as current:
            try:
                await self.app(scope, receive, sending)
            finally:
                route = route_of(scope)
                HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
                HTTP_SECONDS.labels(self.service, method, route).observe(time.perf_counter() - started)
                if current is not None:
                    _describe_served(current, method, route, status)


def _describe_served(current: Span, method: str, route: str, status: int) -> None:
    current.update_name(f"{method} {route}")
    current.set_attribute("http.route", route)
    current.set_attribute("http.response.status_code", status)
    if status >= 500:
        current.fail(f"answered {status}")


OUTCOMES = ("ok", "refused", "failed", "timeout", "unreachable", "error")


@dataclass
class ExternalCall:
    """What became of one call; `ok` unless the caller or an exception says otherwise."""

    outcome: str = "ok"

    def answered(self, status: int) -> None:
        """An HTTP answer: 4xx is refused (retrying will not help), 5xx and 429 failed (the system's trouble)."""
        if status >= 500 or status == 429:
            self.outcome = "failed"
        elif status >= 400:
            self.outcome = "refused"
        else:
            self.outcome = "ok"


@contextlib.contextmanager
def external_call(system: str, operation: str) -> Iterator[ExternalCall]:
    """Count, time and trace one call to an external system (one HTTP request, one SMTP send).

    An exception the caller did not classify is `timeout` (TimeoutError) or `error`.
    """
    call = ExternalCall()
    started = time.perf_counter()
    attributes = {"eventshop.external.system": system, "eventshop.external.operation": operation}
    with span(f"{system} {operation}", "client", attributes=attributes, new_trace=False) as current:
        try:
            yield call
        except BaseException as exc:
            if call.outcome == "ok":
                call.outcome = "timeout" if isinstance(exc, TimeoutError) else "error"
            raise
        finally:
            EXTERNAL_CALLS.labels(system, operation, call.outcome).inc()
            EXTERNAL_SECONDS.labels(system, operation).observe(time.perf_counter() - started)
            if current is not None:
                _describe_call(current, call.outcome)


def _describe_call(current: Span, outcome: str) -> None:
    current.set_attribute("eventshop.external.outcome", outcome)
    if outcome != "ok":
        current.fail(outcome)
