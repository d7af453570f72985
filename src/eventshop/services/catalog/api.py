"""Product Catalog REST API: search and filters, categories, detail with availability, images, operator edits."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from eventshop.contracts.values import MAX_PAGE, MAX_UNIT_PRICE, WholeNumber
from eventshop.platform.auth import operator_only
from eventshop.platform.http import url_path
from eventshop.platform.runtime import context_of
from eventshop.services.catalog import domain, usecases
from eventshop.services.catalog.domain import AvailabilityView
from eventshop.services.catalog.tables import Product
from eventshop.services.catalog.usecases import CatalogContext, ProductData, ProductRecord

router = APIRouter(tags=["catalog"])
Ctx = Annotated[CatalogContext, Depends(context_of)]
# The OpenAPI document lists the categories (domain.CATEGORIES; a unit test keeps the two the same).
CategoryId = Literal["coffee", "tea", "brewing", "tableware", "treats"]


class ProductBody(BaseModel):
    sku: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    price: WholeNumber = Field(ge=0, le=MAX_UNIT_PRICE, description="minor units, e.g. cents")
    currency: str = Field(min_length=3, max_length=3, pattern="^[A-Za-z]{3}$")
    category: CategoryId | None = Field(default=None, description="one of GET /categories; none: in no category")

    def value(self) -> ProductData:
        return ProductData(self.sku, self.name.strip(), self.description.strip(), self.price, self.currency,
                           self.category)


class AvailabilityBody(BaseModel):
    status: str = Field(description="in_stock | low_stock | out_of_stock | unknown")
    available: int | None

    @classmethod
    def of(cls, view: AvailabilityView) -> AvailabilityBody:
        return cls(status=view.status, available=view.available)


class ProductView(BaseModel):
    id: str
    sku: str
    name: str
    description: str
    price: int = Field(description="minor units")
    currency: str
    category: str | None = Field(description="the category's id, or null for a product in none")
    category_name: str | None
    image_url: str
    image_alt: str = Field(description="what the image shows, for its alt text")
    availability: AvailabilityBody | None = None
    updated_at: datetime

    @classmethod
    def of(cls, p: Product | ProductRecord, availability: AvailabilityView | None = None) -> ProductView:
        category = domain.category(p.category) if p.category in domain.CATEGORY_IDS else None
        return cls(
            id=p.id,
            sku=p.sku,
            name=p.name,
            description=p.description,
            price=p.price,
            currency=p.currency,
            category=category.id if category else None,
            category_name=category.name if category else None,
            image_url=url_path("products", p.id, "image.svg"),
            image_alt=f"Drawing of {category.picture}" if category else f"The initials of {p.name}",
            availability=AvailabilityBody.of(availability) if availability else None,
            updated_at=p.updated_at,
        )


class ProductPage(BaseModel):
    items: list[ProductView]
    page: int
    page_size: int
    total: int


class CategoryView(BaseModel):
    id: str
    name: str
    products: int = Field(description="how many products are in it")


@router.get("/categories", response_model=list[CategoryView])
async def list_categories(ctx: Ctx) -> list[CategoryView]:
    """Every category, in the shop's order, with its number of products (also those out of stock)."""
    return [CategoryView(id=c.id, name=c.name, products=n) for c, n in await usecases.count_by_category(ctx)]


@router.get("/products", response_model=ProductPage)
async def list_products(
    ctx: Ctx,
    q: Annotated[str | None, Query(max_length=100)] = None,
    category: Annotated[CategoryId | None, Query(description="only this category's products")] = None,
    in_stock: Annotated[bool, Query(description="only products with at least one unit available")] = False,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ProductPage:
    """Search by name, description or SKU (case-insensitive), in a category, in stock; each with its availability."""
    wanted = usecases.product_filter(q, category, in_stock)
    found, total = await usecases.search_products(ctx, wanted, page, page_size)
    return ProductPage(items=[ProductView.of(p, a) for p, a in found], page=page, page_size=page_size, total=total)


@router.get("/products/{product_id}", response_model=ProductView)
async def get_product(
    ctx: Ctx,
    product_id: str,
    availability: Annotated[bool, Query(description="ask Inventory for the stock level (Check Inventory)")] = True,
) -> ProductView:
    """Product data and price (Shopping Cart's "Product Data"), availability from Inventory unless not asked."""
    if not availability:
        return ProductView.of(await usecases.get_product(ctx, product_id))
    product, stock = await usecases.get_product_with_availability(ctx, product_id)
    return ProductView.of(product, stock)


@router.get("/products/{product_id}/image.svg", response_class=Response)
async def product_image(ctx: Ctx, product_id: str) -> Response:
    product = await usecases.get_product(ctx, product_id)
    return Response(
        usecases.product_image(product),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.post("/products", response_model=ProductView, status_code=201, dependencies=[Depends(operator_only())])
async def add_product(ctx: Ctx, body: ProductBody) -> ProductView:
    return ProductView.of(await usecases.add_product(ctx, body.value()))


@router.put("/products/{product_id}", response_model=ProductView, dependencies=[Depends(operator_only())])
async def change_product(ctx: Ctx, product_id: str, body: ProductBody) -> ProductView:
    return ProductView.of(await usecases.change_product(ctx, product_id, body.value()))
