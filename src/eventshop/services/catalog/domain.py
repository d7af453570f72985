"""Catalog rules: categories, availability labels and the filters over them, product ids, search patterns, images."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

LOW_STOCK = 5
LIKE_ESCAPE = "\\"
T = TypeVar("T")


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    picture: str  # what its drawing shows, the image's alt text


CATEGORIES: tuple[Category, ...] = (
    Category("coffee", "Coffee", "a bag of coffee beans"),
    Category("tea", "Tea", "a cup of tea on a saucer"),
    Category("brewing", "Brewing gear", "a pour-over dripper on a glass carafe"),
    Category("tableware", "Cups and serving", "a glazed mug of coffee"),
    Category("treats", "Sweet treats", "a honey jar, a biscuit and a bar of chocolate"),
)
CATEGORY_IDS = tuple(c.id for c in CATEGORIES)
_BY_ID = {c.id: c for c in CATEGORIES}


class UnknownCategory(ValueError):
    code = "unknown_category"

    def __init__(self, category_id: str) -> None:
        super().__init__(f"there is no category {category_id!r}; the categories are {', '.join(CATEGORY_IDS)}")


class AvailabilityUnknown(Exception):
    """The in-stock filter needs every candidate's stock level and Inventory did not give them all."""

    code = "availability_unknown"


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


def category(category_id: str) -> Category:
    found = _BY_ID.get(category_id)
    if found is None:
        raise UnknownCategory(category_id)
    return found


@dataclass(frozen=True)
class ProductFilter:
    """Which products a catalog page lists: a text search, one category, only what can be bought now."""

    query: str | None = None
    category: str | None = None
    in_stock: bool = False

    def __post_init__(self) -> None:
        if self.category is not None:
            category(self.category)  # an unknown category is refused, not an empty page
        text = (self.query or "").strip()
        object.__setattr__(self, "query", text or None)


def can_be_bought(available: int | None) -> bool:
    """In stock for the filter: at least one unit (low stock counts); never when the level is unknown."""
    return available is not None and available > 0


def in_stock_only(product_ids: Sequence[str], levels: Mapping[str, int | None]) -> list[str]:
    """The ids, in their order, that have a unit to sell; raises when any level is missing."""
    if any(levels.get(pid) is None for pid in product_ids):
        raise AvailabilityUnknown("stock levels are unknown just now, so the in-stock filter cannot be applied")
    return [pid for pid in product_ids if can_be_bought(levels[pid])]


def page_of(items: Sequence[T], page: int, page_size: int) -> list[T]:
    """Page `page` (from 1) of `items`, `page_size` to a page; empty past the end."""
    start = (page - 1) * page_size
    return list(items[start:start + page_size])


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


def drawing_body(drawing: str) -> str:
    """A drawing's shapes without its own <svg> element and <title>, to place inside a product image."""
    inner = drawing[drawing.index(">", drawing.index("<svg")) + 1:drawing.rindex("</svg>")]
    return re.sub(r"<title>.*?</title>", "", inner, flags=re.DOTALL).strip()


def illustrated_image(sku: str, name: str, drawing: str) -> str:
    """The category's drawing on a backdrop tinted by the SKU, so the products of one category still differ."""
    hue = hashlib.sha256(sku.encode()).digest()[0] * 360 // 256
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300" width="400" height="300" '
        f'role="img" aria-label="{html.escape(name)}">'
        f'<rect width="400" height="300" fill="hsl({hue},46%,91%)"/>'
        f'<circle cx="200" cy="146" r="122" fill="hsl({hue},50%,83%)"/>'
        f'<ellipse cx="200" cy="250" rx="158" ry="13" fill="hsl({hue},28%,62%)" opacity="0.4"/>'
        f"{drawing_body(drawing)}</svg>"
    )
