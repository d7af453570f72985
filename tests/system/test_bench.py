"""`eventshop bench` end to end: it starts a shop, drives shoppers, and accounts for every order it placed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eventshop.cli.up import SERVICES

pytestmark = pytest.mark.system


def test_bench_ships_orders_loses_none_and_measures_every_service(tmp_path: Path) -> None:
    # Given no running shop; when the bench runs a short closed loop with the raw chain
    out = tmp_path / "figures.json"
    result = subprocess.run(
        [sys.executable, "-m", "eventshop.cli.main", "bench", "--concurrency", "2", "--duration", "3",
         "--with-raw-chain", "--raw-chain-messages", "100", "--json", str(out)],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, timeout=400,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(out.read_text())
    orders = figures["orders"]
    # Then orders were shipped and every order placed became final
    assert orders["orders_shipped"] > 0 and figures["orders"]["shipped_per_s"] > 0
    assert orders["orders_not_final"] == 0
    assert orders["orders_placed"] == orders["orders_shipped"] + orders["orders_cancelled"]
    assert orders["checkout_to_shipped_ms"]["p50"] <= orders["checkout_to_shipped_ms"]["max"]
    # And CPU was measured for each service, with a per-order figure
    for service in SERVICES:
        assert figures["cpu"]["cpu_s"][service] > 0, service
        assert figures["cpu"]["cpu_ms_per_shipped_order"][service] is not None
    assert figures["cpu"]["cpu_ms_per_shipped_order_total"] > 0
    assert figures["rss"]["peak_total_bytes"] > 0 and {"nats", "console", "up"} <= set(figures["rss"]["peak_bytes"])
    # And the fork server its children come from is counted; their shared pages make PSS less than RSS
    assert figures["cpu"]["cpu_s"]["forkserver"] >= 0 and "forkserver" in figures["pss"]["peak_bytes"]
    assert 0 < figures["pss"]["peak_total_bytes"] < 0.8 * figures["rss"]["peak_total_bytes"], figures["pss"]
    assert {"consumer_lag", "outbox_backlog_max", "events_per_s", "raw_chain", "ratio_orders_to_chain"} <= set(figures)
    assert figures["raw_chain"]["msg_per_s"] > 0
    assert "shipped orders / s" in result.stdout and "per process" in result.stdout
