"""One order's checkout is one trace across the services, exported over OTLP/HTTP, events linking its parts."""

from __future__ import annotations

import pytest

from tests.otlp import OtlpReceiver, ReceivedSpan
from tests.shop import Shop
from tests.system.shopping import add_product, final_order, order, settled, sign_up

pytestmark = pytest.mark.system


INVOLVED = {"cart", "order", "inventory", "payment", "shipping", "notification"}


def by_id(spans: list[ReceivedSpan]) -> dict[str, ReceivedSpan]:
    return {span.span_id: span for span in spans}


def complete(spans: list[ReceivedSpan]) -> list[ReceivedSpan] | None:
    """The trace once every service involved sent its spans and every span's parent has arrived (a parent ends,
    and so is exported, after its children)."""
    known = by_id(spans)
    whole = all(s.parent_span_id in known for s in spans if s.parent_span_id)
    return spans if whole and {s.service for s in spans} >= INVOLVED else None


def test_an_orders_checkout_is_one_trace_whose_event_hops_are_parent_and_child(
    shop: Shop, otlp_receiver: OtlpReceiver
) -> None:
    customer = sign_up(shop)
    product = add_product(shop, stock=3)
    order_id = order(shop, customer["id"], [(product["id"], 1)])
    assert final_order(shop, order_id)["status"] == "shipped"

    # Every delivery about the order is a consumer span naming it; its trace is the checkout's.
    [trace_id] = settled(shop, lambda: {s.trace_id for s in otlp_receiver.find(**{"eventshop.subject": order_id})},
                         message="the order's consumer spans")
    spans = settled(shop, lambda: complete(otlp_receiver.trace(trace_id)), message="the whole trace")
    spans_by_id = by_id(spans)

    [checkout] = [s for s in spans if s.kind == "server" and s.name == "POST /carts/{customer_id}/checkout"]
    assert checkout.service == "cart" and checkout.parent_span_id == ""  # the trace starts at the checkout
    placed = [s for s in spans if s.service == "order" and s.kind == "server" and s.name.startswith("POST ")]
    assert placed and all(spans_by_id[s.parent_span_id].service == "cart" for s in placed)  # Cart's call to Order

    hops = [(spans_by_id[s.parent_span_id], s) for s in spans if s.kind == "consumer"]
    assert {consumed.service for _, consumed in hops} >= {"inventory", "payment", "shipping", "notification"}
    for created, consumed in hops:  # each delivery is the child of the span that staged the event
        assert created.kind == "producer"
        assert created.name == f"{consumed.attributes['messaging.message.type']} create"
    assert any(created.service == "order" and consumed.service == "inventory" for created, consumed in hops)

    charges = [s for s in spans if s.name == "payment_system charge"]
    assert [(s.service, s.attributes["eventshop.external.outcome"]) for s in charges] == [("payment", "ok")]
    assert spans_by_id[charges[0].parent_span_id].kind == "consumer"
    assert any(s.name == "transaction" and s.service == "inventory" for s in spans)
    published = [s for s in spans if s.name.endswith(" publish")]
    assert published and all(spans_by_id[s.parent_span_id].name.endswith(" create") for s in published)


def test_with_a_collector_too_each_process_keeps_the_very_spans_it_exports(
    shop: Shop, otlp_receiver: OtlpReceiver
) -> None:
    customer = sign_up(shop)
    product = add_product(shop, stock=3)
    order_id = order(shop, customer["id"], [(product["id"], 1)])
    trace_id = final_order(shop, order_id)["timeline"][0]["trace_id"]  # the order remembers its checkout's trace

    def kept() -> set[tuple[str, str, str, str]]:
        found = set()
        for service in sorted(INVOLVED):
            with shop.http(service) as client:
                answer = client.get(f"/ops/traces/{trace_id}", headers=shop.as_operator(service)).json()
            found |= {(service, s["span_id"], s["parent_span_id"] or "", s["name"]) for s in answer["spans"]}
        return found

    def agreeing() -> set[tuple[str, str, str, str]] | None:
        spans = complete(otlp_receiver.trace(trace_id))
        exported = {(s.service, s.span_id, s.parent_span_id, s.name) for s in spans or [] if s.service in INVOLVED}
        return exported if exported and exported == kept() else None

    assert any(name == "POST /carts/{customer_id}/checkout" for *_, name in
               settled(shop, agreeing, message="the same spans exported and kept"))
