"""Catalog pages: the home page with search, category and stock filters and paging, one product, product images."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from eventshop.frontend.clients import Unavailable
from eventshop.frontend.pages import backend, error_page, render
from eventshop.platform.errors import DomainError, NotFound
from eventshop.platform.http import url_path

router = APIRouter()
PAGE_SIZE = 12
ProductId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


@dataclass(frozen=True)
class Shelf:
    """What a catalog page shows; its URL carries all of it, so a filtered page can be linked and bookmarked."""

    q: str = ""
    category: str = ""
    in_stock: bool = False
    page: int = 1

    def url(self, **changes: Any) -> str:
        """This page's URL with `changes`; a change of filter goes back to page 1 unless a page is given."""
        changed = replace(self, **{"page": 1, **changes})
        query = {"q": changed.q, "category": changed.category, "in_stock": "1" if changed.in_stock else "",
                 "page": changed.page if changed.page > 1 else ""}
        encoded = urlencode({key: value for key, value in query.items() if value})
        return f"/?{encoded}" if encoded else "/"

    def params(self) -> dict[str, str | int]:
        found: dict[str, str | int] = {"page": self.page, "page_size": PAGE_SIZE}
        for key, value in (("q", self.q), ("category", self.category), ("in_stock", "true" if self.in_stock else "")):
            if value:
                found[key] = value
        return found


@router.get("/", response_class=HTMLResponse)
async def catalog(request: Request, q: Annotated[str, Query(max_length=100)] = "",
                  category: Annotated[str, Query(max_length=32)] = "", in_stock: bool = False,
                  page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> HTMLResponse:
    shelf = Shelf(q.strip(), category.strip(), in_stock, page)
    unavailable: list[str] = []
    shop = backend(request)
    try:
        found, categories = await asyncio.gather(
            shop.optional(shop.get("catalog", "/products", shelf.params()), unavailable), _categories(request))
    except DomainError:  # the only part of the URL the catalog can refuse: a category the shop does not have
        return error_page(request, 404, "Category not found", "The shop has no such category. "
                                                               "Every product is on the catalog's first page.")
    pages = max(1, -(-int(found["total"]) // PAGE_SIZE)) if found else 1
    return render(request, "catalog.html", products=found["items"] if found else [], shelf=shelf, q=shelf.q,
                  page=page, pages=pages, total=found["total"] if found else None, unavailable=unavailable,
                  categories=[c for c in categories if c["products"] or c["id"] == shelf.category],
                  category_name=next((c["name"] for c in categories if c["id"] == shelf.category), ""))


async def _categories(request: Request) -> list[dict[str, Any]]:
    """The category links; without them (Catalog busy) the page still lists products, only unfiltered by link."""
    try:
        found: list[dict[str, Any]] = await backend(request).get("catalog", "/categories")
    except (Unavailable, DomainError):
        return []
    return found


@router.get("/products/{product_id}", response_class=HTMLResponse)
async def product(request: Request, product_id: ProductId) -> HTMLResponse:
    try:
        found = await backend(request).get("catalog", url_path("products", product_id))
    except Unavailable as exc:
        return render(request, "product.html", product=None, unavailable=[str(exc)])
    except NotFound:
        return error_page(request, 404, "Product not found", "We could not find that product. It may have been "
                                                              "removed from the catalog.")
    return render(request, "product.html", product=found)


@router.get("/images/{product_id}.svg")
async def image(request: Request, product_id: ProductId) -> Response:
    """The catalog's generated image, served from here so the browser only talks to the frontend."""
    svg = await backend(request).image(product_id)
    if svg is None:
        return Response(status_code=404)
    return Response(svg, media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff",
                             "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})
