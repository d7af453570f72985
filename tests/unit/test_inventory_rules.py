"""Inventory reservation rules, by example and by property: all or nothing, never below zero."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from eventshop.contracts.values import OrderLine
from eventshop.services.inventory.domain import (
    ReservationStatus,
    may_reserve,
    must_release,
    must_sell,
    plan_reservation,
)

PRODUCTS = ["p1", "p2", "p3"]


def line(product_id: str, quantity: int) -> OrderLine:
    return OrderLine(product_id=product_id, sku=product_id.upper(), name=product_id, quantity=quantity,
                     unit_price=100, currency="EUR")


def test_one_short_line_reserves_nothing_and_names_the_shortage() -> None:
    plan = plan_reservation([line("p1", 1), line("p2", 3)], {"p1": 5, "p2": 2})
    assert not plan.possible and plan.take == {}
    assert [(s.product_id, s.requested, s.available) for s in plan.shortages] == [("p2", 3, 2)]


def test_lines_of_the_same_product_count_together() -> None:
    assert not plan_reservation([line("p1", 2), line("p1", 2)], {"p1": 3}).possible
    assert plan_reservation([line("p1", 2), line("p1", 1)], {"p1": 3}).take == {"p1": 3}


def test_an_unknown_product_is_out_of_stock() -> None:
    plan = plan_reservation([line("ghost", 1)], {})
    assert [s.available for s in plan.shortages] == [0]


def test_only_a_new_order_reserves_and_only_a_reserved_one_releases() -> None:
    assert may_reserve(None)
    assert not any(may_reserve(s) for s in ReservationStatus)
    assert [s for s in ReservationStatus if must_release(s)] == [ReservationStatus.RESERVED]


orders = st.lists(
    st.lists(st.tuples(st.sampled_from(PRODUCTS), st.integers(1, 5)), min_size=1, max_size=3), max_size=30
)
stock = st.fixed_dictionaries({p: st.integers(0, 12) for p in PRODUCTS})


@given(orders, stock, st.data())
def test_concurrent_orders_never_oversell_and_cancellations_restore_exactly(
    order_lines: list[list[tuple[str, int]]], initial: dict[str, int], data: st.DataObject
) -> None:
    available = dict(initial)
    reserved: dict[int, dict[str, int]] = {}
    for number, lines in enumerate(order_lines):
        plan = plan_reservation([line(p, q) for p, q in lines], available)
        if plan.possible:
            for product, quantity in plan.take.items():
                available[product] -= quantity
            reserved[number] = plan.take
        assert all(v >= 0 for v in available.values())
    cancelled = data.draw(st.lists(st.sampled_from(sorted(reserved)), unique=True)) if reserved else []
    for number in cancelled:
        for product, quantity in reserved.pop(number).items():
            available[product] += quantity
    for product in PRODUCTS:
        held = sum(take.get(product, 0) for take in reserved.values())
        assert available[product] + held == initial[product]


def test_only_held_units_are_sold_and_a_shipped_order_releases_nothing() -> None:
    assert [s for s in ReservationStatus if must_sell(s)] == [ReservationStatus.RESERVED]
    assert not must_release(ReservationStatus.SHIPPED)
    assert not may_reserve(ReservationStatus.SHIPPED)
