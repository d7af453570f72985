"""With no collector anywhere, the console's order page draws the order's trace from every process's recent spans."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.shop import Shop
from tests.system.shopping import add_product, final_order, order, settled, sign_up
from tests.system.test_console import password_of, sign_in

pytestmark = pytest.mark.system
ROW = re.compile(r'<tr data-service="([\w-]+)" data-kind="(\w+)" data-depth="(\d+)" data-status="(\w+)"[^>]*>\s*'
                 r'<td>[^<]*</td>\s*<td class="span-name">(?:<span class="indent"></span>)*([^<]+?) <span')
EVERY_SERVICE_OF_THE_SAGA = {"cart", "order", "inventory", "payment", "shipping", "notification"}


@pytest.fixture
def console(chaotic_shop: Shop) -> Iterator[httpx.Client]:
    """Signed in to the console of the chaotic shop: it exports no span (no OTLP endpoint), it only records."""
    assert "EVENTSHOP_OTLP_ENDPOINT" not in chaotic_shop.env and "OTEL_EXPORTER_OTLP_ENDPOINT" not in chaotic_shop.env
    with httpx.Client(base_url=chaotic_shop.console(), timeout=30) as client:
        assert sign_in(client, password_of(chaotic_shop)) == (303, "/")
        yield client


def rows_of(page: str) -> list[tuple[str, str, int, str, str]]:
    return [(service, kind, int(depth), status, html.unescape(name))
            for service, kind, depth, status, name in ROW.findall(page)]


def test_the_order_page_shows_the_checkouts_trace_with_spans_of_every_service_nested_across_event_hops(
    console: httpx.Client, chaotic_shop: Shop
) -> None:
    product = add_product(chaotic_shop, stock=3)
    customer = sign_up(chaotic_shop)
    order_id = order(chaotic_shop, customer["id"], [(product["id"], 1)])
    placed = final_order(chaotic_shop, order_id)
    assert placed["status"] == "shipped"
    [trace_id, *_] = [item["trace_id"] for item in placed["timeline"]]  # written down with the order's creation

    def whole() -> tuple[str, list[tuple[str, str, int, str, str]]] | None:
        page = console.get(f"/orders/{order_id}").text
        rows = rows_of(page)
        return (page, rows) if {row[0] for row in rows} >= EVERY_SERVICE_OF_THE_SAGA else None

    page, rows = settled(chaotic_shop, whole, message="spans of every service in the order's waterfall")
    assert f'data-testid="waterfall" data-trace="{trace_id}"' in page
    assert "No spans from" not in page  # every process answered
    service, kind, depth, _, name = rows[0]
    assert (service, kind, depth, name) == ("cart", "server", 0, "POST /carts/{customer_id}/checkout")
    called = rows.index(("order", "server", 2, "ok", "POST /orders"))  # Cart's "Create Order", under its call
    assert rows[called - 1][:3] == ("cart", "client", 1) and rows[called - 1][4] == "POST order"
    for index, (_, kind, depth, _, name) in enumerate(rows):
        if kind == "consumer":  # each delivery sits right under the span that staged its event (or a sibling)
            event = name.removesuffix(" process")
            parent = next(row for row in reversed(rows[:index]) if row[2] == depth - 1)
            assert parent[1:3] == ("producer", depth - 1) and parent[4] == f"{event} create", (parent, name)
    assert any(row[0] == "payment" and row[4] == "payment_system charge" for row in rows)
    assert re.search(r'<rect x="[\d.]+" y="1" width="[\d.]+" height="8" class="server ok"/>', page)
