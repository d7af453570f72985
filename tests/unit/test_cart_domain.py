"""Cart rules: quantities, one currency, totals, and detecting changed prices."""

from __future__ import annotations

import pytest

from eventshop.services.cart import domain
from eventshop.services.cart.domain import CartRuleBroken, Price, PriceChange, PricedLine


def line(product_id: str, quantity: int, amount: int, currency: str = "EUR") -> PricedLine:
    return PricedLine(product_id, quantity, Price(amount, currency))


@pytest.mark.parametrize("quantity", [1, 42, 99])
def test_quantities_from_1_to_99_are_accepted(quantity: int) -> None:
    domain.check_quantity(quantity)


@pytest.mark.parametrize("quantity", [-1, 0, 100])
def test_quantities_outside_1_to_99_are_refused(quantity: int) -> None:
    with pytest.raises(CartRuleBroken) as refused:
        domain.check_quantity(quantity)
    assert refused.value.code == "invalid_quantity"


def test_adding_a_product_again_raises_its_quantity_within_bounds() -> None:
    assert domain.merged_quantity(3, 2) == 5
    with pytest.raises(CartRuleBroken):
        domain.merged_quantity(98, 2)


def test_a_cart_takes_products_in_its_own_currency_only() -> None:
    domain.check_currency(None, "USD")
    domain.check_currency("EUR", "EUR")
    with pytest.raises(CartRuleBroken) as refused:
        domain.check_currency("EUR", "USD")
    assert refused.value.code == "mixed_currency"


def test_cart_currency_is_the_one_all_lines_share() -> None:
    assert domain.cart_currency([]) is None
    assert domain.cart_currency([line("a", 1, 100), line("b", 2, 50)]) == "EUR"
    with pytest.raises(CartRuleBroken):
        domain.cart_currency([line("a", 1, 100), line("b", 1, 100, "USD")])


def test_total_is_the_sum_of_quantity_times_unit_price_in_minor_units() -> None:
    assert domain.total([line("a", 3, 1200), line("b", 1, 499)]) == 4099
    assert domain.total([]) == 0


def test_price_changes_list_every_line_whose_price_moved() -> None:
    lines = [line("a", 1, 1000), line("b", 2, 500), line("c", 1, 700)]
    current = {"a": Price(1000, "EUR"), "b": Price(550, "EUR"), "c": Price(700, "USD")}
    assert domain.price_changes(lines, current) == [
        PriceChange("b", Price(500, "EUR"), Price(550, "EUR")),
        PriceChange("c", Price(700, "EUR"), Price(700, "USD")),
    ]


def test_no_price_changes_when_the_catalog_agrees() -> None:
    lines = [line("a", 1, 1000)]
    assert domain.price_changes(lines, {"a": Price(1000, "EUR")}) == []
