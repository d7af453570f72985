"""Catalog use cases: add and change products, search and page them, with availability."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from eventshop.platform.db import Database, utcnow
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


async def add_product(ctx: CatalogContext, data: ProductData) -> Product:
    async with ctx.db.transaction() as uow:
        if await uow.session.scalar(select(Product.id).where(Product.sku == data.sku)):
            raise Conflict(f"a product with SKU {data.sku} exists", code="sku_taken")
        now = utcnow()
        product = Product(id=domain.product_id_for(data.sku), sku=data.sku, name=data.name,
                          description=data.description, price=data.price, currency=data.currency.upper(),
                          created_at=now, updated_at=now)
        uow.session.add(product)
        await uow.commit()
        return product


async def change_product(ctx: CatalogContext, product_id: str, data: ProductData) -> Product:
    async with ctx.db.transaction() as uow:
        product = await uow.session.get(Product, product_id)
        if product is None:
            raise NotFound(f"no product {product_id}", code="product_not_found")
        product.name, product.description = data.name, data.description
        product.price, product.currency = data.price, data.currency.upper()
        product.updated_at = utcnow()
        await uow.commit()
        return product


async def get_product(ctx: CatalogContext, product_id: str) -> tuple[Product, AvailabilityView]:
    async with ctx.db.transaction() as uow:
        product = await uow.session.get(Product, product_id)
    if product is None:
        raise NotFound(f"no product {product_id}", code="product_not_found")
    levels = await ctx.inventory.available([product.id])
    return product, domain.availability(levels[product.id])


async def search_products(
    ctx: CatalogContext, query: str | None, page: int, page_size: int
) -> tuple[list[tuple[Product, AvailabilityView]], int]:
    condition = None
    if query:
        pattern = f"%{query.lower()}%"
        condition = or_(func.lower(Product.name).like(pattern), func.lower(Product.description).like(pattern),
                        func.lower(Product.sku).like(pattern))
    async with ctx.db.transaction() as uow:
        count = select(func.count()).select_from(Product)
        rows = select(Product).order_by(Product.name, Product.id).offset((page - 1) * page_size).limit(page_size)
        if condition is not None:
            count, rows = count.where(condition), rows.where(condition)
        total = int(await uow.session.scalar(count) or 0)
        products = list((await uow.session.scalars(rows)).all())
    levels = await ctx.inventory.available([p.id for p in products]) if products else {}
    return [(p, domain.availability(levels.get(p.id))) for p in products], total
