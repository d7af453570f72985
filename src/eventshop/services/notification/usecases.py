"""Notification use cases: record one notification per event, send its email, retry what failed."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from eventshop.contracts.envelope import Event
from eventshop.platform.db import Database, Incoming, utcnow
from eventshop.platform.settings import Settings
from eventshop.services.notification import domain
from eventshop.services.notification.clients import AccountClient, Contact
from eventshop.services.notification.domain import Draft
from eventshop.services.notification.email_sender import EmailNotSent, EmailSender
from eventshop.services.notification.tables import Notification

log = logging.getLogger(__name__)
# A fresh notification is sent by its handler right after commit; the retry job leaves it alone
# until this grace period has passed, so the two never send the same email at once.
HANDLER_GRACE = timedelta(seconds=30)
# While one send is under way its row is not due: longer than the SMTP client's own timeouts.
SEND_LEASE = timedelta(minutes=2)


@dataclass
class NotificationContext:
    db: Database
    settings: Settings
    accounts: AccountClient
    sender: EmailSender


def customer_of(event: Event) -> str:
    return str(getattr(event, "customer_id", None) or getattr(event, "account_id", ""))


async def record_event(ctx: NotificationContext, incoming: Incoming[Any]) -> Notification:
    """One record per consumed event; an email when the draft says so."""
    event: Event = incoming.event
    draft = domain.draft_for(event)
    contact = await ctx.accounts.contact(customer_of(event)) if draft.sends_email else None
    about = Subject(event.type_name(), customer_of(event), getattr(event, "order_id", None))
    notification = await _record(ctx, about, draft, contact, incoming)
    if notification.status == "pending":
        notification = await send(ctx, notification.id)
    return notification


@dataclass(frozen=True)
class Subject:
    """What a notification is about."""

    kind: str
    customer_id: str
    order_id: str | None


async def _record(
    ctx: NotificationContext, about: Subject, draft: Draft, contact: Contact | None, incoming: Incoming[Any] | None
) -> Notification:
    now = utcnow()
    row = Notification(
        event_id=incoming.envelope.id if incoming else None, event_type=about.kind,
        customer_id=about.customer_id, order_id=about.order_id, why=draft.why,
        channel="email" if contact else "none", status="pending" if contact else "skipped", attempts=0,
        created_at=now, next_attempt_at=now + HANDLER_GRACE if contact else None,
    )
    if contact is not None:
        row.recipient, row.subject = contact.email, draft.subject
        row.text_body, row.html_body = domain.render(draft, contact.name)
    async with ctx.db.transaction(incoming) as uow:
        uow.session.add(row)
        await uow.commit()
    return row


async def send(ctx: NotificationContext, notification_id: int, *, due_only: bool = False) -> Notification:
    """Try the SMTP send once; a failure keeps it pending with the next try scheduled.

    The row is claimed first (locked, its next try moved past the send), so the retry job of
    this or another replica does not send the same email while this send is under way.
    """
    async with ctx.db.transaction() as uow:
        row = await uow.session.get(Notification, notification_id, with_for_update=True)
        assert row is not None
        if row.status != "pending" or (due_only and row.next_attempt_at and row.next_attempt_at > utcnow()):
            return row
        row.next_attempt_at = utcnow() + SEND_LEASE
        await uow.commit()
    error: str | None = None
    try:
        await ctx.sender.send(row.recipient or "", row.subject or "", row.text_body or "", row.html_body or "")
    except EmailNotSent as exc:
        error = str(exc)[:500]
        log.warning("email %s to customer %s not sent (%s); will retry", row.id, row.customer_id, error)
    async with ctx.db.transaction() as uow:
        row = await uow.session.get(Notification, notification_id)
        assert row is not None
        row.attempts += 1
        if error is None:
            row.status, row.sent_at, row.last_error, row.next_attempt_at = "sent", utcnow(), None, None
        else:
            row.last_error = error
            row.next_attempt_at = utcnow() + timedelta(seconds=domain.retry_delay(row.attempts))
        await uow.commit()
        return row


async def send_due(ctx: NotificationContext, limit: int = 50) -> int:
    """Send every pending email whose next try is due; returns how many were tried."""
    async with ctx.db.transaction() as uow:
        due = (await uow.session.scalars(
            select(Notification.id).where(Notification.status == "pending", Notification.next_attempt_at <= utcnow())
            .order_by(Notification.next_attempt_at).limit(limit)
        )).all()
    for notification_id in due:
        await send(ctx, notification_id, due_only=True)
    return len(due)


async def retry_pending_emails(ctx: NotificationContext) -> None:
    """Background job: a failed SMTP send is retried with backoff, never dropped."""
    while True:
        try:
            await send_due(ctx)
        except Exception as exc:  # the database may be busy for a moment; the job must keep going
            log.warning("retrying pending emails failed: %s", exc)
        await asyncio.sleep(1.0)


async def list_notifications(
    ctx: NotificationContext, customer_id: str, page: int, page_size: int
) -> tuple[list[Notification], int]:
    async with ctx.db.transaction() as uow:
        total = await uow.session.scalar(select(func.count()).where(Notification.customer_id == customer_id))
        rows = await uow.session.scalars(
            select(Notification).where(Notification.customer_id == customer_id)
            .order_by(Notification.id.desc()).offset((page - 1) * page_size).limit(page_size)
        )
        return list(rows.all()), int(total or 0)


async def notify_customer(ctx: NotificationContext, customer_id: str, order_id: str, subject: str,
                          message: str) -> Notification:
    """Orchestrated style's "Notify Customer": the same record-then-send path as the events."""
    contact = await ctx.accounts.contact(customer_id)
    draft = Draft("notified by Order", subject, (message,))
    notification = await _record(ctx, Subject("NotifyCustomer", customer_id, order_id), draft, contact, None)
    return await send(ctx, notification.id)
