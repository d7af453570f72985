"""OpenTelemetry tracing, exported over OTLP/HTTP only when an endpoint is configured.

Without `EVENTSHOP_OTLP_ENDPOINT` (or the standard `OTEL_EXPORTER_OTLP_ENDPOINT`) nothing of the SDK is
imported and every span below is a no-op: the shop runs 14 processes, and the SDK with its exporter costs
each about 8 MiB and 150 ms at start. The trace context travels as it always has, as a W3C traceparent in
the log context (platform/telemetry.py), in HTTP headers and in every event's envelope; a span started here
becomes that traceparent for the code inside it, so a call or an event made there is its child.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from eventshop.contracts.envelope import child_trace_parent
from eventshop.platform.settings import Settings
from eventshop.platform.telemetry import current_log_context, log_context

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

log = logging.getLogger(__name__)

Kind = Literal["internal", "server", "client", "producer", "consumer"]
Attributes = Mapping[str, str | int | float | bool]
TRACES_PATH = "/v1/traces"


class _State:
    tracer: Tracer | None = None
    provider: TracerProvider | None = None


_state = _State()


def endpoint_of(settings: Settings) -> str | None:
    """Where spans go: EVENTSHOP_OTLP_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT; a base URL gets /v1/traces."""
    base = settings.otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if not base:
        return None
    base = base.rstrip("/")
    return base if base.endswith(TRACES_PATH) else base + TRACES_PATH


def configure_tracing(service: str, settings: Settings) -> bool:
    """Export this process's spans when an endpoint is configured; True when it is."""
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
    """Send the spans not yet exported (at the end of the process)."""
    provider, _state.provider, _state.tracer = _state.provider, None, None
    if provider is not None:
        provider.shutdown()


def enabled() -> bool:
    return _state.tracer is not None


@contextlib.contextmanager
def span(name: str, kind: Kind = "internal", *, parent: str | None = None, attributes: Attributes | None = None,
         new_trace: bool = True) -> Iterator[Span | None]:
    """A span around the block, child of `parent` (a traceparent) or of the current one; None when not tracing.

    With `new_trace=False` the span is made only inside a trace already going (a unit of work of a traced
    request or delivery), not for the relay's and the gauges' own polling.
    """
    tracer = _state.tracer
    if tracer is None:
        yield None
        return
    parent = parent or current_log_context().get("traceparent")
    if parent is None and not new_trace:
        yield None
        return
    started = tracer.start_as_current_span(name, context=_context_of(parent), kind=_kind(kind), attributes=attributes)
    with started as current, log_context(traceparent=traceparent_of(current)):
        yield current


def mark_failed(reason: str) -> None:
    """The span in progress (a delivery's, when its handler failed) ends as an error with this reason."""
    if _state.tracer is None:
        return
    from opentelemetry.trace import StatusCode, get_current_span

    get_current_span().set_status(StatusCode.ERROR, reason)


def start_span(name: str, kind: Kind = "internal", *, parent: str | None = None,
               attributes: Attributes | None = None) -> Span | None:
    """A span ended by the caller (`span.end()`), for work that is not one block; None when not tracing.

    Made only inside a trace going on (the parent given or the current one)."""
    tracer = _state.tracer
    if tracer is None:
        return None
    parent = parent or current_log_context().get("traceparent")
    if parent is None:
        return None
    return tracer.start_span(name, context=_context_of(parent), kind=_kind(kind), attributes=attributes)


def message_traceparent(event_type: str, cause: str | None) -> str:
    """The traceparent an event being staged carries: a producer span's when tracing, else a new span id.

    The consumer's span is the child of this one, which links the two services across the event hop.
    """
    current = current_log_context().get("traceparent")
    if _state.tracer is None:
        return child_trace_parent(cause or current)
    with span(f"{event_type} create", "producer", parent=current or cause,
              attributes={"messaging.system": "nats", "messaging.operation.type": "create",
                          "messaging.message.type": event_type}) as created:
        assert created is not None
        return traceparent_of(created)


def outgoing_traceparent() -> str | None:
    """The traceparent a call to another service sends: the current span when tracing, else a child of it."""
    current = current_log_context().get("traceparent")
    if current is None or _state.tracer is not None:
        return current
    return child_trace_parent(current)


def traceparent_in(payload: bytes) -> str | None:
    """The traceparent of an envelope as stored in the outbox (read only when tracing)."""
    try:
        found = json.loads(payload).get("traceparent")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def traceparent_of(current: Span) -> str:
    context = current.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def _context_of(traceparent: str | None) -> Any:
    if not traceparent:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract({"traceparent": traceparent})


def _kind(kind: Kind) -> Any:
    from opentelemetry.trace import SpanKind

    return SpanKind[kind.upper()]
