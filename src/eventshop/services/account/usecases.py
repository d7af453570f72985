"""Account use cases: create, update, deactivate, and the data other services may ask for (sign-in: signin.py)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from pydantic import Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from eventshop.contracts.events import AccountCreatedEvent, AccountDeactivatedEvent, AccountUpdatedEvent
from eventshop.contracts.events.account import AccountEvent
from eventshop.platform.db import Database, UnitOfWork, utcnow
from eventshop.platform.errors import Conflict, Invalid, NotFound
from eventshop.platform.settings import EnvSettings, Settings
from eventshop.platform.statements import Prepared
from eventshop.services.account import domain
from eventshop.services.account.domain import AccountStatus, Address
from eventshop.services.account.tables import Account, Base, CustomerSession

HASHER = PasswordHasher()
ACCOUNTS: Table = Base.metadata.tables["accounts"]


class AccountSettings(EnvSettings):
    """Account's own settings (EVENTSHOP_ACCOUNT_*): how many failed sign-ins are allowed, and in what time."""

    model_config = SettingsConfigDict(env_prefix="EVENTSHOP_ACCOUNT_", extra="ignore")

    sign_in_failures_per_account: int = Field(default=5, ge=1)
    sign_in_failures_per_address: int = Field(default=20, ge=1)
    sign_in_window_seconds: float = Field(default=900, gt=0)


@dataclass
class AccountContext:
    db: Database
    settings: Settings
    policy: AccountSettings


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
    current_password: str | None = None  # when given, checked before anything changes; an email change needs it
    keep_session_id: str | None = None  # a password change ends every other session of the account
    email: str | None = None



def check_password(password: str, *user_inputs: str) -> None:
    if problem := domain.password_problem(password, user_inputs):
        raise Invalid(problem.message, code="weak_password",
                      details={"field": "password", "suggestions": list(problem.suggestions)})


def checked_address(address: Address) -> Address:
    """The address normalised, once the country exists and the postcode has its country's format."""
    normalised = domain.normalise_address(address)
    if problem := domain.address_problem(normalised):
        raise Invalid(problem.message, code="invalid_address", details={"field": problem.field})
    return normalised


def _check_token(token: str | None) -> None:
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
    address = checked_address(new.address)
    check_password(new.password, new.email, new.name)
    _check_token(new.payment_token)
    password_hash = await _hash(new.password)
    now = utcnow()
    account = Account(
        id=uuid.uuid4().hex, name=new.name.strip(), email=domain.normalise_email(new.email),
        password_hash=password_hash, street=address.street, city=address.city,
        postcode=address.postcode, country=address.country, payment_token=new.payment_token,
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
    return {"name": account.name, "email": account.email,
            "address": (account.street, account.city, account.postcode, account.country),
            "payment_token": account.payment_token, "password": account.password_hash}


@dataclass(frozen=True)
class CheckedCredentials:
    email: str | None  # the new email, normalised; None when it does not change
    password_hash: str | None  # the new password's hash; None when it does not change


async def _check_credentials(ctx: AccountContext, account_id: str, changes: AccountChanges) -> CheckedCredentials:
    """A new email or password, once the current password and the policy say yes (outside the transaction:
    argon2 takes a while). A new email always needs the current password; a new password checks it when given."""
    if changes.password is None and changes.email is None:
        return CheckedCredentials(None, None)
    async with ctx.db.reading() as uow:
        account = await _load(uow, account_id)
    email = domain.normalise_email(changes.email) if changes.email is not None else None
    email = email if email != account.email else None
    if (email is not None or changes.current_password is not None) and not await verify_password(
            account.password_hash, changes.current_password or ""):
        raise Invalid("the current password is wrong" if changes.current_password else
                      "enter the current password to change the email", code="wrong_current_password",
                      details={"field": "current_password"})
    if changes.password is None:
        return CheckedCredentials(email, None)
    check_password(changes.password, email or account.email, changes.name or account.name)
    return CheckedCredentials(email, await _hash(changes.password))


async def verify_password(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(HASHER.verify, password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


async def end_sessions(uow: UnitOfWork, account_id: str, keep_session_id: str | None = None) -> None:
    """Revoke the account's live sessions, all of them or all but the one that asked."""
    keep = domain.session_key(keep_session_id) if keep_session_id else ""
    await uow.session.execute(
        update(CustomerSession)
        .where(CustomerSession.account_id == account_id, CustomerSession.revoked_at.is_(None),
               CustomerSession.key != keep)
        .values(revoked_at=utcnow())
    )


async def update_account(ctx: AccountContext, account_id: str, changes: AccountChanges) -> Account:
    address = checked_address(changes.address) if changes.address is not None else None
    _check_token(changes.payment_token)
    credentials = await _check_credentials(ctx, account_id, changes)
    async with ctx.db.transaction() as uow:
        account = await _load(uow, account_id, for_update=True)
        if not domain.may_change(AccountStatus(account.status)):
            raise Conflict("a deactivated account cannot be changed", code="account_deactivated")
        before = _snapshot(account)
        if changes.name is not None:
            account.name = changes.name.strip()
        if address is not None:
            a = address
            account.street, account.city, account.postcode, account.country = a.street, a.city, a.postcode, a.country
        if changes.payment_token is not None:
            account.payment_token = changes.payment_token
        if credentials.email is not None:
            await _check_email_free(uow, account.id, credentials.email)
            account.email = credentials.email
        if credentials.password_hash is not None:
            account.password_hash = credentials.password_hash
            await end_sessions(uow, account.id, changes.keep_session_id)
        changed = domain.changed_fields(before, _snapshot(account))
        if changed:
            account.revision += 1
            account.updated_at = utcnow()
            _publish(uow, account, AccountUpdatedEvent, changed=changed)
        try:
            await uow.commit()
        except IntegrityError as exc:  # another account took the email since the check
            raise Conflict("an account with this email exists", code="email_taken") from exc
        return account


async def _check_email_free(uow: UnitOfWork, account_id: str, email: str) -> None:
    taken = await uow.session.scalar(select(Account.id).where(Account.email == email, Account.id != account_id))
    if taken:
        raise Conflict("an account with this email exists", code="email_taken")


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
        await end_sessions(uow, account.id)
        await uow.commit()
        return account


@dataclass(frozen=True)
class AccountData:
    """An account as it is shown, to its customer and to the services that may ask (status, payment data,
    address, contact: read at every order): every column but the password hash and the deactivation reason."""

    id: str
    name: str
    email: str
    status: str
    street: str
    city: str
    postcode: str
    country: str
    payment_token: str
    revision: int
    created_at: datetime
    updated_at: datetime


_ACCOUNT_DATA = Prepared(
    select(*(ACCOUNTS.c[field.name] for field in fields(AccountData))).where(ACCOUNTS.c.id == bindparam("account")))


async def get_account(ctx: AccountContext, account_id: str) -> AccountData:
    async with ctx.db.reading() as uow:
        row = await uow.one(_ACCOUNT_DATA, account=account_id)
    if row is None:
        raise NotFound(f"no account {account_id}", code="account_not_found")
    return AccountData(**row._asdict())
