"""The end-to-end bench's figures: computed from order timelines and samples, printed as tables, written as JSON."""

from __future__ import annotations

import itertools
import json
import math
import statistics
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from eventshop.cli.bench.workload import PlacedOrder

FINAL = ("shipped", "cancelled")


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def status_times(timeline: list[dict[str, Any]]) -> dict[str, datetime]:
    """When the order first reached each status, from the Order service's own timeline."""
    reached: dict[str, datetime] = {}
    for entry in timeline:
        reached.setdefault(str(entry["status"]), datetime.fromisoformat(str(entry["at"])))
    return reached


def latency_ms(placed: PlacedOrder) -> float | None:
    """Checkout (the order's first timeline entry) -> its final status."""
    if placed.status not in FINAL or not placed.timeline:
        return None
    reached = status_times(placed.timeline)
    first = datetime.fromisoformat(str(placed.timeline[0]["at"]))
    return (reached[str(placed.status)] - first).total_seconds() * 1000


def stage_times(orders: list[PlacedOrder]) -> dict[str, dict[str, float]]:
    """Mean and p50 of the time between consecutive statuses of shipped orders, e.g. `processing -> paid`."""
    spans: dict[str, list[float]] = {}
    for placed in orders:
        if placed.status != "shipped":
            continue
        reached = sorted(status_times(placed.timeline).items(), key=lambda item: item[1])
        for (before, at_before), (after, at_after) in itertools.pairwise(reached):
            spans.setdefault(f"{before} -> {after}", []).append((at_after - at_before).total_seconds() * 1000)
    return {name: {"mean_ms": statistics.fmean(v), "p50_ms": statistics.median(v), "count": len(v)}
            for name, v in spans.items()}


def order_figures(orders: list[PlacedOrder], window_s: float) -> dict[str, Any]:
    shipped = [o for o in orders if o.status == "shipped"]
    latencies = [v for o in shipped if (v := latency_ms(o)) is not None]
    checkout = [o.checkout_ms for o in orders]
    return {
        "orders_placed": len(orders),
        "orders_shipped": len(shipped),
        "orders_cancelled": sum(1 for o in orders if o.status == "cancelled"),
        "orders_not_final": sum(1 for o in orders if o.status not in FINAL),
        "shipped_per_s": len(shipped) / window_s if window_s > 0 else 0.0,
        "checkout_to_shipped_ms": {f"p{q}": percentile(latencies, q) for q in (50, 95, 99)}
        | {"max": max(latencies, default=None)},
        "checkout_request_ms": {"p50": percentile(checkout, 50), "p99": percentile(checkout, 99)},
        "stages": stage_times(orders),
    }


EXTERNAL_STAND_INS = ("payment-system", "logistics-system", "mail")
NOT_THE_SHOP = ("bench", "postgres")  # the load generator; a PostgreSQL server on this machine


def cpu_figures(cpu_used: dict[str, float], shipped: int) -> dict[str, Any]:
    """CPU-ms per shipped order per process and for the shop in total (the bench's own CPU and a local PostgreSQL
    server's apart)."""
    per_order = {name: (s * 1000 / shipped if shipped else None) for name, s in cpu_used.items()}
    shop_total = sum(s for name, s in cpu_used.items() if name not in NOT_THE_SHOP)
    # The stand-ins for the payment, logistics and email systems run in the shop's processes here;
    # with real providers that work happens elsewhere, so the total without them is shown too.
    own = sum(s for name, s in cpu_used.items() if name not in (*NOT_THE_SHOP, *EXTERNAL_STAND_INS))
    return {
        "cpu_s": cpu_used,
        "cpu_ms_per_shipped_order": per_order,
        "cpu_ms_per_shipped_order_total": shop_total * 1000 / shipped if shipped else None,
        "cpu_ms_per_shipped_order_without_sandboxes": own * 1000 / shipped if shipped else None,
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def print_figures(console: Console, figures: dict[str, Any]) -> None:
    orders, run = figures["orders"], figures["run"]
    table = Table("measure", "value", title="eventshop end-to-end benchmark")
    table.add_row("run", run["description"])
    table.add_row("databases", str(run.get("databases", "-")))
    table.add_row("orders placed / shipped / cancelled",
                  f"{orders['orders_placed']} / {orders['orders_shipped']} / {orders['orders_cancelled']}")
    table.add_row("orders not final", str(orders["orders_not_final"]))
    if figures["checkout_errors"]:
        errors = ", ".join(f"{k}: {v}" for k, v in figures["checkout_errors"].items())
        table.add_row("checkouts refused or failed", errors)
    table.add_row("shipped orders / s", f"{orders['shipped_per_s']:.1f}")
    table.add_row("events / s on the topics", f"{figures['events_per_s']:.1f}")
    table.add_row("events / HTTP requests per order (shopper's included)",
                  f"{figures['events_per_order']:.1f} / {figures['http_requests_per_order']:.1f}")
    latency = orders["checkout_to_shipped_ms"]
    table.add_row("checkout -> shipped p50 / p95 / p99 / max (order timeline)",
                  " / ".join(_ms(latency[k]) for k in ("p50", "p95", "p99", "max")))
    table.add_row("checkout request p50 / p99 (shopper's view)",
                  " / ".join(_ms(orders["checkout_request_ms"][k]) for k in ("p50", "p99")))
    for stage, times in orders["stages"].items():
        table.add_row(f"  stage {stage} mean / p50 ({times['count']:.0f} orders)",
                      f"{_ms(times['mean_ms'])} / {_ms(times['p50_ms'])}")
    cpu = figures["cpu"]
    total = cpu["cpu_ms_per_shipped_order_total"]
    table.add_row("CPU per shipped order, whole shop", _ms(total))
    without = cpu.get("cpu_ms_per_shipped_order_without_sandboxes")
    table.add_row("  of it without the external-system sandboxes", _ms(without))
    if "postgres" in cpu["cpu_s"]:
        table.add_row("CPU per shipped order, PostgreSQL server (this machine; not in the shop's)",
                      _ms(cpu["cpu_ms_per_shipped_order"]["postgres"]))
    table.add_row("peak RSS, whole shop (a shared page counted in each process)",
                  f"{figures['rss']['peak_total_bytes'] / 2**20:.0f} MiB")
    if figures.get("pss"):
        table.add_row("peak PSS, whole shop (a shared page split between its processes)",
                      f"{figures['pss']['peak_total_bytes'] / 2**20:.0f} MiB")
    lag = figures["consumer_lag"]
    table.add_row("consumer lag, max (all consumers at once)", str(lag["max_total"]))
    worst = max(lag["max_per_consumer"].items(), key=lambda kv: kv[1], default=None)
    if worst:
        table.add_row("consumer lag, max of one consumer", f"{worst[1]} ({worst[0]})")
    backlog = max(figures["outbox_backlog_max"].items(), key=lambda kv: kv[1], default=None)
    if backlog:
        table.add_row("outbox backlog, max", f"{backlog[1]} ({backlog[0]})")
    if not figures["drained"]:
        table.add_row("[yellow]consumers drained[/]", "[yellow]no: CPU window ended with messages unacked[/]")
    if figures.get("slow_card"):
        slow = figures["slow_card"]
        table.add_row("slow-card order", f"{slow['status']}, checkout -> final {_ms(slow['latency_ms'])}")
    if figures.get("raw_chain"):
        chain = figures["raw_chain"]
        table.add_row("raw 5-hop JetStream chain (one Python process)",
                      f"{chain['msg_per_s']:.0f} msg/s through all hops ({chain['hop_messages_per_s']:.0f} "
                      f"hop deliveries/s), p50 {_ms(chain['p50_ms'])}")
        table.add_row("shipped orders/s ÷ raw chain msg/s (an order is a 5-event chain too)",
                      f"{figures['ratio_orders_to_chain']:.1%}")
    console.print(table)
    console.print(process_table(figures))


def process_table(figures: dict[str, Any]) -> Table:
    table = Table("process", "CPU s", "CPU ms / shipped order", "peak RSS", "peak PSS",
                  title="per process (in the CPU window)")
    cpu, rss, pss = figures["cpu"], figures["rss"]["peak_bytes"], figures.get("pss", {}).get("peak_bytes", {})
    labels = {"bench": "bench (load generator, not in totals)",
              "postgres": "postgres (server backends of the shop's databases, not in totals)"}
    for name in sorted(cpu["cpu_s"], key=lambda n: (n in NOT_THE_SHOP, -cpu["cpu_s"][n])):
        label = labels.get(name, name)
        peak = f"{rss[name] / 2**20:.0f} MiB" if name in rss else "-"
        proportional = f"{pss[name] / 2**20:.0f} MiB" if name in pss else "-"
        table.add_row(label, f"{cpu['cpu_s'][name]:.2f}", _ms(cpu["cpu_ms_per_shipped_order"][name]), peak,
                      proportional)
    return table


def write_json(path: Path, figures: dict[str, Any]) -> None:
    path.write_text(json.dumps(figures, indent=2, default=str) + "\n")
