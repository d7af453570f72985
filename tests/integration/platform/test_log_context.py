"""A call made while handling an event carries the order's correlation id and trace to the callee."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from eventshop.contracts.envelope import new_trace_parent
from eventshop.platform.http import pass_on_log_context
from eventshop.platform.telemetry import LogContextMiddleware, current_log_context, log_context
from tests.conftest import serving


def callee() -> FastAPI:
    app = FastAPI()
    app.add_middleware(LogContextMiddleware)

    @app.get("/context")
    async def context() -> dict[str, str]:
        return dict(current_log_context())

    return app


async def test_the_callee_logs_under_the_callers_correlation_id_and_trace() -> None:
    parent = new_trace_parent()
    async with serving(callee()) as url, httpx.AsyncClient(
        base_url=url, event_hooks={"request": [pass_on_log_context]}
    ) as http:
        with log_context(correlation_id="o-42", traceparent=parent):
            seen = (await http.get("/context")).json()
        unrelated = (await http.get("/context")).json()

    assert seen["correlation_id"] == "o-42"
    _, trace_id, span_id, _ = parent.split("-")
    assert seen["traceparent"].split("-")[1] == trace_id  # the same trace
    assert seen["traceparent"].split("-")[2] != span_id  # a new span in it
    assert unrelated == {}
