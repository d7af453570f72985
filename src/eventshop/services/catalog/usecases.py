"""Catalog use cases: add and change products, find, filter and page them, each with its availability."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources

from sqlalchemy import ColumnElement, Table, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError

from eventshop.platform.db import Database, UnitOfWork, utcnow
from eventshop.platform.errors import Conflict, DependencyUnavailable, Invalid, NotFound
from eventshop.platform.settings import Settings
from eventshop.platform.statements import Prepared
from eventshop.services.catalog import domain
from eventshop.services.catalog.clients import InventoryClient
from eventshop.services.catalog.domain import AvailabilityView, Category, ProductFilter
from eventshop.services.catalog.tables import Base, Product

PRODUCTS: Table = Base.metadata.tables["products"]


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
    category: str | None = None


@dataclass(frozen=True)
class ProductRecord:
    """One row of products, as the look-up by id reads it (a prepared statement: Cart asks at every add and
    checkout); a row read makes one by its column names."""

    id: str
    sku: str
    name: str
    description: str
    price: int
    currency: str
    category: str | None
    created_at: datetime
    updated_at: datetime


_PRODUCT = Prepared(select(PRODUCTS).where(PRODUCTS.c.id == bindparam("product")))


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
    product.category = data.category
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


async def get_product(ctx: CatalogContext, product_id: str) -> ProductRecord:
    async with ctx.db.reading() as uow:
        row = await uow.one(_PRODUCT, product=product_id)
    if row is None:
        raise NotFound(f"no product {product_id}", code="product_not_found")
    return ProductRecord(**row._asdict())


async def get_product_with_availability(
    ctx: CatalogContext, product_id: str
) -> tuple[ProductRecord, AvailabilityView]:
    product = await get_product(ctx, product_id)
    levels = await ctx.inventory.available([product.id])
    return product, domain.availability(levels[product.id])


def product_filter(query: str | None, category: str | None, in_stock: bool) -> ProductFilter:
    try:
        return ProductFilter(query, category, in_stock)
    except domain.UnknownCategory as exc:
        raise Invalid(str(exc), code=exc.code) from None


def _matching(wanted: ProductFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if wanted.query:
        pattern = domain.like_pattern(wanted.query)
        conditions.append(or_(*(func.lower(column).like(pattern, escape=domain.LIKE_ESCAPE)
                                for column in (Product.name, Product.description, Product.sku))))
    if wanted.category:
        conditions.append(Product.category == wanted.category)
    return conditions


async def search_products(
    ctx: CatalogContext, wanted: ProductFilter, page: int, page_size: int
) -> tuple[list[tuple[Product, AvailabilityView]], int]:
    """One page of the products `wanted` selects, by name, each with its availability.

    Without the in-stock filter the database pages and Inventory is asked for the page's products only; with it,
    Inventory is asked for every match (cached for a few seconds) and the page is cut from those in stock.
    """
    if wanted.in_stock:
        return await _search_in_stock(ctx, wanted, page, page_size)
    conditions = _matching(wanted)
    rows = (select(Product).where(*conditions).order_by(Product.name, Product.id)
            .offset((page - 1) * page_size).limit(page_size))
    async with ctx.db.reading() as uow:
        total = int(await uow.session.scalar(select(func.count()).select_from(Product).where(*conditions)) or 0)
        products = list((await uow.session.scalars(rows)).all())
    levels = await ctx.inventory.available([p.id for p in products]) if products else {}
    return [(p, domain.availability(levels.get(p.id))) for p in products], total


async def _search_in_stock(
    ctx: CatalogContext, wanted: ProductFilter, page: int, page_size: int
) -> tuple[list[tuple[Product, AvailabilityView]], int]:
    async with ctx.db.reading() as uow:
        ids = list((await uow.session.scalars(
            select(Product.id).where(*_matching(wanted)).order_by(Product.name, Product.id))).all())
    levels = await ctx.inventory.available(ids) if ids else {}
    try:
        in_stock = domain.in_stock_only(ids, levels)
    except domain.AvailabilityUnknown as exc:
        raise DependencyUnavailable(str(exc), code=exc.code) from None
    shown = domain.page_of(in_stock, page, page_size)
    async with ctx.db.reading() as uow:
        products = {p.id: p for p in (await uow.session.scalars(select(Product).where(Product.id.in_(shown)))).all()}
    return [(products[pid], domain.availability(levels[pid])) for pid in shown if pid in products], len(in_stock)


async def count_by_category(ctx: CatalogContext) -> list[tuple[Category, int]]:
    """Every category, in the catalog's order, with how many products it has."""
    async with ctx.db.reading() as uow:
        rows = await uow.session.execute(select(Product.category, func.count()).group_by(Product.category))
        counts = {category: int(n) for category, n in rows.all()}
    return [(c, counts.get(c.id, 0)) for c in domain.CATEGORIES]


@cache
def _drawing(category_id: str) -> str:
    return resources.files("eventshop.services.catalog").joinpath("drawings", f"{category_id}.svg").read_text()


def product_image(product: Product | ProductRecord) -> str:
    """The category's drawing for a product that has one, the generated initials image otherwise."""
    if product.category in domain.CATEGORY_IDS:
        return domain.illustrated_image(product.sku, product.name, _drawing(product.category))
    return domain.product_image(product.sku, product.name)
