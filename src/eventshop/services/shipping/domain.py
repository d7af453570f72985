"""Shipping rules: one shipment record per order, and what the parcel weighs."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from eventshop.contracts.values import OrderLine

GRAMS_PER_ITEM = 500
PACKAGING_GRAMS = 200
DEFAULT_CARRIER = "DHL"


class ShipmentStatus(StrEnum):
    CREATED = "created"
    FAILED = "failed"
    CANCELLED = "cancelled"  # the payment failed: this order must never ship


def may_ship(existing: ShipmentStatus | None) -> bool:
    """Only an order with no shipment record ships; a duplicate or a cancelled order does not."""
    return existing is None


def parcel_weight(lines: Iterable[OrderLine]) -> int:
    return PACKAGING_GRAMS + sum(line.quantity * GRAMS_PER_ITEM for line in lines)


def parcel_items(lines: Iterable[OrderLine]) -> list[dict[str, object]]:
    return [{"sku": line.sku, "quantity": line.quantity} for line in lines]
