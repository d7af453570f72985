"""/metrics counts and times every HTTP request by route template, method and status, on services and the frontend."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from eventshop.platform.settings import Settings
from eventshop.services.inventory.service import declare
from tests.conftest import running
from tests.integration.frontend.standins import open_shop


def samples(exposition: str, name: str) -> list[dict[str, str]]:
    """The label sets of the samples called `name` in a Prometheus text exposition, each with its value."""
    return [{**sample.labels, "value": str(sample.value)}
            for family in text_string_to_metric_families(exposition) for sample in family.samples
            if sample.name == name]


def value(found: list[dict[str, str]], **labels: str) -> float:
    matching = [s for s in found if all(s.get(k) == v for k, v in labels.items())]
    return sum(float(s["value"]) for s in matching)


def added(before: str, after: str, name: str) -> Callable[..., float]:
    """How much the samples `name` with given labels grew between two scrapes (counters are per process)."""
    earlier, later = samples(before, name), samples(after, name)
    return lambda **labels: value(later, **labels) - value(earlier, **labels)


async def test_requests_are_counted_by_route_template_never_by_raw_path(settings: Settings,
                                                                          clean_broker: None) -> None:
    async with running(declare(), settings) as inventory:
        before = (await inventory.anonymous.get("/metrics")).text
        for product in ("kettle-1", "kettle-2"):
            assert (await inventory.http.put(f"/stock/{product}", json={"sku": product, "available": 1})
                    ).status_code == 200
        assert (await inventory.anonymous.put("/stock/kettle-3", json={"sku": "x", "available": 1})
                ).status_code == 401
        assert (await inventory.http.get("/no/such/kettle-4")).status_code == 404
        exposition = (await inventory.anonymous.get("/metrics")).text

    requests = added(before, exposition, "eventshop_http_requests_total")
    route = "/stock/{product_id}"
    assert requests(service="inventory", method="PUT", route=route, status="200") == 2
    assert requests(service="inventory", method="PUT", route=route, status="401") == 1
    assert requests(service="inventory", method="GET", route="unmatched", status="404") == 1
    assert added(before, exposition, "eventshop_http_request_seconds_count")(
        service="inventory", method="PUT", route=route) == 3
    assert "kettle" not in exposition
    lag = samples(exposition, "eventshop_consumer_pending")
    assert {s["consumer"] for s in lag if s["service"] == "inventory"} >= {"inventory--order"}  # read at the scrape


async def test_the_frontend_serves_its_own_request_metrics() -> None:
    async with open_shop() as (web, _):
        before = (await web.get("/metrics")).text
        assert (await web.get("/products/cups")).status_code == 200
        assert (await web.get("/products/nothing-here")).status_code == 404
        metrics = await web.get("/metrics")

    assert metrics.status_code == 200  # public, like the services'
    requests = added(before, metrics.text, "eventshop_http_requests_total")
    assert requests(service="frontend", method="GET", route="/products/{product_id}", status="200") == 1
    assert requests(service="frontend", method="GET", route="/products/{product_id}", status="404") == 1
    assert "cups" not in metrics.text
