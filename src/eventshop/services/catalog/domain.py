"""Catalog rules: availability labels, product ids, search patterns, and the generated product image."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from enum import StrEnum

LOW_STOCK = 5
LIKE_ESCAPE = "\\"


class Availability(StrEnum):
    IN_STOCK = "in_stock"
    LOW_STOCK = "low_stock"
    OUT_OF_STOCK = "out_of_stock"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class AvailabilityView:
    status: Availability
    available: int | None


def availability(available: int | None) -> AvailabilityView:
    """What a shopper is told about stock; None means Inventory could not be asked."""
    if available is None:
        return AvailabilityView(Availability.UNKNOWN, None)
    if available <= 0:
        return AvailabilityView(Availability.OUT_OF_STOCK, 0)
    if available <= LOW_STOCK:
        return AvailabilityView(Availability.LOW_STOCK, available)
    return AvailabilityView(Availability.IN_STOCK, available)


def _sku_hash(sku: str) -> str:
    return hashlib.sha1(sku.encode()).hexdigest()[:8]


def product_id_for(sku: str) -> str:
    """A short, stable, URL-safe id derived from the SKU."""
    slug = re.sub(r"[^a-z0-9]+", "-", sku.lower()).strip("-")
    return slug or _sku_hash(sku)


def unique_product_id_for(sku: str) -> str:
    """The id to use when another SKU already slugs to `product_id_for(sku)` (e.g. `A_1` and `A-1`)."""
    return f"{product_id_for(sku)[:55]}-{_sku_hash(sku)}"


def like_pattern(query: str) -> str:
    """A case-folded LIKE pattern matching `query` anywhere, with its own % and _ taken literally."""
    escaped = query.strip().lower()
    for special in (LIKE_ESCAPE, "%", "_"):
        escaped = escaped.replace(special, LIKE_ESCAPE + special)
    return f"%{escaped}%"


def initials(name: str) -> str:
    words = [w for w in re.split(r"[\s,/-]+", name.strip()) if w and w[0].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def _shape(kind: int, hue: int) -> str:
    fill = f'fill="hsl({hue},70%,72%)" opacity="0.5"'
    if kind == 0:
        return f'<circle cx="300" cy="115" r="88" {fill}/>'
    if kind == 1:
        return f'<rect x="232" y="42" width="140" height="140" rx="26" transform="rotate(18 302 112)" {fill}/>'
    return f'<polygon points="300,28 392,188 208,188" {fill}/>'


def product_image(sku: str, name: str) -> str:
    """A deterministic SVG: colours and shape from the SKU, the product's initials and name."""
    digest = hashlib.sha256(sku.encode()).digest()
    hue = digest[0] * 360 // 256
    gradient = f"g{digest[2:6].hex()}"  # unique per product, so several images can share a page
    label = html.escape(name if len(name) <= 30 else name[:29] + "…")
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300" width="400" height="300" '
        f'role="img" aria-label="{html.escape(name)}">'
        f'<defs><linearGradient id="{gradient}" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="hsl({hue},62%,56%)"/><stop offset="1" stop-color="hsl({hue},68%,34%)"/>'
        f'</linearGradient></defs><rect width="400" height="300" fill="url(#{gradient})"/>'
        f"{_shape(digest[1] % 3, (hue + 40) % 360)}"
        '<text x="36" y="186" font-family="Georgia,serif" font-size="96" font-weight="bold" fill="#fff" '
        f'opacity="0.95">{html.escape(initials(name))}</text>'
        '<text x="36" y="254" font-family="system-ui,sans-serif" font-size="21" fill="#fff" '
        f'opacity="0.9">{label}</text></svg>'
    )
