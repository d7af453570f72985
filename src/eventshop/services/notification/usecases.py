"""Notification use cases: record one notification per event, send its email, retry what failed."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from eventshop.contracts.envelope import Event
from eventshop.contracts.events.account import AccountEvent
from eventshop.platform.db import Database, Incoming, UnitOfWork, utcnow
from eventshop.platform.settings import Settings
from eventshop.services.notification import domain, email_bodies, queries
from eventshop.services.notification.clients import AccountClient, Contact
from eventshop.services.notification.domain import Draft
from eventshop.services.notification.email_sender import EmailNotSent, EmailSender
from eventshop.services.notification.queries import NotificationRecord
from eventshop.services.notification.tables import Notification

log = logging.getLogger(__name__)
# A recorded email is claimed for its handler's send at once: the retry job leaves it alone until this
# lease has passed (longer than the SMTP client's own timeouts), so the two never send it both.
SEND_LEASE = timedelta(minutes=2)


@dataclass
class NotificationContext:
    db: Database
    settings: Settings
    accounts: AccountClient
    sender: EmailSender


def customer_of(event: Event) -> str:
    return str(getattr(event, "customer_id", None) or getattr(event, "account_id", ""))


@dataclass(frozen=True)
class Subject:
    """What a notification is about."""

    kind: str
    customer_id: str
    order_id: str | None


async def record_event(ctx: NotificationContext, incoming: Incoming[Any]) -> NotificationRecord:
    """One record per consumed event, and its email sent when the draft says so.

    The record, its claim for this send, the contact replica and the inbox mark commit in one
    transaction; the SMTP send follows it, and one more transaction says how the send went.
    """
    event: Event = incoming.event
    about = Subject(event.type_name(), customer_of(event), getattr(event, "order_id", None))
    told = Contact(event.name, event.email, event.status, event.revision) if isinstance(event, AccountEvent) else None
    return await _record_and_send(ctx, about, domain.draft_for(event), told, incoming)


async def _record_and_send(ctx: NotificationContext, about: Subject, draft: Draft, told: Contact | None,
                           incoming: Incoming[Any] | None, key: str | None = None) -> NotificationRecord:
    recorded = await _record(ctx, about, draft, told, incoming, key)
    if recorded is None:  # the replica lacks the account (its event has not come yet): ask Account
        learned = await ctx.accounts.contact(about.customer_id)
        recorded = await _record(ctx, about, draft, learned, incoming, key)
        assert recorded is not None
    notification, claimed = recorded
    if claimed and notification.status == "pending":
        notification = await _deliver(ctx, notification)
    return notification


async def _record(ctx: NotificationContext, about: Subject, draft: Draft, told: Contact | None,
                  incoming: Incoming[Any] | None, key: str | None = None) -> tuple[NotificationRecord, bool] | None:
    """The record, in the delivery's transaction, and whether this call wrote it (and so holds the claim on its
    send); None (nothing written) when the email has no address yet."""
    async with ctx.db.transaction(incoming) as uow:
        if key is not None:  # a repeated "Notify Customer": the first call's record, sent by that call or the retry job
            repeated = await uow.one(queries.NOTIFICATION_OF_EVENT, event_id=key)
            if repeated is not None:
                return NotificationRecord(**repeated._asdict()), False
        contact = await _replicate(uow, about.customer_id, told) if told else None
        if draft.sends_email and contact is None:
            contact = await _replica_contact(uow, about.customer_id)
            if contact is None:
                return None
        values = _notification(about, draft, contact if draft.sends_email else None,
                               incoming.envelope.id if incoming else key, ctx.settings)
        if key is None:
            added = await uow.one(queries.ADD_NOTIFICATION, **values)
        else:
            try:
                async with uow.savepoint():
                    added = await uow.one(queries.ADD_NOTIFICATION, **values)
            except IntegrityError:  # a concurrent call with the same key recorded it first (PostgreSQL): that one
                first = await uow.one(queries.NOTIFICATION_OF_EVENT, event_id=key)
                await uow.commit()  # what the replica learned still counts
                return NotificationRecord(**first._asdict()), False
        await uow.commit()
    return NotificationRecord(id=added.id, **values), True


def _notification(about: Subject, draft: Draft, contact: Contact | None, event_id: str | None,
                  settings: Settings) -> dict[str, Any]:
    """The record's columns: pending and claimed for the send at once when there is an email to send."""
    now = utcnow()
    text, html = email_bodies.render(draft, contact.name, settings.url("frontend")) if contact else (None, None)
    return {
        "event_id": event_id, "event_type": about.kind, "customer_id": about.customer_id, "order_id": about.order_id,
        "channel": "email" if contact else "none", "recipient": contact.email if contact else None,
        "subject": draft.subject if contact else None, "text_body": text, "html_body": html, "why": draft.why,
        "status": "pending" if contact else "skipped", "attempts": 0, "last_error": None,
        "next_attempt_at": now + SEND_LEASE if contact else None, "created_at": now, "sent_at": None,
    }


async def _replicate(uow: UnitOfWork, account_id: str, told: Contact) -> Contact:
    """Keep what an event or Account told unless the replica is newer; the newest contact known."""
    replica = await uow.one(queries.CONTACT_FOR_UPDATE, account_id=account_id)
    if replica is None:
        try:
            async with uow.savepoint():
                await uow.run(queries.ADD_CONTACT, account_id=account_id, email=told.email, name=told.name,
                              status=told.status, revision=told.revision, updated_at=utcnow())
            return told
        except IntegrityError:  # a concurrent transaction added it first (PostgreSQL): weigh against that one
            replica = await uow.one(queries.CONTACT_FOR_UPDATE, account_id=account_id)
    if told.revision > replica.revision:
        await uow.run(queries.UPDATE_CONTACT, contact_id=account_id, email=told.email, name=told.name,
                      status=told.status, revision=told.revision, updated_at=utcnow())
        return told
    log.info("account %s revision %d is stale (have %d)", account_id, told.revision, replica.revision)
    return Contact(replica.name, replica.email, replica.status, replica.revision)


async def _replica_contact(uow: UnitOfWork, account_id: str) -> Contact | None:
    replica = await uow.one(queries.CONTACT, account_id=account_id)
    return Contact(replica.name, replica.email, replica.status, replica.revision) if replica else None


async def send(ctx: NotificationContext, notification_id: int, *, due_only: bool = False) -> NotificationRecord:
    """The retry job's send: claim the row (locked, its next try moved past the send), so the retry job
    of this or another replica does not send the same email while this send is under way; then send."""
    async with ctx.db.transaction() as uow:
        row = await uow.one(queries.NOTIFICATION_TO_SEND, row_id=notification_id)
        assert row is not None
        found = NotificationRecord(**row._asdict())
        if found.status != "pending" or (due_only and found.next_attempt_at and found.next_attempt_at > utcnow()):
            return found
        claimed = replace(found, next_attempt_at=utcnow() + SEND_LEASE)
        await uow.run(queries.CLAIM, row_id=claimed.id, next_attempt_at=claimed.next_attempt_at)
        await uow.commit()
    return await _deliver(ctx, claimed)


async def _deliver(ctx: NotificationContext, claimed: NotificationRecord) -> NotificationRecord:
    """Try the SMTP send of a claimed row once; a failure keeps it pending with the next try scheduled."""
    error: str | None = None
    try:
        await ctx.sender.send(claimed.recipient or "", claimed.subject or "", claimed.text_body or "",
                              claimed.html_body or "")
    except EmailNotSent as exc:
        error = str(exc)[:500]
        log.warning("email %s to customer %s not sent (%s); will retry", claimed.id, claimed.customer_id, error)
    if error is None:
        sent_at = utcnow()
        async with ctx.db.autocommit() as uow:
            attempts = (await uow.one(queries.MARK_SENT, row_id=claimed.id, sent_at=sent_at)).attempts
            await uow.commit()
        return replace(claimed, attempts=attempts, status="sent", sent_at=sent_at, last_error=None,
                       next_attempt_at=None)
    async with ctx.db.transaction() as uow:
        attempts = (await uow.one(queries.ATTEMPTS, row_id=claimed.id)).attempts + 1
        tried = replace(claimed, attempts=attempts, last_error=error,
                        next_attempt_at=utcnow() + timedelta(seconds=domain.retry_delay(attempts)))
        await uow.run(queries.MARK_FAILED, row_id=tried.id, attempts=attempts, last_error=error,
                      next_attempt_at=tried.next_attempt_at)
        await uow.commit()
    return tried


async def send_due(ctx: NotificationContext, limit: int = 50) -> int:
    """Send every pending email whose next try is due; returns how many were tried."""
    async with ctx.db.reading() as uow:
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
    async with ctx.db.reading() as uow:
        total = await uow.session.scalar(select(func.count()).where(Notification.customer_id == customer_id))
        rows = await uow.session.scalars(
            select(Notification).where(Notification.customer_id == customer_id)
            .order_by(Notification.id.desc()).offset((page - 1) * page_size).limit(page_size)
        )
        return list(rows.all()), int(total or 0)


async def notify_customer(ctx: NotificationContext, customer_id: str, order_id: str, draft: Draft,
                          kind: str = "NotifyCustomer", key: str | None = None) -> NotificationRecord:
    """Orchestrated style's "Notify Customer": the same record-then-send path as the events.

    `key` (the caller's idempotency key) is the record's event id: a repeated call returns the first
    call's record and sends nothing again.
    """
    return await _record_and_send(ctx, Subject(kind, customer_id, order_id), draft, None, None, key)
