"""One trace as a waterfall: the spans every process recorded, each child under its parent, each a bar on the
trace's time axis. Offsets and widths are computed here, in per cent of the axis: the page carries no script."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_ROWS = 400  # a trace with more (an event redelivered for hours) shows its first ones and says so
MIN_WIDTH = 0.3  # per cent: an instant span (an event staged) is still a visible mark
TICKS = (0, 50, 100)  # labels of about 60 px each on an axis column of at least 260 px


@dataclass(frozen=True)
class RecordedSpan:
    """A span as a process serves it on GET /ops/traces/{trace_id}, with the process that recorded it."""

    service: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    start_us: int
    duration_us: int
    status: str
    status_message: str
    attributes: Mapping[str, Any]

    @classmethod
    def of(cls, service: str, served: Mapping[str, Any]) -> RecordedSpan:
        return cls(service=service, span_id=served["span_id"], parent_span_id=served.get("parent_span_id"),
                   name=served["name"], kind=served["kind"], start_us=served["start_unix_us"],
                   duration_us=max(0, served["duration_us"]), status=served["status"],
                   status_message=served.get("status_message", ""), attributes=served.get("attributes", {}))


@dataclass(frozen=True)
class Row:
    span: RecordedSpan
    depth: int  # how many ancestors were recorded above it
    offset_ms: float  # from the trace's first span
    left: float  # per cent of the axis
    width: float  # per cent of the axis
    orphan: bool  # it names a parent nobody recorded (pushed out of a ring, or a process that did not answer)

    @property
    def duration_ms(self) -> float:
        return self.span.duration_us / 1000

    @property
    def offset_label(self) -> str:
        return "+" + format_ms(self.offset_ms)

    @property
    def duration_label(self) -> str:
        return format_ms(self.duration_ms)

    @property
    def details(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in sorted(self.span.attributes.items()))


@dataclass(frozen=True)
class Waterfall:
    trace_id: str
    started: datetime
    duration_ms: float
    rows: list[Row]
    services: list[str]  # in the order they joined the trace
    ticks: list[tuple[int, str]]  # (per cent, time from the start)
    left_off: int  # spans beyond MAX_ROWS

    @property
    def duration_label(self) -> str:
        return format_ms(self.duration_ms)


def waterfall(trace_id: str, spans: Iterable[RecordedSpan]) -> Waterfall | None:
    """The trace's spans laid out, parents before their children (by start); None when there are none."""
    by_id: dict[str, RecordedSpan] = {}
    for found in spans:
        by_id.setdefault(found.span_id, found)  # the same span from two answers (a replica's) is one
    if not by_id:
        return None
    start = min(found.start_us for found in by_id.values())
    end = max(found.start_us + found.duration_us for found in by_id.values())
    total = max(end - start, 1)
    ordered = _depth_first(by_id)
    rows = [Row(found, depth, (found.start_us - start) / 1000, *_bar(found, start, total), orphan)
            for found, depth, orphan in ordered[:MAX_ROWS]]
    services = list(dict.fromkeys(found.service for found in sorted(by_id.values(), key=lambda s: s.start_us)))
    return Waterfall(trace_id, datetime.fromtimestamp(start / 1_000_000, UTC), total / 1000, rows, services,
                     [(tick, format_ms(total / 1000 * tick / 100)) for tick in TICKS],
                     max(0, len(ordered) - MAX_ROWS))


def _depth_first(by_id: dict[str, RecordedSpan]) -> list[tuple[RecordedSpan, int, bool]]:
    """Every span once, each after its parent, siblings by start time; spans whose parent is missing are roots."""
    children: dict[str, list[RecordedSpan]] = {}
    roots: list[RecordedSpan] = []
    for found in by_id.values():
        if found.parent_span_id and found.parent_span_id in by_id:
            children.setdefault(found.parent_span_id, []).append(found)
        else:
            roots.append(found)
    ordered: list[tuple[RecordedSpan, int, bool]] = []
    pending = [(root, 0) for root in _by_start(roots, reverse=True)]
    seen: set[str] = set()
    while pending:  # a stack, not recursion: a saga's trace nests a few levels per event hop
        found, depth = pending.pop()
        if found.span_id in seen:
            continue
        seen.add(found.span_id)
        ordered.append((found, depth, depth == 0 and bool(found.parent_span_id)))
        pending.extend((child, depth + 1) for child in _by_start(children.get(found.span_id, []), reverse=True))
    return ordered


def _by_start(spans: list[RecordedSpan], reverse: bool) -> list[RecordedSpan]:
    return sorted(spans, key=lambda found: (found.start_us, found.name), reverse=reverse)


def _bar(found: RecordedSpan, start: int, total: int) -> tuple[float, float]:
    width = max(found.duration_us / total * 100, MIN_WIDTH)
    left = min((found.start_us - start) / total * 100, 100 - width)
    return round(left, 3), round(width, 3)


def format_ms(ms: float) -> str:
    """A duration as an operator reads it: 0.4 ms, 12.5 ms, 340 ms, 2.35 s."""
    if ms < 100:
        return f"{ms:.1f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.2f} s"
