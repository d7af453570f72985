"""Reservation rules: all lines or none, never below zero, one reservation per order, held until final.

A unit is in one of three places: available (can be sold now), held (reserved for an order still in
flight) or sold (its order shipped). Reserving moves available to held; a cancel moves held back to
available; shipping moves held to sold. Every order ends with nothing held.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from eventshop.contracts.values import OrderLine, StockShortage


class ReservationStatus(StrEnum):
    RESERVED = "reserved"
    REJECTED = "rejected"  # out of stock; nothing was taken
    RELEASED = "released"  # the order was cancelled after reserving
    CANCELLED = "cancelled"  # the cancellation arrived before the order: never reserve it
    SHIPPED = "shipped"  # the held units are sold


@dataclass(frozen=True)
class ReservationPlan:
    """How much to take per product, or the shortages that prevent taking anything."""

    take: dict[str, int]
    shortages: list[StockShortage]

    @property
    def possible(self) -> bool:
        return not self.shortages


def requested_quantities(lines: Iterable[OrderLine]) -> dict[str, int]:
    """Lines of the same product count together."""
    wanted: dict[str, int] = {}
    for line in lines:
        wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity
    return wanted


def plan_reservation(lines: Iterable[OrderLine], available: Mapping[str, int]) -> ReservationPlan:
    lines = list(lines)
    wanted = requested_quantities(lines)
    named = {line.product_id: line for line in lines}
    shortages = [
        StockShortage(product_id=pid, sku=named[pid].sku, name=named[pid].name, requested=qty,
                      available=max(available.get(pid, 0), 0))
        for pid, qty in sorted(wanted.items())
        if available.get(pid, 0) < qty
    ]
    return ReservationPlan(take={} if shortages else wanted, shortages=shortages)


def may_reserve(existing: ReservationStatus | None) -> bool:
    """Only an order never seen before reserves; a redelivery or an early cancel does not."""
    return existing is None


def must_release(existing: ReservationStatus | None) -> bool:
    """Only held units go back: a cancel after shipping (or a second cancel) changes nothing."""
    return existing is ReservationStatus.RESERVED


def must_sell(existing: ReservationStatus) -> bool:
    """Only held units become sold: a redelivered shipment, or one of a released order, changes nothing."""
    return existing is ReservationStatus.RESERVED


def validate_stock_level(available: int) -> None:
    if available < 0:
        raise ValueError("stock cannot be negative")
