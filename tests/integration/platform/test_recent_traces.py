"""GET /ops/traces/{trace_id}: the operator reads the spans a running service recorded of one trace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventshop.platform import tracing
from eventshop.platform.settings import Settings
from eventshop.services.inventory.service import declare
from tests.conftest import running
from tests.credentials import as_customer

TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER = f"00-{TRACE}-b7ad6b7169203331-01"


@pytest.fixture
def recording(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("EVENTSHOP_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    tracing.configure_tracing("inventory", settings)
    yield
    tracing.shutdown_tracing()


async def test_the_operator_reads_a_requests_spans_and_nobody_else_may(settings: Settings, recording: None,
                                                                       clean_broker: None) -> None:
    async with running(declare(), settings) as inventory:
        stocked = await inventory.http.put("/stock/kettle-1", json={"sku": "kettle-1", "available": 3},
                                           headers={"traceparent": CALLER})
        assert stocked.status_code == 200

        answer = await inventory.http.get(f"/ops/traces/{TRACE}")
        assert answer.status_code == 200
        found = answer.json()
        assert (found["service"], found["recording"], found["capacity"]) == ("inventory", True, 10_000)
        spans = {span["name"]: span for span in found["spans"]}
        served = spans["PUT /stock/{product_id}"]
        assert served["kind"] == "server" and served["parent_span_id"] == "b7ad6b7169203331"
        assert served["status"] == "ok" and served["attributes"]["http.response.status_code"] == 200
        assert spans["transaction"]["parent_span_id"] == served["span_id"]
        assert served["start_unix_us"] <= spans["transaction"]["start_unix_us"]
        assert 0 <= spans["transaction"]["duration_us"] <= served["duration_us"]

        assert (await inventory.anonymous.get(f"/ops/traces/{TRACE}")).status_code == 401
        assert (await inventory.anonymous.get(f"/ops/traces/{TRACE}", headers=as_customer("c-1"))).status_code == 403
        bad = await inventory.http.get("/ops/traces/not-a-trace")
        assert bad.status_code == 422 and "trace_id" in bad.text
        assert (await inventory.http.get(f"/ops/traces/{'1' * 32}")).json()["spans"] == []
        # The console's own reading is not traced: it would push the shop's spans out of the ring.
        assert not any(name.startswith("GET /ops") for _, _, _, name, *_ in tracing._state.recent or [])
