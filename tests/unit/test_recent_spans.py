"""Each process keeps its recently finished spans in a bounded ring, linked parent to child, for the console."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventshop.platform import tracing
from eventshop.platform.settings import Settings
from eventshop.platform.telemetry import current_log_context, log_context

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("EVENTSHOP_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert tracing.configure_tracing("order", Settings(trace_recent_spans=100)) is False  # records, exports not
    yield
    tracing.shutdown_tracing()


def test_a_request_its_transaction_and_the_event_it_stages_are_kept_as_one_family(recording: None) -> None:
    with tracing.span("POST /orders", "server", parent=CALLER, attributes={"http.request.method": "POST"}) as served:
        assert served is not None
        assert current_log_context()["traceparent"] == served.traceparent  # calls made inside are its children
        transaction = tracing.start_span("transaction")
        assert transaction is not None
        staged = tracing.message_traceparent("OrderProcessedEvent", None)
        transaction.end()
        served.set_attribute("http.response.status_code", 201)

    spans = {found.name: found for found in tracing.recent_spans(TRACE)}
    assert set(spans) == {"POST /orders", "transaction", "OrderProcessedEvent create"}
    assert spans["POST /orders"].parent_id == "00f067aa0ba902b7"  # the caller's span
    assert spans["transaction"].parent_id == served.span_id
    created = spans["OrderProcessedEvent create"]
    assert created.kind == "producer" and created.parent_id == served.span_id
    assert staged == f"00-{TRACE}-{created.span_id}-01"  # the consumer's span will be its child
    assert served.start_ns <= transaction.start_ns <= transaction.end_ns <= served.end_ns
    assert served.all_attributes() == {"http.request.method": "POST", "http.response.status_code": 201}
    assert all(found.error is None for found in spans.values())


def test_the_ring_keeps_only_the_newest_spans(recording: None) -> None:
    traces = []
    for number in range(150):
        with tracing.span(f"request {number}") as served:
            assert served is not None
            traces.append(served.trace_id)

    assert tracing.recent_capacity() == 100
    assert [tracing.recent_spans(trace_id) for trace_id in traces[:50]] == [[]] * 50
    assert [found.name for found in tracing.recent_spans(traces[-1])] == ["request 149"]


def test_an_exception_leaving_the_block_or_a_failed_delivery_marks_the_span_failed(recording: None) -> None:
    with pytest.raises(ValueError), tracing.span("PaymentProcessedEvent process", "consumer", parent=CALLER):
        raise ValueError("no such order")
    with tracing.span("OrderProcessedEvent process", "consumer", parent=CALLER):
        tracing.mark_failed("NotReady: order not there yet")

    spans = {found.name: found for found in tracing.recent_spans(TRACE)}
    assert spans["PaymentProcessedEvent process"].error == "ValueError: no such order"
    assert spans["OrderProcessedEvent process"].error == "NotReady: order not there yet"


def test_a_traceparent_that_is_not_w3c_starts_a_trace_of_its_own(recording: None) -> None:
    with log_context(traceparent="00-NOT-HEX-01"), tracing.span("GET /orders/{order_id}", "server") as served:
        assert served is not None
        assert tracing.current_trace_id() == served.trace_id != "NOT"

    assert served.parent_id is None and len(served.trace_id) == 32


def test_units_of_work_outside_a_trace_make_no_span(recording: None) -> None:
    assert tracing.start_span("transaction") is None  # the relay's polling
    with tracing.span("GET account", "client", new_trace=False) as call:
        assert call is None


def test_with_recording_off_and_no_collector_nothing_is_kept_and_events_still_carry_a_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EVENTSHOP_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    tracing.configure_tracing("order", Settings(trace_recording=False))
    try:
        with tracing.span("POST /orders", "server", parent=CALLER) as served:
            assert served is None
        staged = tracing.message_traceparent("OrderProcessedEvent", CALLER)
        assert not tracing.enabled() and tracing.recent_capacity() == 0
        assert tracing.recent_spans(TRACE) == []
        assert staged.split("-")[1] == TRACE and staged != CALLER  # same trace, a span id of its own
    finally:
        tracing.shutdown_tracing()
