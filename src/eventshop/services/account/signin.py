"""Sign-in use cases: credentials checked under throttling, and the server-side sessions they open and end."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from eventshop.platform.db import UnitOfWork, utcnow
from eventshop.platform.errors import Forbidden, NotFound, RateLimited, Unauthorized
from eventshop.services.account import domain
from eventshop.services.account.domain import AccountStatus, ThrottleRule
from eventshop.services.account.tables import Account, CustomerSession, SignInFailure
from eventshop.services.account.usecases import HASHER, AccountContext, verify_password

REFUSALS = {
    "account": "Too many failed sign-in attempts for this account.",
    "address": "Too many failed sign-in attempts from your network.",
}


@dataclass(frozen=True)
class SignedIn:
    account: Account
    session_id: str  # the only copy: Account keeps its digest


@dataclass(frozen=True)
class LiveSession:
    account: Account
    session: CustomerSession


def rules(ctx: AccountContext) -> tuple[ThrottleRule, ThrottleRule]:
    window = timedelta(seconds=ctx.policy.sign_in_window_seconds)
    return (ThrottleRule("account", ctx.policy.sign_in_failures_per_account, window),
            ThrottleRule("address", ctx.policy.sign_in_failures_per_address, window))


async def _refuse_if_throttled(ctx: AccountContext, subjects: dict[str, str], now: datetime) -> None:
    async with ctx.db.reading() as uow:
        for rule in rules(ctx):
            failures = (await uow.session.scalars(
                select(SignInFailure.failed_at)
                .where(SignInFailure.scope == rule.scope, SignInFailure.subject == subjects[rule.scope],
                       SignInFailure.failed_at > now - rule.window)
                .order_by(SignInFailure.failed_at)
            )).all()
            wait = domain.retry_after(failures, rule, now)
            if wait is not None:
                seconds = int(wait.total_seconds() + 0.999)
                until = (now + wait).strftime("%H:%M UTC")
                raise RateLimited(
                    f"{REFUSALS[rule.scope]} Try again in {domain.wait_in_words(wait)} (after {until}).",
                    retry_after_seconds=seconds,
                    details={"scope": rule.scope, "retry_after_seconds": seconds,
                             "retry_at": (now + wait).isoformat()},
                )


async def _record_failure(ctx: AccountContext, subjects: dict[str, str], now: datetime) -> None:
    async with ctx.db.transaction() as uow:
        oldest_kept = now - max(rule.window for rule in rules(ctx))
        await uow.session.execute(delete(SignInFailure).where(SignInFailure.failed_at <= oldest_kept))
        uow.session.add_all([SignInFailure(scope=scope, subject=subject, failed_at=now)
                             for scope, subject in subjects.items()])
        await uow.commit()


async def sign_in(ctx: AccountContext, email: str, password: str, client_address: str) -> SignedIn:
    """Check the credentials, unless this email or address failed too often lately; open a session."""
    email = domain.normalise_email(email)
    subjects = {"account": domain.throttle_subject("account", email),
                "address": domain.throttle_subject("address", client_address)}
    now = utcnow()
    # Checked before the password, so that while refused even the right password does not get in.
    await _refuse_if_throttled(ctx, subjects, now)
    async with ctx.db.reading() as uow:
        account = await uow.session.scalar(select(Account).where(Account.email == email))
    if account is None:
        await asyncio.to_thread(HASHER.hash, password)  # same cost as a real check: no account probing by timing
    if account is None or not await verify_password(account.password_hash, password):
        await _record_failure(ctx, subjects, now)
        raise Unauthorized("email or password is wrong", code="invalid_credentials")
    if account.status == AccountStatus.DEACTIVATED:
        raise Forbidden("this account is deactivated", code="account_deactivated")
    new_hash = await asyncio.to_thread(HASHER.hash, password) if HASHER.check_needs_rehash(account.password_hash) \
        else None
    session_id = secrets.token_urlsafe(32)
    async with ctx.db.transaction() as uow:
        # A success clears the account's failures; the address keeps its count (one network, many accounts).
        await uow.session.execute(delete(SignInFailure).where(SignInFailure.scope == "account",
                                                              SignInFailure.subject == subjects["account"]))
        await uow.session.execute(delete(CustomerSession).where(CustomerSession.expires_at <= now))
        uow.session.add(CustomerSession(key=domain.session_key(session_id), account_id=account.id, created_at=now,
                                        last_seen_at=now, expires_at=now + domain.SESSION_LIFETIME))
        if new_hash is not None:
            stored = await uow.session.get(Account, account.id, with_for_update=True)
            if stored is not None:
                stored.password_hash = new_hash
        await uow.commit()
    return SignedIn(account, session_id)


async def _live(uow: UnitOfWork, session_id: str, now: datetime) -> LiveSession:
    session = await uow.session.get(CustomerSession, domain.session_key(session_id))
    account = await uow.session.get(Account, session.account_id) if session else None
    if session is None or account is None or account.status != AccountStatus.ACTIVE \
            or not domain.session_is_live(session.revoked_at, session.expires_at, now):
        raise NotFound("this session has ended; sign in again", code="session_ended")
    return LiveSession(account, session)


async def check_session(ctx: AccountContext, session_id: str) -> LiveSession:
    """The account behind a live session; its last-seen time is written at most once a minute."""
    now = utcnow()
    async with ctx.db.reading() as uow:
        live = await _live(uow, session_id, now)
    if domain.needs_last_seen(live.session.last_seen_at, now):
        async with ctx.db.transaction() as uow:
            live = await _live(uow, session_id, now)
            live.session.last_seen_at = now
            await uow.commit()
    return live


async def end_session(ctx: AccountContext, session_id: str) -> None:
    """Sign-out: the session is revoked for good; ending an unknown or ended session is not an error."""
    async with ctx.db.transaction() as uow:
        session = await uow.session.get(CustomerSession, domain.session_key(session_id))
        if session is not None and session.revoked_at is None:
            session.revoked_at = utcnow()
            await uow.commit()
