"""Catalog pages: the home page with search and paging, one product, and product images."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from eventshop.frontend.clients import Unavailable
from eventshop.frontend.pages import backend, error_page, render
from eventshop.platform.errors import NotFound
from eventshop.platform.http import url_path

router = APIRouter()
PAGE_SIZE = 12
ProductId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


@router.get("/", response_class=HTMLResponse)
async def catalog(request: Request, q: Annotated[str, Query(max_length=100)] = "",
                  page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> HTMLResponse:
    q = q.strip()
    unavailable: list[str] = []
    params: dict[str, str | int] = {"page": page, "page_size": PAGE_SIZE, **({"q": q} if q else {})}
    found = await backend(request).optional(backend(request).get("catalog", "/products", params), unavailable)
    pages = max(1, -(-int(found["total"]) // PAGE_SIZE)) if found else 1
    return render(request, "catalog.html", products=found["items"] if found else [], q=q, page=page, pages=pages,
                  total=found["total"] if found else None, unavailable=unavailable)


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
