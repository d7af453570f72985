"""How many of a guest's chosen products join the customer's cart at sign-in."""

from __future__ import annotations

from eventshop.frontend.guest_cart import quantity_to_add


def test_quantities_add_up() -> None:
    assert quantity_to_add(in_cart=2, chosen=3, available=None) == 3


def test_a_line_is_capped_at_the_carts_maximum() -> None:
    assert quantity_to_add(in_cart=97, chosen=5, available=None) == 2
    assert quantity_to_add(in_cart=99, chosen=1, available=None) == 0


def test_a_line_is_capped_at_what_can_be_ordered_without_taking_away_what_the_cart_has() -> None:
    assert quantity_to_add(in_cart=37, chosen=5, available=40) == 3
    assert quantity_to_add(in_cart=5, chosen=2, available=3) == 0
