"""The Product Catalog Service declaration."""

from __future__ import annotations

from pathlib import Path

from eventshop.platform.db import Database
from eventshop.platform.runtime import Service
from eventshop.platform.settings import Settings
from eventshop.services.catalog.api import router
from eventshop.services.catalog.clients import InventoryClient
from eventshop.services.catalog.tables import Base
from eventshop.services.catalog.usecases import CatalogContext


async def make_context(db: Database, settings: Settings) -> CatalogContext:
    return CatalogContext(db=db, settings=settings, inventory=InventoryClient(settings))


async def close_context(ctx: CatalogContext) -> None:
    await ctx.inventory.aclose()


def declare() -> Service[CatalogContext]:
    return Service(
        name="catalog",
        metadata=Base.metadata,
        migrations=Path(__file__).parent / "migrations",
        router=router,
        make_context=make_context,
        handlers={},
        close_context=close_context,
    )
