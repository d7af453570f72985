"""Catalog use cases: add and change products, find and page them, each with its availability."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from eventshop.platform.db import Database, UnitOfWork, utcnow
from eventshop.platform.errors import Conflict, NotFound
from eventshop.platform.settings import Settings
from eventshop.services.catalog import domain
from eventshop.services.catalog.clients import InventoryClient
from eventshop.services.catalog.domain import AvailabilityView
from eventshop.services.catalog.tables import Product


@dataclass
class CatalogContext:
    db: Database
    settings: Settings
    inventory: InventoryClient


@dataclass(frozen=True)
class ProductData:
    sku: str
    name: str
    description: str
    price: int
    currency: str


def _sku_taken(sku: str) -> Conflict:
    return Conflict(f"a product with SKU {sku} exists", code="sku_taken")


async def _check_sku_free(uow: UnitOfWork, sku: str) -> None:
    if await uow.session.scalar(select(Product.id).where(Product.sku == sku)):
        raise _sku_taken(sku)


async def _free_id(uow: UnitOfWork, sku: str) -> str:
    product_id = domain.product_id_for(sku)
    if await uow.session.get(Product, product_id) is None:
        return product_id
    return domain.unique_product_id_for(sku)


def _apply(product: Product, data: ProductData) -> None:
    product.sku, product.name, product.description = data.sku, data.name, data.description
    product.price, product.currency = data.price, data.currency.upper()
    product.updated_at = utcnow()


async def _commit(uow: UnitOfWork, sku: str) -> None:
    try:
        await uow.commit()
    except IntegrityError:  # a concurrent request took the SKU between our check and commit
        raise _sku_taken(sku) from None


async def add_product(ctx: CatalogContext, data: ProductData) -> Product:
    async with ctx.db.transaction() as uow:
        await _check_sku_free(uow, data.sku)
        product = Product(id=await _free_id(uow, data.sku), created_at=utcnow())
        _apply(product, data)
        uow.session.add(product)
        await _commit(uow, data.sku)
        return product


async def change_product(ctx: CatalogContext, product_id: str, data: ProductData) -> Product:
    """Replace a product's data; its id stays, even when the SKU changes."""
    async with ctx.db.transaction() as uow:
        product = await uow.session.get(Product, product_id)
        if product is None:
            raise NotFound(f"no product {product_id}", code="product_not_found")
        if data.sku != product.sku:
            await _check_sku_free(uow, data.sku)
        _apply(product, data)
        await _commit(uow, data.sku)
        return product


async def get_product(ctx: CatalogContext, product_id: str) -> Product:
    async with ctx.db.reading() as uow:
        product = await uow.session.get(Product, product_id)
    if product is None:
        raise NotFound(f"no product {product_id}", code="product_not_found")
    return product


async def get_product_with_availability(ctx: CatalogContext, product_id: str) -> tuple[Product, AvailabilityView]:
    product = await get_product(ctx, product_id)
    levels = await ctx.inventory.available([product.id])
    return product, domain.availability(levels[product.id])


async def search_products(
    ctx: CatalogContext, query: str | None, page: int, page_size: int
) -> tuple[list[tuple[Product, AvailabilityView]], int]:
    """One page of products matching `query` in name, description or SKU, with one stock call for the page."""
    count = select(func.count()).select_from(Product)
    rows = select(Product).order_by(Product.name, Product.id).offset((page - 1) * page_size).limit(page_size)
    if query and query.strip():
        pattern = domain.like_pattern(query)
        matches = or_(*(func.lower(column).like(pattern, escape=domain.LIKE_ESCAPE)
                        for column in (Product.name, Product.description, Product.sku)))
        count, rows = count.where(matches), rows.where(matches)
    async with ctx.db.reading() as uow:
        total = int(await uow.session.scalar(count) or 0)
        products = list((await uow.session.scalars(rows)).all())
    levels = await ctx.inventory.available([p.id for p in products]) if products else {}
    return [(p, domain.availability(levels.get(p.id))) for p in products], total
