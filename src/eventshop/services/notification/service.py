"""The Notification Service declaration."""

from __future__ import annotations

from pathlib import Path

from eventshop.contracts.registry import consumed_by
from eventshop.platform.db import Database
from eventshop.platform.runtime import Service
from eventshop.platform.settings import Settings
from eventshop.services.notification.api import router
from eventshop.services.notification.clients import AccountClient
from eventshop.services.notification.email_sender import EmailSender, SmtpSettings
from eventshop.services.notification.handlers import on_event
from eventshop.services.notification.tables import Base
from eventshop.services.notification.usecases import NotificationContext, retry_pending_emails


async def close_context(ctx: NotificationContext) -> None:
    await ctx.accounts.client.aclose()
    await ctx.sender.aclose()


def declare() -> Service[NotificationContext]:
    consumed = {event for events in consumed_by("notification").values() for event in events}
    smtp = SmtpSettings()  # read here: a bad value stops the process before it serves

    async def make_context(db: Database, settings: Settings) -> NotificationContext:
        return NotificationContext(db=db, settings=settings, accounts=AccountClient(settings), sender=EmailSender(smtp))

    return Service(
        name="notification",
        metadata=Base.metadata,
        migrations=Path(__file__).parent / "migrations",
        router=router,
        make_context=make_context,
        close_context=close_context,
        handlers=dict.fromkeys(consumed, on_event),
        background=[retry_pending_emails],
    )
