"""The console's waterfall: each span under its parent, placed on the trace's time axis in per cent."""

from __future__ import annotations

from eventshop.console.waterfall import MAX_ROWS, MIN_WIDTH, RecordedSpan, format_ms, waterfall

T0 = 1_767_000_000_000_000  # microseconds since 1970


def recorded(service: str, span_id: str, parent: str | None, name: str, start_ms: float, duration_ms: float,
             kind: str = "internal", status: str = "ok") -> RecordedSpan:
    return RecordedSpan(service=service, span_id=span_id, parent_span_id=parent, name=name, kind=kind,
                        start_us=T0 + int(start_ms * 1000), duration_us=int(duration_ms * 1000), status=status,
                        status_message="" if status == "ok" else "PaymentDeclined", attributes={})


CHECKOUT = [  # as the processes answer: in any order, each process's own spans
    recorded("payment", "p1", "c2", "OrderProcessedEvent process", 30, 50, "consumer", status="error"),
    recorded("order", "o1", "c1", "POST /orders", 5, 10, "server"),
    recorded("cart", "c1", None, "POST /carts/{customer_id}/checkout", 0, 20, "server"),
    recorded("cart", "c2", "c1", "OrderProcessedEvent create", 18, 0, "producer"),
    recorded("inventory", "i1", "c2", "OrderProcessedEvent process", 25, 75, "consumer"),
]


def test_children_follow_their_parent_by_start_and_an_event_hop_nests_the_consumers_under_the_producer() -> None:
    fall = waterfall("t", CHECKOUT)

    assert fall is not None
    assert [(row.span.span_id, row.depth) for row in fall.rows] == [
        ("c1", 0), ("o1", 1), ("c2", 1), ("i1", 2), ("p1", 2)]
    assert fall.services == ["cart", "order", "inventory", "payment"]
    assert not any(row.orphan for row in fall.rows)


def test_bars_are_offsets_and_widths_in_per_cent_of_the_whole_trace() -> None:
    fall = waterfall("t", CHECKOUT)

    assert fall is not None and fall.duration_ms == 100
    bars = {row.span.span_id: (row.left, row.width) for row in fall.rows}
    assert bars["c1"] == (0, 20) and bars["o1"] == (5, 10) and bars["i1"] == (25, 75)
    assert bars["c2"] == (18, MIN_WIDTH)  # an instant: still a visible mark
    assert [row.offset_label for row in fall.rows[:2]] == ["+0.0 ms", "+5.0 ms"]
    assert fall.ticks == [(0, "0.0 ms"), (50, "50.0 ms"), (100, "100 ms")]


def test_a_span_whose_parent_nobody_recorded_is_a_root_marked_as_such() -> None:
    fall = waterfall("t", [recorded("order", "o1", "gone", "POST /orders", 0, 10, "server"),
                           recorded("order", "o2", "o1", "transaction", 1, 2),
                           recorded("order", "o1", "gone", "POST /orders", 0, 10, "server")])  # asked twice

    assert fall is not None
    assert [(row.span.span_id, row.depth, row.orphan) for row in fall.rows] == [("o1", 0, True), ("o2", 1, False)]


def test_an_instant_at_the_very_end_stays_on_the_axis_and_a_huge_trace_is_cut() -> None:
    spans = [recorded("order", "root", None, "POST /orders", 0, 10),
             recorded("order", "last", "root", "OrderCancelledEvent create", 10, 0, "producer")]
    fall = waterfall("t", spans)
    assert fall is not None and fall.rows[1].left + fall.rows[1].width <= 100

    many = [recorded("order", f"s{n}", None, "retry", n, 1) for n in range(MAX_ROWS + 5)]
    cut = waterfall("t", many)
    assert cut is not None and len(cut.rows) == MAX_ROWS and cut.left_off == 5
    assert waterfall("t", []) is None


def test_durations_read_as_an_operator_expects() -> None:
    assert [format_ms(ms) for ms in (0.42, 12.5, 340.4, 2345)] == ["0.4 ms", "12.5 ms", "340 ms", "2.35 s"]
