"""Logging set-up and the Prometheus metrics every service exposes on /metrics."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TextIO

from prometheus_client import Counter, Gauge, Histogram
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from eventshop.contracts.envelope import Envelope

EVENTS_PUBLISHED = Counter(
    "eventshop_events_published_total", "Events published from the outbox", ["service", "type"]
)
EVENTS_CONSUMED = Counter(
    "eventshop_events_consumed_total",
    "Deliveries by outcome: handled, duplicate, retried, dead_lettered",
    ["service", "consumer", "type", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "eventshop_handler_seconds", "Event handler latency", ["service", "type"]
)
OUTBOX_BACKLOG = Gauge("eventshop_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "eventshop_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", ["service"]
)
CONSUMER_PENDING = Gauge(
    "eventshop_consumer_pending", "Messages not yet delivered to a durable consumer (its lag)", ["service", "consumer"]
)
CONSUMER_ACK_PENDING = Gauge(
    "eventshop_consumer_ack_pending", "Messages delivered to a durable consumer and not yet acked",
    ["service", "consumer"],
)
# Latency buckets from a cached read (milliseconds) to a checkout waiting on its dependencies (seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
HTTP_REQUESTS = Counter(
    "eventshop_http_requests_total", "HTTP requests served, by route template and status",
    ["service", "method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "eventshop_http_request_seconds", "HTTP request latency, by route template", ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
)
EXTERNAL_CALLS = Counter(
    "eventshop_external_calls_total",
    "Calls to external systems by outcome: ok, refused, failed, timeout, unreachable, error",
    ["system", "operation", "outcome"],
)
EXTERNAL_SECONDS = Histogram(
    "eventshop_external_call_seconds", "Latency of calls to external systems", ["system", "operation"],
    buckets=LATENCY_BUCKETS,
)


CORRELATION_HEADER = "X-Correlation-Id"
CONTEXT_FIELDS = ("correlation_id", "causation_id", "event_id", "event_type", "trace_id")

_NO_CONTEXT: Mapping[str, str] = MappingProxyType({})
_context: ContextVar[Mapping[str, str]] = ContextVar("eventshop_log_context", default=_NO_CONTEXT)


@contextlib.contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Fields that every log line written inside the block carries, so one order can be followed."""
    traceparent = fields.get("traceparent") or ""
    if traceparent.count("-") == 3:  # W3C: version-trace_id-span_id-flags
        fields["trace_id"] = traceparent.split("-")[1]
    token = _context.set({**_context.get(), **{key: value for key, value in fields.items() if value}})
    try:
        yield
    finally:
        _context.reset(token)


def bind_trace(traceparent: str, trace_id: str) -> Token[Mapping[str, str]]:
    """`log_context(traceparent=...)` for the tracer, which does it around every span: release with
    `unbind_trace`, in the same task."""
    return _context.set({**_context.get(), "traceparent": traceparent, "trace_id": trace_id})


def unbind_trace(token: Token[Mapping[str, str]]) -> None:
    _context.reset(token)


def event_log_context(envelope: Envelope) -> contextlib.AbstractContextManager[None]:
    return log_context(
        correlation_id=envelope.correlationid,
        causation_id=envelope.causationid,
        event_id=envelope.id,
        event_type=envelope.type,
        traceparent=envelope.traceparent,
    )


def current_log_context() -> Mapping[str, str]:
    return _context.get()


# A correlation id a caller (or a proxy in front of the shop) sends; anything else is not believed, it ends up in
# log lines.
GIVEN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class LogContextMiddleware:
    """Pure ASGI middleware: binds an incoming request's correlation id and traceparent to the log context, which
    the service clients send along. With `start_ids` (the frontend, where requests begin), a request without a
    usable id gets a new one, so one page's backend calls are found in every log."""

    def __init__(self, app: ASGIApp, start_ids: bool = False) -> None:
        self.app = app
        self.start_ids = start_ids

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        given = headers.get(CORRELATION_HEADER, "")
        correlation_id = given if GIVEN_ID.fullmatch(given) else (uuid.uuid4().hex if self.start_ids else None)
        with log_context(correlation_id=correlation_id, traceparent=headers.get("traceparent")):
            await self.app(scope, receive, send)


class ContextFilter(logging.Filter):
    """Copies the log context onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        for key in CONTEXT_FIELDS:
            if key in context and not hasattr(record, key):
                setattr(record, key, context[key])
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_FIELDS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(service: str, level: str = "INFO", as_json: bool = False, stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    if as_json:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "nats"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
