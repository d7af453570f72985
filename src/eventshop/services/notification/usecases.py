"""Notification use cases: record one notification per event, send its email, retry what failed."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from eventshop.contracts.envelope import Event
from eventshop.contracts.events.account import AccountEvent
from eventshop.platform.db import Database, Incoming, UnitOfWork, utcnow
from eventshop.platform.settings import Settings
from eventshop.services.notification import domain, email_bodies
from eventshop.services.notification.clients import AccountClient, Contact
from eventshop.services.notification.domain import Draft
from eventshop.services.notification.email_sender import EmailNotSent, EmailSender
from eventshop.services.notification.tables import AccountContact, Notification

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


async def record_event(ctx: NotificationContext, incoming: Incoming[Any]) -> Notification:
    """One record per consumed event, and its email sent when the draft says so.

    The record, its claim for this send, the contact replica and the inbox mark commit in one
    transaction; the SMTP send follows it, and one more transaction says how the send went.
    """
    event: Event = incoming.event
    about = Subject(event.type_name(), customer_of(event), getattr(event, "order_id", None))
    told = Contact(event.name, event.email, event.status, event.revision) if isinstance(event, AccountEvent) else None
    return await _record_and_send(ctx, about, domain.draft_for(event), told, incoming)


async def _record_and_send(ctx: NotificationContext, about: Subject, draft: Draft, told: Contact | None,
                           incoming: Incoming[Any] | None, key: str | None = None) -> Notification:
    notification = await _record(ctx, about, draft, told, incoming, key)
    if notification is None:  # the replica lacks the account (its event has not come yet): ask Account
        learned = await ctx.accounts.contact(about.customer_id)
        notification = await _record(ctx, about, draft, learned, incoming, key)
        assert notification is not None
    if notification.status == "pending":
        notification = await _deliver(ctx, notification)
    return notification


async def _record(ctx: NotificationContext, about: Subject, draft: Draft, told: Contact | None,
                  incoming: Incoming[Any] | None, key: str | None = None) -> Notification | None:
    """The record, in the delivery's transaction; None (nothing written) when the email has no address yet."""
    async with ctx.db.transaction(incoming) as uow:
        if key is not None:  # a repeated "Notify Customer": the first call's record, not a second email
            repeated = await uow.session.scalar(select(Notification).where(Notification.event_id == key))
            if repeated is not None:
                return repeated
        contact = await _replicate(uow, about.customer_id, told) if told else None
        if draft.sends_email and contact is None:
            contact = await _replica_contact(uow, about.customer_id)
            if contact is None:
                return None
        row = _notification(about, draft, contact if draft.sends_email else None,
                            incoming.envelope.id if incoming else key, ctx.settings.url("frontend"))
        uow.session.add(row)
        await uow.commit()
    return row


def _notification(about: Subject, draft: Draft, contact: Contact | None, event_id: str | None,
                  shop_url: str) -> Notification:
    now = utcnow()
    row = Notification(
        event_id=event_id, event_type=about.kind,
        customer_id=about.customer_id, order_id=about.order_id, why=draft.why,
        channel="email" if contact else "none", status="pending" if contact else "skipped", attempts=0,
        created_at=now, next_attempt_at=now + SEND_LEASE if contact else None,
    )
    if contact is not None:
        row.recipient, row.subject = contact.email, draft.subject
        row.text_body, row.html_body = email_bodies.render(draft, contact.name, shop_url)
    return row


async def _replicate(uow: UnitOfWork, account_id: str, told: Contact) -> Contact:
    """Keep what an event or Account told unless the replica is newer; the newest contact known."""
    replica = await uow.session.get(AccountContact, account_id, with_for_update=True)
    if replica is None:
        uow.session.add(AccountContact(account_id=account_id, email=told.email, name=told.name, status=told.status,
                                       revision=told.revision, updated_at=utcnow()))
        return told
    if told.revision > replica.revision:
        replica.email, replica.name, replica.status = told.email, told.name, told.status
        replica.revision, replica.updated_at = told.revision, utcnow()
        return told
    log.info("account %s revision %d is stale (have %d)", account_id, told.revision, replica.revision)
    return Contact(replica.name, replica.email, replica.status, replica.revision)


async def _replica_contact(uow: UnitOfWork, account_id: str) -> Contact | None:
    replica = await uow.session.get(AccountContact, account_id)
    return Contact(replica.name, replica.email, replica.status, replica.revision) if replica else None


async def send(ctx: NotificationContext, notification_id: int, *, due_only: bool = False) -> Notification:
    """The retry job's send: claim the row (locked, its next try moved past the send), so the retry job
    of this or another replica does not send the same email while this send is under way; then send."""
    async with ctx.db.transaction() as uow:
        row = await uow.session.get(Notification, notification_id, with_for_update=True)
        assert row is not None
        if row.status != "pending" or (due_only and row.next_attempt_at and row.next_attempt_at > utcnow()):
            return row
        row.next_attempt_at = utcnow() + SEND_LEASE
        await uow.commit()
    return await _deliver(ctx, row)


async def _deliver(ctx: NotificationContext, claimed: Notification) -> Notification:
    """Try the SMTP send of a claimed row once; a failure keeps it pending with the next try scheduled."""
    error: str | None = None
    try:
        await ctx.sender.send(claimed.recipient or "", claimed.subject or "", claimed.text_body or "",
                              claimed.html_body or "")
    except EmailNotSent as exc:
        error = str(exc)[:500]
        log.warning("email %s to customer %s not sent (%s); will retry", claimed.id, claimed.customer_id, error)
    async with ctx.db.transaction() as uow:
        row = await uow.session.get(Notification, claimed.id, with_for_update=True)
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
                          kind: str = "NotifyCustomer", key: str | None = None) -> Notification:
    """Orchestrated style's "Notify Customer": the same record-then-send path as the events.

    `key` (the caller's idempotency key) is the record's event id: a repeated call returns the first
    call's record and sends nothing again.
    """
    return await _record_and_send(ctx, Subject(kind, customer_id, order_id), draft, None, None, key)
