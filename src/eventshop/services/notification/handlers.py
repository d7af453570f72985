"""Notification's event handlers: every consumed event becomes one notification record."""

from __future__ import annotations

from typing import Any

from eventshop.platform.db import Incoming
from eventshop.services.notification.usecases import NotificationContext, record_event


async def on_event(ctx: NotificationContext, incoming: Incoming[Any]) -> None:
    await record_event(ctx, incoming)
