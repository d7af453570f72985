"""The Order Service declaration."""

from __future__ import annotations

from pathlib import Path

from eventshop.platform.db import Database
from eventshop.platform.runtime import Service
from eventshop.platform.settings import Settings
from eventshop.services.order.api import router
from eventshop.services.order.domain import SAGA_EVENTS
from eventshop.services.order.handlers import on_saga_event
from eventshop.services.order.tables import Base
from eventshop.services.order.usecases import OrderContext, StuckOrderSettings, count_orders_not_final


def declare() -> Service[OrderContext]:
    stuck_after_seconds = StuckOrderSettings().stuck_after_seconds  # read here: a bad value stops the process early

    async def make_context(db: Database, settings: Settings) -> OrderContext:
        return OrderContext(db=db, settings=settings, stuck_after_seconds=stuck_after_seconds)

    return Service(
        name="order",
        metadata=Base.metadata,
        migrations=Path(__file__).parent / "migrations",
        router=router,
        make_context=make_context,
        handlers=dict.fromkeys(SAGA_EVENTS, on_saga_event),
        gauges=[count_orders_not_final],
    )
