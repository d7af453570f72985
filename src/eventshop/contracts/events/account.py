"""Account Topic events. `revision` grows with every change so replicas can ignore stale ones."""

from __future__ import annotations

from typing import Literal

from eventshop.contracts.envelope import Event

AccountStatus = Literal["active", "deactivated"]


class _AccountEvent(Event):
    topic = "account"

    account_id: str
    revision: int
    email: str
    name: str
    status: AccountStatus


class AccountCreatedEvent(_AccountEvent):
    pass


class AccountUpdatedEvent(_AccountEvent):
    changed: list[str] = []


class AccountDeactivatedEvent(_AccountEvent):
    reason: str | None = None
