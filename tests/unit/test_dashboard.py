"""The Grafana dashboard queries only metrics the code registers, so a renamed metric cannot leave it blank."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "eventshop.json"
# The modules that register metrics: the platform's, and the services' own gauges.
REGISTERING = ("eventshop.platform.telemetry", "eventshop.services.order.usecases",
               "eventshop.services.payment.reconciliation")
SAMPLE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def registered() -> set[str]:
    """Every sample name the registry exposes: `x_total` of a counter, `x_bucket`, `x_count`, `x_sum` of a histogram."""
    for module in REGISTERING:
        importlib.import_module(module)
    return {family.name + suffix for family in REGISTRY.collect()
            for suffix in SAMPLE_SUFFIXES.get(family.type, ("",))}


def expressions(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for value in node.values() for e in expressions(value)]
    if isinstance(node, list):
        return [e for item in node for e in expressions(item)]
    return []


def queried(dashboard: dict[str, Any]) -> set[str]:
    found = {name for expr in expressions(dashboard) for name in re.findall(r"\beventshop_[a-z_]+", expr)}
    variables = dashboard["templating"]["list"]
    return found | {name for v in variables for name in re.findall(r"\beventshop_[a-z_]+", v.get("definition", ""))}


def test_every_metric_the_dashboard_queries_is_registered_by_the_code() -> None:
    dashboard = json.loads(DASHBOARD.read_text())

    unknown = queried(dashboard) - registered()

    assert unknown == set(), f"docs/grafana/eventshop.json queries metrics nothing registers: {sorted(unknown)}"


def test_the_dashboard_shows_http_external_calls_lag_backlog_and_dead_letters() -> None:
    dashboard = json.loads(DASHBOARD.read_text())

    shown = queried(dashboard)

    assert shown >= {"eventshop_http_requests_total", "eventshop_http_request_seconds_bucket",
                     "eventshop_external_calls_total", "eventshop_external_call_seconds_bucket",
                     "eventshop_consumer_pending", "eventshop_outbox_backlog", "eventshop_events_consumed_total"}
    assert any('outcome="dead_lettered"' in expr for expr in expressions(dashboard))
    assert all(panel.get("targets") for panel in dashboard["panels"] if panel["type"] != "row")
