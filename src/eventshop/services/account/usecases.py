"""Account use cases: create, update, deactivate, sign in, and the data other services may ask for."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from eventshop.contracts.events import AccountCreatedEvent, AccountDeactivatedEvent, AccountUpdatedEvent
from eventshop.contracts.events.account import AccountEvent
from eventshop.platform.db import Database, UnitOfWork, utcnow
from eventshop.platform.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from eventshop.platform.settings import Settings
from eventshop.services.account import domain
from eventshop.services.account.domain import AccountStatus, Address
from eventshop.services.account.tables import Account

HASHER = PasswordHasher()


@dataclass
class AccountContext:
    db: Database
    settings: Settings


@dataclass(frozen=True)
class NewAccount:
    name: str
    email: str
    password: str
    address: Address
    payment_token: str


@dataclass(frozen=True)
class AccountChanges:
    name: str | None = None
    address: Address | None = None
    payment_token: str | None = None
    password: str | None = None


def _check_secrets(password: str | None, token: str | None) -> None:
    if password is not None and (problem := domain.password_problem(password)):
        raise Invalid(problem, code="weak_password")
    if token is not None and not domain.valid_payment_token(token):
        raise Invalid("payment_token must be a Payment System token such as tok_visa", code="invalid_payment_token")


async def _hash(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)  # argon2 is deliberately slow: keep the loop free


def _publish(uow: UnitOfWork, account: Account, event_type: type[AccountEvent], **extra: Any) -> None:
    uow.publish(
        event_type(account_id=account.id, revision=account.revision, email=account.email, name=account.name,
                   status=account.status, **extra)
    )


async def create_account(ctx: AccountContext, new: NewAccount) -> Account:
    _check_secrets(new.password, new.payment_token)
    password_hash = await _hash(new.password)
    now = utcnow()
    account = Account(
        id=uuid.uuid4().hex, name=new.name.strip(), email=domain.normalise_email(new.email),
        password_hash=password_hash, street=new.address.street, city=new.address.city,
        postcode=new.address.postcode, country=new.address.country.upper(), payment_token=new.payment_token,
        status=AccountStatus.ACTIVE, revision=1, created_at=now, updated_at=now,
    )
    async with ctx.db.transaction() as uow:
        taken = await uow.session.scalar(select(Account.id).where(Account.email == account.email))
        if taken:
            raise Conflict("an account with this email exists", code="email_taken")
        uow.session.add(account)
        _publish(uow, account, AccountCreatedEvent)
        try:
            await uow.commit()
        except IntegrityError as exc:
            raise Conflict("an account with this email exists", code="email_taken") from exc
    return account


async def _load(uow: UnitOfWork, account_id: str, *, for_update: bool = False) -> Account:
    account = await uow.session.get(Account, account_id, with_for_update=for_update)
    if account is None:
        raise NotFound(f"no account {account_id}", code="account_not_found")
    return account


def _snapshot(account: Account) -> dict[str, object]:
    return {"name": account.name, "address": (account.street, account.city, account.postcode, account.country),
            "payment_token": account.payment_token, "password": account.password_hash}


async def update_account(ctx: AccountContext, account_id: str, changes: AccountChanges) -> Account:
    _check_secrets(changes.password, changes.payment_token)
    new_hash = await _hash(changes.password) if changes.password else None
    async with ctx.db.transaction() as uow:
        account = await _load(uow, account_id, for_update=True)
        if not domain.may_change(AccountStatus(account.status)):
            raise Conflict("a deactivated account cannot be changed", code="account_deactivated")
        before = _snapshot(account)
        if changes.name is not None:
            account.name = changes.name.strip()
        if changes.address is not None:
            a = changes.address
            account.street, account.city, account.postcode, account.country = a.street, a.city, a.postcode, a.country
        if changes.payment_token is not None:
            account.payment_token = changes.payment_token
        if new_hash is not None:
            account.password_hash = new_hash
        changed = domain.changed_fields(before, _snapshot(account))
        if changed:
            account.revision += 1
            account.updated_at = utcnow()
            _publish(uow, account, AccountUpdatedEvent, changed=changed)
        await uow.commit()
        return account


async def deactivate_account(ctx: AccountContext, account_id: str, reason: str | None) -> Account:
    async with ctx.db.transaction() as uow:
        account = await _load(uow, account_id, for_update=True)
        if account.status == AccountStatus.DEACTIVATED:
            return account
        account.status = AccountStatus.DEACTIVATED
        account.deactivation_reason = reason
        account.revision += 1
        account.updated_at = utcnow()
        _publish(uow, account, AccountDeactivatedEvent, reason=reason)
        await uow.commit()
        return account


async def sign_in(ctx: AccountContext, email: str, password: str) -> Account:
    async with ctx.db.reading() as uow:
        account = await uow.session.scalar(select(Account).where(Account.email == domain.normalise_email(email)))
    wrong = Unauthorized("email or password is wrong", code="invalid_credentials")
    if account is None:
        await asyncio.to_thread(HASHER.hash, password)  # same cost as a real check: no account probing by timing
        raise wrong
    try:
        await asyncio.to_thread(HASHER.verify, account.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        raise wrong from None
    if account.status == AccountStatus.DEACTIVATED:
        raise Forbidden("this account is deactivated", code="account_deactivated")
    if HASHER.check_needs_rehash(account.password_hash):
        async with ctx.db.transaction() as uow:
            stored = await _load(uow, account.id, for_update=True)
            stored.password_hash = await _hash(password)
            await uow.commit()
    return account


async def get_account(ctx: AccountContext, account_id: str) -> Account:
    async with ctx.db.reading() as uow:
        return await _load(uow, account_id)
