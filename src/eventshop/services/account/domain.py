"""Account rules: who may change what, which fields a change touched, passwords, sign-in throttling, sessions."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from zxcvbn import zxcvbn

TOKEN_PATTERN = re.compile(r"^tok_[a-z0-9_]{2,60}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 200
# zxcvbn's scores run 0-4; 3 is "safely unguessable" (about 10^8 guesses and more).
MIN_PASSWORD_SCORE = 3
# zxcvbn's cost grows with length and it refuses longer input; the rest of a longer password only adds strength.
ESTIMATED_CHARS = 72
SESSION_LIFETIME = timedelta(days=14)
# A session's last-seen time is written at most this often, so checking a session is a read.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


class AccountStatus(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


@dataclass(frozen=True)
class Address:
    street: str
    city: str
    postcode: str
    country: str


@dataclass(frozen=True)
class PasswordProblem:
    message: str
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True)
class ThrottleRule:
    """At most `limit` failed sign-ins per `window` for one subject (an account's email, a client address)."""

    scope: str
    limit: int
    window: timedelta


def normalise_email(email: str) -> str:
    return email.strip().lower()


def valid_payment_token(token: str) -> bool:
    return bool(TOKEN_PATTERN.match(token))


def password_problem(password: str, user_inputs: Sequence[str] = ()) -> PasswordProblem | None:
    """Why a password is refused (too short, too long, guessable per zxcvbn), or None when it is good."""
    if len(password) < MIN_PASSWORD:
        return PasswordProblem(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        return PasswordProblem(f"the password may have at most {MAX_PASSWORD} characters")
    inputs = [part for text in user_inputs for part in re.split(r"[\s@.]+", text.lower()) if len(part) > 2]
    verdict = zxcvbn(password[:ESTIMATED_CHARS], user_inputs=[*user_inputs, *inputs])
    if verdict["score"] >= MIN_PASSWORD_SCORE:
        return None
    feedback = verdict["feedback"]
    suggestions = tuple(feedback.get("suggestions") or ())
    warning = feedback.get("warning") or "This password is easy to guess."
    return PasswordProblem(" ".join([warning, *suggestions]), suggestions)


def may_change(status: AccountStatus) -> bool:
    return status is AccountStatus.ACTIVE


def changed_fields(before: dict[str, object], after: dict[str, object]) -> list[str]:
    """Names of the fields whose value differs; secrets are reported by name only."""
    return sorted(key for key in after if before.get(key) != after[key])


def throttle_subject(scope: str, value: str) -> str:
    """What the failure table keys on: a digest, so typed emails and client addresses are not kept in clear."""
    return hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()


def retry_after(failures: Sequence[datetime], rule: ThrottleRule, now: datetime) -> timedelta | None:
    """How long sign-in stays refused, given the failures inside the window (oldest first); None when it is not."""
    recent = [at for at in failures if at > now - rule.window]
    if len(recent) < rule.limit:
        return None
    # Allowed again once enough failures have aged out that fewer than `limit` remain.
    unlocks_at = recent[len(recent) - rule.limit] + rule.window
    return max(unlocks_at - now, timedelta(seconds=1))


def wait_in_words(wait: timedelta) -> str:
    seconds = math.ceil(wait.total_seconds())
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def session_key(session_id: str) -> str:
    """Sessions are stored by digest: the database alone does not give anyone a usable session id."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def session_is_live(revoked_at: datetime | None, expires_at: datetime, now: datetime) -> bool:
    return revoked_at is None and now < expires_at


def needs_last_seen(last_seen_at: datetime, now: datetime) -> bool:
    return now - last_seen_at >= LAST_SEEN_RESOLUTION
