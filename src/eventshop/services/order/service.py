"""The Order Service declaration."""

from __future__ import annotations

from pathlib import Path

from eventshop.platform.db import Database
from eventshop.platform.runtime import Service
from eventshop.platform.settings import Settings
from eventshop.services.order.api import router
from eventshop.services.order.clients import SagaClients
from eventshop.services.order.domain import SAGA_EVENTS
from eventshop.services.order.handlers import on_saga_event
from eventshop.services.order.orchestration import run_sagas
from eventshop.services.order.tables import Base
from eventshop.services.order.usecases import OrderContext, StuckOrderSettings, count_orders_not_final


def declare() -> Service[OrderContext]:
    stuck_after_seconds = StuckOrderSettings().stuck_after_seconds  # read here: a bad value stops the process early

    async def make_context(db: Database, settings: Settings) -> OrderContext:
        sagas = SagaClients(settings) if settings.saga == "orchestration" else None
        return OrderContext(db=db, settings=settings, stuck_after_seconds=stuck_after_seconds, sagas=sagas)

    async def close_context(ctx: OrderContext) -> None:
        if ctx.sagas is not None:
            await ctx.sagas.aclose()

    return Service(
        name="order",
        metadata=Base.metadata,
        migrations=Path(__file__).parent / "migrations",
        router=router,
        make_context=make_context,
        close_context=close_context,
        handlers=dict.fromkeys(SAGA_EVENTS, on_saga_event),
        background=[run_sagas],  # orchestration only: it returns at once in the choreography
        gauges=[count_orders_not_final],
    )
