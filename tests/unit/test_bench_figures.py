"""The end-to-end bench's figures are read from order timelines as the Order service wrote them."""

from __future__ import annotations

from eventshop.cli.bench.report import cpu_figures, latency_ms, order_figures, percentile, stage_times
from eventshop.cli.bench.sampling import local_postgres_databases
from eventshop.cli.bench.workload import PlacedOrder


def order(status: str, *entries: tuple[str, str]) -> PlacedOrder:
    timeline = [{"at": f"2026-01-01T00:00:{at}+00:00", "status": s, "event": "", "detail": ""} for at, s in entries]
    return PlacedOrder("o", checkout_ms=10.0, status=status, timeline=timeline)


def test_percentile_is_nearest_rank_and_none_without_values() -> None:
    assert percentile(list(range(1, 101)), 99) == 99
    assert percentile([5.0], 50) == 5.0
    assert percentile([], 95) is None


def test_latency_runs_from_the_first_timeline_entry_to_the_final_status() -> None:
    shipped = order("shipped", ("00.000", "created"), ("00.100", "processing"), ("00.300", "paid"),
                    ("00.450", "shipped"))
    assert latency_ms(shipped) == 450.0
    assert latency_ms(order("processing", ("00.000", "created"), ("00.100", "processing"))) is None


def test_stages_use_the_first_time_a_status_was_reached_and_skip_orders_not_shipped() -> None:
    # Order may see the shipping event before the payment event: the late one is ignored, status stays shipped
    early_shipping = order("shipped", ("00.000", "created"), ("00.100", "processing"), ("00.400", "shipped"),
                           ("00.500", "shipped"))
    cancelled = order("cancelled", ("00.000", "created"), ("00.200", "cancelled"))
    stages = stage_times([early_shipping, cancelled])
    assert set(stages) == {"created -> processing", "processing -> shipped"}
    assert stages["processing -> shipped"]["p50_ms"] == 300.0


def test_orders_without_a_final_status_are_counted_not_final() -> None:
    figures = order_figures([order("shipped", ("00.000", "created"), ("01.000", "shipped")),
                             order("processing", ("00.000", "created"))], window_s=2.0)
    assert figures["orders_shipped"] == 1 and figures["orders_not_final"] == 1
    assert figures["shipped_per_s"] == 0.5


def test_cpu_per_order_is_given_with_and_without_the_external_system_sandboxes() -> None:
    figures = cpu_figures({"order": 2.0, "mail": 1.0, "payment-system": 0.5, "bench": 9.0}, shipped=10)
    assert figures["cpu_ms_per_shipped_order_total"] == 350.0  # the bench's own CPU is never counted
    assert figures["cpu_ms_per_shipped_order_without_sandboxes"] == 200.0
    assert figures["cpu_ms_per_shipped_order"]["mail"] == 100.0


def test_a_local_postgresql_servers_cpu_is_shown_but_not_counted_as_the_shops() -> None:
    figures = cpu_figures({"order": 2.0, "postgres": 3.0, "bench": 9.0}, shipped=10)
    assert figures["cpu_ms_per_shipped_order_total"] == 200.0
    assert figures["cpu_ms_per_shipped_order"]["postgres"] == 300.0


def test_only_databases_on_this_machines_postgresql_are_watched() -> None:
    urls = ["postgresql+asyncpg://postgres@127.0.0.1:5432/shop_order", "postgresql+asyncpg://u@localhost/shop_cart",
            "postgresql+asyncpg://postgres@/shop_payment?host=/var/run/postgresql",
            "postgresql+asyncpg://postgres@db.example.com/shop_shipping", "sqlite+aiosqlite:///tmp/x.sqlite3"]
    assert local_postgres_databases(urls) == {"shop_order", "shop_cart", "shop_payment"}
