"""The Shopping Cart Service declaration."""

from __future__ import annotations

from pathlib import Path

from eventshop.platform.db import Database
from eventshop.platform.runtime import Service
from eventshop.platform.settings import Settings
from eventshop.services.cart.api import router
from eventshop.services.cart.clients import AccountClient, CatalogClient, OrderClient
from eventshop.services.cart.tables import Base
from eventshop.services.cart.usecases import CartContext


async def make_context(db: Database, settings: Settings) -> CartContext:
    return CartContext(
        db=db, settings=settings, catalog=CatalogClient(settings), orders=OrderClient(settings),
        accounts=AccountClient(settings),
    )


async def close_context(ctx: CartContext) -> None:
    await ctx.catalog.aclose()
    await ctx.orders.aclose()
    await ctx.accounts.aclose()


def declare() -> Service[CartContext]:
    return Service(
        name="cart",
        metadata=Base.metadata,
        migrations=Path(__file__).parent / "migrations",
        router=router,
        make_context=make_context,
        handlers={},
        close_context=close_context,
    )
