"""Account rules: who may change what, and which fields a change touched."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

TOKEN_PATTERN = re.compile(r"^tok_[a-z0-9_]{2,60}$")
MIN_PASSWORD = 8


class AccountStatus(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


@dataclass(frozen=True)
class Address:
    street: str
    city: str
    postcode: str
    country: str


def normalise_email(email: str) -> str:
    return email.strip().lower()


def valid_payment_token(token: str) -> bool:
    return bool(TOKEN_PATTERN.match(token))


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"the password needs at least {MIN_PASSWORD} characters"
    return None


def may_change(status: AccountStatus) -> bool:
    return status is AccountStatus.ACTIVE


def changed_fields(before: dict[str, object], after: dict[str, object]) -> list[str]:
    """Names of the fields whose value differs; secrets are reported by name only."""
    return sorted(key for key in after if before.get(key) != after[key])
