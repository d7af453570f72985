"""The statements every consumed event runs (the notification record, its send's outcome, the contact replica),
and the record as those statements read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, bindparam, insert, null, select, update

from eventshop.platform.statements import Prepared
from eventshop.services.notification.tables import AccountContact, Base, Notification

NOTIFICATIONS: Table = Base.metadata.tables[Notification.__tablename__]
CONTACTS: Table = Base.metadata.tables[AccountContact.__tablename__]
# Every column but the id, which the insert hands back.
RECORD_COLUMNS = tuple(column.name for column in NOTIFICATIONS.columns if column.name != "id")


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    """One row of the notifications table (tables.Notification), as the send path reads and writes it."""

    id: int
    event_id: str | None
    event_type: str
    customer_id: str
    order_id: str | None
    channel: str
    recipient: str | None
    subject: str | None
    text_body: str | None
    html_body: str | None
    why: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    sent_at: datetime | None


ADD_NOTIFICATION = Prepared(insert(NOTIFICATIONS).returning(NOTIFICATIONS.c.id), columns=RECORD_COLUMNS)
NOTIFICATION_OF_EVENT = Prepared(select(NOTIFICATIONS).where(NOTIFICATIONS.c.event_id == bindparam("event_id")))
NOTIFICATION_TO_SEND = Prepared(select(NOTIFICATIONS).where(NOTIFICATIONS.c.id == bindparam("row_id")), for_update=True)
CLAIM = Prepared(update(NOTIFICATIONS).where(NOTIFICATIONS.c.id == bindparam("row_id")).values(
    next_attempt_at=bindparam("next_attempt_at")))
ATTEMPTS = Prepared(select(NOTIFICATIONS.c.attempts).where(NOTIFICATIONS.c.id == bindparam("row_id")),
                    for_update=True)
# null() rather than None: a None in values() would be a parameter the caller has to pass.
# One statement counts the try and records the send: on PostgreSQL one round trip, in no explicit transaction.
MARK_SENT = Prepared(update(NOTIFICATIONS).where(NOTIFICATIONS.c.id == bindparam("row_id")).values(
    status="sent", attempts=NOTIFICATIONS.c.attempts + 1, sent_at=bindparam("sent_at"), last_error=null(),
    next_attempt_at=null()).returning(NOTIFICATIONS.c.attempts))
MARK_FAILED = Prepared(update(NOTIFICATIONS).where(NOTIFICATIONS.c.id == bindparam("row_id")).values(
    attempts=bindparam("attempts"), last_error=bindparam("last_error"), next_attempt_at=bindparam("next_attempt_at")))

_CONTACT = select(CONTACTS.c.name, CONTACTS.c.email, CONTACTS.c.status, CONTACTS.c.revision).where(
    CONTACTS.c.account_id == bindparam("account_id"))
CONTACT = Prepared(_CONTACT)
CONTACT_FOR_UPDATE = Prepared(_CONTACT, for_update=True)
ADD_CONTACT = Prepared(insert(CONTACTS), columns=("account_id", "email", "name", "status", "revision", "updated_at"))
# Not "account_id": on PostgreSQL a parameter named after a column of an update is taken for a column it sets.
UPDATE_CONTACT = Prepared(update(CONTACTS).where(CONTACTS.c.account_id == bindparam("contact_id")).values(
    email=bindparam("email"), name=bindparam("name"), status=bindparam("status"), revision=bindparam("revision"),
    updated_at=bindparam("updated_at")))
