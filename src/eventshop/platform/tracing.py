"""Tracing: every process keeps its recent spans in memory, and exports them over OTLP/HTTP when configured.

A span here is a small object of our own (ids, name, kind, start and end, status, attributes). When it ends it
goes into a bounded ring of this process's recent spans (`EVENTSHOP_TRACE_RECENT_SPANS`), which
`GET /ops/traces/{trace_id}` serves to the console's order page: no serializing, no network, no thread.
With `EVENTSHOP_OTLP_ENDPOINT` (or the standard `OTEL_EXPORTER_OTLP_ENDPOINT`) each span also drives an
OpenTelemetry SDK span with the same ids, exported in batches from the SDK's thread. Without an endpoint
nothing of the SDK is imported: it costs each of the shop's processes about 8 MiB and 150 ms at start, and a
span through it several times what one of ours costs (docs/operations.md, Tracing). With recording off
(`EVENTSHOP_TRACE_RECORDING=false`) and no endpoint every span below is a no-op.

The trace context travels as a W3C traceparent in the log context (platform/telemetry.py), in HTTP headers
and in every event's envelope; a span started here becomes that traceparent for the code inside it, so a call
or an event made there is its child.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import re
import time
from collections import deque
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from eventshop.contracts.envelope import child_trace_parent
from eventshop.platform.settings import Settings
from eventshop.platform.telemetry import bind_trace, current_log_context, unbind_trace

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span as SdkSpan
    from opentelemetry.trace import Tracer

log = logging.getLogger(__name__)

Kind = Literal["internal", "server", "client", "producer", "consumer"]
Value = str | int | float | bool
Attributes = Mapping[str, Value]
TRACES_PATH = "/v1/traces"
TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")
TRACE_ID = re.compile(r"[0-9a-f]{32}")
NO_TRACE = "0" * 32
NO_SPAN = "0" * 16


class Span:
    """One span: in progress until `end()`, then kept among the process's recent spans when recording."""

    __slots__ = ("_exported", "added", "attributes", "end_ns", "error", "kind", "name", "parent_id", "span_id",
                 "start_ns", "trace_id")

    def __init__(self, trace_id: str, span_id: str, parent_id: str | None, name: str, kind: Kind,
                 attributes: Attributes | None, exported: SdkSpan | None = None) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_id = parent_id
        self.name = name
        self.kind = kind
        self.attributes = attributes  # the caller's, kept as given (not copied: this runs for every span)
        self.added: dict[str, Value] | None = None  # set while it ran
        self.start_ns = time.time_ns()
        self.end_ns = 0
        self.error: str | None = None  # why it failed; None while it has not
        self._exported = exported

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-01"

    def all_attributes(self) -> dict[str, Value]:
        return {**(self.attributes or {}), **(self.added or {})}

    def update_name(self, name: str) -> None:
        self.name = name
        if self._exported is not None:
            self._exported.update_name(name)

    def set_attribute(self, key: str, value: Value) -> None:
        if self.added is None:
            self.added = {}
        self.added[key] = value
        if self._exported is not None:
            self._exported.set_attribute(key, value)

    def fail(self, reason: str = "", exc: BaseException | None = None) -> None:
        """The span ends as an error, for this reason (an exception's, exported with it)."""
        self.error = reason
        if self._exported is not None:
            from opentelemetry.trace import Status, StatusCode

            self._exported.set_status(Status(StatusCode.ERROR, reason or None))
            if exc is not None:
                self._exported.record_exception(exc)

    def end(self) -> None:
        if self.end_ns:
            return
        self.end_ns = time.time_ns()
        if self._exported is not None:
            exported, self._exported = self._exported, None
            exported.end(end_time=self.end_ns)
        if _state.recent is not None:  # a plain tuple of str, int and str-valued dicts: the collector skips it
            _state.recent.append((self.trace_id, self.span_id, self.parent_id, self.name, self.kind, self.start_ns,
                                  self.end_ns, self.error, self.attributes, self.added))


@dataclass(frozen=True)
class Recorded:
    """A finished span as the ring of recent spans holds it (made when asked)."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: Kind
    start_ns: int
    end_ns: int
    error: str | None
    attributes: Attributes | None
    added: dict[str, Value] | None

    def all_attributes(self) -> dict[str, Value]:
        return {**(self.attributes or {}), **(self.added or {})}


# What the ring holds per span: Recorded's fields in order.
Entry = tuple[str, str, str | None, str, Kind, int, int, str | None, Attributes | None, dict[str, Value] | None]


class _Block:
    """The span of a `with span(...)` block: the current span (and traceparent) inside it."""

    __slots__ = ("_tokens", "span")

    def __init__(self, started: Span) -> None:
        self.span = started

    def __enter__(self) -> Span:
        started = self.span
        traceparent = started.traceparent
        self._tokens = _current.set((started, traceparent)), bind_trace(traceparent, started.trace_id)
        return started

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
                 ) -> None:
        current, context = self._tokens
        unbind_trace(context)
        _current.reset(current)
        if exc is not None:
            self.span.fail(f"{type(exc).__name__}: {exc}", exc)
        self.span.end()


class _State:
    recent: deque[Entry] | None = None  # the ring: the newest spans push the oldest out
    tracer: Tracer | None = None
    provider: TracerProvider | None = None


_state = _State()
# The span in progress and the traceparent it put in the log context (the same str object, so a child started
# from the log context's traceparent is known to be its child without parsing it).
_current: ContextVar[tuple[Span, str] | None] = ContextVar("eventshop_span", default=None)
_NOT_TRACED: contextlib.nullcontext[None] = contextlib.nullcontext()


def endpoint_of(settings: Settings) -> str | None:
    """Where spans go: EVENTSHOP_OTLP_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT; a base URL gets /v1/traces."""
    base = settings.otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if not base:
        return None
    base = base.rstrip("/")
    return base if base.endswith(TRACES_PATH) else base + TRACES_PATH


def configure_tracing(service: str, settings: Settings) -> bool:
    """Record this process's recent spans unless turned off, and export them when an endpoint is configured;
    True when it exports."""
    _state.recent = deque(maxlen=settings.trace_recent_spans) if settings.trace_recording else None
    endpoint = endpoint_of(settings)
    if endpoint is None:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service, "service.namespace": "eventshop"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    _state.provider = provider
    _state.tracer = provider.get_tracer("eventshop")
    log.info("%s: exporting traces to %s", service, endpoint)
    return True


def shutdown_tracing() -> None:
    """Send the spans not yet exported (at the end of the process); record no more."""
    provider, _state.provider, _state.tracer, _state.recent = _state.provider, None, None, None
    if provider is not None:
        provider.shutdown()


def enabled() -> bool:
    return _state.recent is not None or _state.tracer is not None


def recording() -> bool:
    return _state.recent is not None


def recent_capacity() -> int:
    """How many finished spans this process keeps (0 when it records none)."""
    recent = _state.recent
    return (recent.maxlen or 0) if recent is not None else 0


def recent_spans(trace_id: str) -> list[Recorded]:
    """This process's recorded spans of one trace, oldest end first (a scan: asked rarely, recorded often)."""
    recent = _state.recent
    return [Recorded(*entry) for entry in recent if entry[0] == trace_id] if recent is not None else []


def current_trace_id() -> str | None:
    """The trace the code runs in (a request's or a delivery's), to write down with what it does; None outside
    one, or when the trace id came from a caller and is not a W3C one."""
    found = current_log_context().get("trace_id")
    return found if found is not None and TRACE_ID.fullmatch(found) and found != NO_TRACE else None


def span(name: str, kind: Kind = "internal", *, parent: str | None = None, attributes: Attributes | None = None,
         new_trace: bool = True) -> contextlib.AbstractContextManager[Span | None]:
    """A span around the block, child of `parent` (a traceparent) or of the current one; None when not tracing.

    With `new_trace=False` the span is made only inside a trace already going (a unit of work of a traced
    request or delivery), not for the relay's and the gauges' own polling. An exception leaving the block
    fails the span.
    """
    if _state.recent is None and _state.tracer is None:
        return _NOT_TRACED
    parent = parent or current_log_context().get("traceparent")
    if parent is None and not new_trace:
        return _NOT_TRACED
    return _Block(_start(name, kind, parent, attributes))


def mark_failed(reason: str) -> None:
    """The span in progress (a delivery's, when its handler failed) ends as an error with this reason."""
    current = _current.get()
    if current is not None:
        current[0].fail(reason)


def start_span(name: str, kind: Kind = "internal", *, parent: str | None = None,
               attributes: Attributes | None = None) -> Span | None:
    """A span ended by the caller (`span.end()`), for work that is not one block; None when not tracing.

    Made only inside a trace going on (the parent given or the current one)."""
    if _state.recent is None and _state.tracer is None:
        return None
    parent = parent or current_log_context().get("traceparent")
    if parent is None:
        return None
    return _start(name, kind, parent, attributes)


def message_traceparent(event_type: str, cause: str | None) -> str:
    """The traceparent an event being staged carries: a producer span's when tracing, else a new span id.

    The consumer's span is the child of this one, which links the two services across the event hop.
    """
    current = current_log_context().get("traceparent")
    if _state.recent is None and _state.tracer is None:
        return child_trace_parent(cause or current)
    created = _start(f"{event_type} create", "producer", current or cause,
                     {"messaging.system": "nats", "messaging.operation.type": "create",
                      "messaging.message.type": event_type})
    created.end()
    return created.traceparent


def outgoing_traceparent() -> str | None:
    """The traceparent a call to another service sends: the current span when tracing, else a child of it."""
    current = current_log_context().get("traceparent")
    if current is None or enabled():
        return current
    return child_trace_parent(current)


def traceparent_in(payload: bytes) -> str | None:
    """The traceparent of an envelope as stored in the outbox (read only when tracing)."""
    try:
        found = json.loads(payload).get("traceparent")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def _start(name: str, kind: Kind, parent: str | None, attributes: Attributes | None) -> Span:
    tracer = _state.tracer
    trace_id, parent_id = _ids_of(parent)
    if tracer is None:
        return Span(trace_id, f"{random.getrandbits(64) or 1:016x}", parent_id, name, kind, attributes)
    exported = tracer.start_span(name, context=_context_of(parent), kind=_kind(kind), attributes=attributes)
    context = exported.get_span_context()
    return Span(f"{context.trace_id:032x}", f"{context.span_id:016x}", parent_id, name, kind, attributes, exported)


def _ids_of(parent: str | None) -> tuple[str, str | None]:
    """The trace a span belongs to and its parent's span id: the parent's, or a new trace's (no parent)."""
    if parent is None:
        return f"{random.getrandbits(128) or 1:032x}", None
    current = _current.get()
    if current is not None and current[1] is parent:  # the current span's: its strings are shared, not parsed
        return current[0].trace_id, current[0].span_id
    found = TRACEPARENT.fullmatch(parent)
    if found is None or found[1] == NO_TRACE or found[2] == NO_SPAN:  # not W3C: the caller's, not believed
        return f"{random.getrandbits(128) or 1:032x}", None
    return found[1], found[2]


def _context_of(traceparent: str | None) -> Any:
    if not traceparent:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract({"traceparent": traceparent})


def _kind(kind: Kind) -> Any:
    from opentelemetry.trace import SpanKind

    return SpanKind[kind.upper()]
