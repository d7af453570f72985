"""Cart rules: quantities, one currency per cart, totals, and which prices changed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MAX_QUANTITY = 99


class CartRuleBroken(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PricedLine:
    product_id: str
    quantity: int
    unit_price: int
    currency: str


def check_quantity(quantity: int) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise CartRuleBroken("invalid_quantity", f"quantity must be between 1 and {MAX_QUANTITY}")


def merged_quantity(current: int, added: int) -> int:
    total = current + added
    check_quantity(total)
    return total


def check_currency(cart_currency: str | None, product_currency: str) -> None:
    if cart_currency and cart_currency != product_currency:
        raise CartRuleBroken("mixed_currency", f"this cart is in {cart_currency}; the product is in {product_currency}")


def total(lines: Iterable[PricedLine]) -> int:
    return sum(line.quantity * line.unit_price for line in lines)


def changed_prices(lines: Iterable[PricedLine], current: Mapping[str, int]) -> dict[str, tuple[int, int]]:
    """product id -> (price in the cart, price now) for every line whose price moved."""
    return {
        line.product_id: (line.unit_price, current[line.product_id])
        for line in lines
        if line.product_id in current and current[line.product_id] != line.unit_price
    }
