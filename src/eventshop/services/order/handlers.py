"""Order's event handlers: every saga event goes through the one state machine."""

from __future__ import annotations

from typing import Any

from eventshop.platform.db import Incoming
from eventshop.services.order.usecases import OrderContext, advance_order


async def on_saga_event(ctx: OrderContext, incoming: Incoming[Any]) -> None:
    await advance_order(ctx, incoming)
