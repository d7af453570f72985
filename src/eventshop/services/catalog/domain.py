"""Catalog rules: availability labels, slugs, and the generated product image."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from enum import StrEnum

LOW_STOCK = 5


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
    if available is None:
        return AvailabilityView(Availability.UNKNOWN, None)
    if available <= 0:
        return AvailabilityView(Availability.OUT_OF_STOCK, 0)
    if available <= LOW_STOCK:
        return AvailabilityView(Availability.LOW_STOCK, available)
    return AvailabilityView(Availability.IN_STOCK, available)


def product_id_for(sku: str) -> str:
    """A short, stable, URL-safe id derived from the SKU."""
    slug = re.sub(r"[^a-z0-9]+", "-", sku.lower()).strip("-")
    return slug or hashlib.sha1(sku.encode()).hexdigest()[:12]


def initials(name: str) -> str:
    words = [w for w in re.split(r"\s+", name.strip()) if w]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def product_image(sku: str, name: str) -> str:
    """A deterministic SVG: colours from the SKU, the product's initials, a simple shape."""
    digest = hashlib.sha256(sku.encode()).digest()
    hue = digest[0] * 360 // 256
    accent = (hue + 40) % 360
    shape = digest[1] % 3
    shapes = [
        f'<circle cx="300" cy="120" r="90" fill="hsl({accent},70%,70%)" opacity="0.55"/>',
        f'<rect x="230" y="40" width="150" height="150" rx="28" fill="hsl({accent},70%,70%)" opacity="0.5" '
        'transform="rotate(18 305 115)"/>',
        f'<polygon points="300,30 390,190 210,190" fill="hsl({accent},70%,70%)" opacity="0.5"/>',
    ]
    label = html.escape(name[:28])
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300" role="img" '
        f'aria-label="{label}"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="hsl({hue},65%,55%)"/><stop offset="1" stop-color="hsl({hue},70%,35%)"/>'
        f'</linearGradient></defs><rect width="400" height="300" fill="url(#g)"/>{shapes[shape]}'
        f'<text x="40" y="190" font-family="Georgia,serif" font-size="96" fill="#fff" opacity="0.95">'
        f"{html.escape(initials(name))}</text>"
        f'<text x="40" y="250" font-family="system-ui,sans-serif" font-size="22" fill="#fff">{label}</text></svg>'
    )
