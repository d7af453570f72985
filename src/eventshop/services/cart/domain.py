"""Cart rules: quantities, one currency per cart, totals, and which prices changed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from eventshop.contracts.values import MAX_AMOUNT

MAX_QUANTITY = 99


class CartStatus(StrEnum):
    OPEN = "open"
    ORDERED = "ordered"


class CartRuleBroken(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Price:
    amount: int  # minor units
    currency: str


@dataclass(frozen=True)
class PricedLine:
    product_id: str
    quantity: int
    price: Price


@dataclass(frozen=True)
class PriceChange:
    product_id: str
    was: Price
    now: Price


def check_quantity(quantity: int) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise CartRuleBroken("invalid_quantity", f"quantity must be between 1 and {MAX_QUANTITY}")


def merged_quantity(current: int, added: int) -> int:
    """Adding a product already in the cart raises that line's quantity, within the same bounds."""
    merged = current + added
    check_quantity(merged)
    return merged


def check_currency(cart_currency: str | None, product_currency: str) -> None:
    if cart_currency and cart_currency != product_currency:
        raise CartRuleBroken("mixed_currency", f"this cart is in {cart_currency}; the product is in {product_currency}")


def cart_currency(lines: Iterable[PricedLine]) -> str | None:
    """The one currency every line shares; None for an empty cart."""
    currencies = sorted({line.price.currency for line in lines})
    if len(currencies) > 1:
        raise CartRuleBroken("mixed_currency", f"the cart mixes {', '.join(currencies)}; remove lines to keep one")
    return currencies[0] if currencies else None


def total(lines: Iterable[PricedLine]) -> int:
    return sum(line.quantity * line.price.amount for line in lines)


def check_orderable_total(amount: int) -> None:
    if amount > MAX_AMOUNT:
        raise CartRuleBroken("total_too_large", f"an order can total at most {MAX_AMOUNT} minor units; "
                                                "remove some items")


def price_changes(lines: Iterable[PricedLine], current: Mapping[str, Price]) -> list[PriceChange]:
    """Every line whose price (amount or currency) differs from the catalog's current price."""
    return [
        PriceChange(line.product_id, line.price, current[line.product_id])
        for line in lines
        if line.product_id in current and current[line.product_id] != line.price
    ]
