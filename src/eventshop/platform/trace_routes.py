"""`GET /ops/traces/{trace_id}`: the spans of one trace this process recorded lately, for the operator (the
console's order page asks every process and draws the waterfall)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from eventshop.platform.auth import operator_only
from eventshop.platform.tracing import TRACE_ID, Recorded, Value, recent_capacity, recent_spans, recording


class SpanView(BaseModel):
    trace_id: str
    span_id: str
    parent_span_id: str | None = Field(description="None for the trace's first span")
    name: str
    kind: str = Field(description="server | client | producer | consumer | internal")
    start_unix_us: int = Field(description="when it started, microseconds since 1970 (UTC)")
    duration_us: int
    status: str = Field(description="ok | error")
    status_message: str = Field(description="why it failed; empty when it did not")
    attributes: dict[str, Value]

    @classmethod
    def of(cls, span: Recorded) -> SpanView:
        return cls(trace_id=span.trace_id, span_id=span.span_id, parent_span_id=span.parent_id, name=span.name,
                   kind=span.kind, start_unix_us=span.start_ns // 1000,
                   duration_us=(span.end_ns - span.start_ns) // 1000, status="ok" if span.error is None else "error",
                   status_message=span.error or "", attributes=span.all_attributes())


class RecentTrace(BaseModel):
    service: str
    recording: bool = Field(description="false when EVENTSHOP_TRACE_RECORDING=false: no spans are kept")
    capacity: int = Field(description="how many recent spans the process keeps (EVENTSHOP_TRACE_RECENT_SPANS)")
    spans: list[SpanView]


def trace_router(service: str) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/ops/traces/{trace_id}", response_model=RecentTrace, dependencies=[Depends(operator_only())])
    async def recent_trace(
        trace_id: Annotated[str, Path(pattern=f"^{TRACE_ID.pattern}$",
                                      description="32 lowercase hex digits (a W3C trace id)")],
    ) -> RecentTrace:
        """The spans of this trace that this process still holds among its recent ones (none once pushed out)."""
        return RecentTrace(service=service, recording=recording(), capacity=recent_capacity(),
                           spans=[SpanView.of(found) for found in recent_spans(trace_id)])

    return router
