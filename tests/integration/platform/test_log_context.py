"""A call made while handling an event carries the order's correlation id and trace to the callee."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from eventshop.contracts.envelope import new_trace_parent
from eventshop.platform.http import ServiceClient
from eventshop.platform.settings import Settings
from eventshop.platform.telemetry import LogContextMiddleware, current_log_context, log_context
from tests.conftest import serving


def callee() -> FastAPI:
    app = FastAPI()
    app.add_middleware(LogContextMiddleware)

    @app.get("/context")
    async def context() -> dict[str, str]:
        return dict(current_log_context())

    return app


async def test_the_callee_logs_under_the_callers_correlation_id_and_trace(tmp_path: Path) -> None:
    parent = new_trace_parent()
    async with serving(callee()) as url:
        settings = Settings(data_dir=tmp_path, service_urls={"account": url}, dev_secrets=True)
        client = ServiceClient(settings, "payment", "account")
        try:
            with log_context(correlation_id="o-42", traceparent=parent):
                seen = await client.get("/context")
            unrelated = await client.get("/context")
        finally:
            await client.aclose()

    assert seen["correlation_id"] == "o-42"
    _, trace_id, span_id, _ = parent.split("-")
    assert seen["traceparent"].split("-")[1] == trace_id  # the same trace
    assert seen["traceparent"].split("-")[2] != span_id  # a new span in it
    assert unrelated == {}
