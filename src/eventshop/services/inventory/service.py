"""The Inventory Service declaration: what the platform runtime builds the process from."""

from __future__ import annotations

from pathlib import Path

from eventshop.platform.db import Database
from eventshop.platform.runtime import Service
from eventshop.platform.settings import Settings
from eventshop.services.inventory import handlers
from eventshop.services.inventory.api import router
from eventshop.services.inventory.tables import Base
from eventshop.services.inventory.usecases import InventoryContext


async def make_context(db: Database, settings: Settings) -> InventoryContext:
    return InventoryContext(db=db, settings=settings)


def declare() -> Service[InventoryContext]:
    return Service(
        name="inventory",
        metadata=Base.metadata,
        migrations=Path(__file__).parent / "migrations",
        router=router,
        make_context=make_context,
        handlers={
            "OrderProcessedEvent": handlers.on_order_processed,
            "OrderCancelledEvent": handlers.on_order_cancelled,
            "ShippingProcessedEvent": handlers.on_shipping_processed,  # a declared addition
        },
    )
