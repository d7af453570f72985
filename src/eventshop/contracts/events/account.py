"""Account Topic events. `revision` grows with every change so replicas can ignore stale ones."""

from __future__ import annotations

from typing import Literal

from eventshop.contracts.envelope import Event

AccountStatus = Literal["active", "deactivated"]


class AccountEvent(Event):
    """What every account event carries; the subclasses are the seed's three events."""

    topic = "account"

    account_id: str
    revision: int
    email: str
    name: str
    status: AccountStatus


class AccountCreatedEvent(AccountEvent):
    pass


class AccountUpdatedEvent(AccountEvent):
    changed: list[str] = []


class AccountDeactivatedEvent(AccountEvent):
    reason: str | None = None
