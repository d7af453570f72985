"""Account rules: who may change what, which fields a change touched, passwords, sign-in throttling, sessions."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import pycountry
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
class AddressProblem:
    field: str  # the field of the request body: address.country or address.postcode
    message: str


# Postcode formats (matched on the upper-cased postcode with single spaces) and an example of each: the EU
# countries, the UK, the US and the European neighbours the carrier serves. Other countries' postcodes are not checked.
POSTCODES: dict[str, tuple[str, str]] = {
    "AT": (r"\d{4}", "1010"),
    "BE": (r"\d{4}", "1000"),
    "BG": (r"\d{4}", "1000"),
    "CY": (r"\d{4}", "1010"),
    "CZ": (r"\d{3} ?\d{2}", "110 00"),
    "DE": (r"\d{5}", "10115"),
    "DK": (r"\d{4}", "1050"),
    "EE": (r"\d{5}", "10111"),
    "ES": (r"(?:0[1-9]|[1-4]\d|5[0-2])\d{3}", "28001"),
    "FI": (r"\d{5}", "00100"),
    "FR": (r"\d{5}", "75001"),
    "GR": (r"\d{3} ?\d{2}", "105 57"),
    "HR": (r"\d{5}", "10000"),
    "HU": (r"\d{4}", "1011"),
    "IE": (r"(?:[AC-FHKNPRTV-Y]\d{2}|D6W) ?[0-9AC-FHKNPRTV-Y]{4}", "D02 X285"),
    "IT": (r"\d{5}", "00118"),
    "LT": (r"(?:LT-)?\d{5}", "01100"),
    "LU": (r"(?:L-)?\d{4}", "1009"),
    "LV": (r"(?:LV-)?\d{4}", "LV-1050"),
    "MT": (r"[A-Z]{3} ?\d{4}", "VLT 1117"),
    "NL": (r"[1-9]\d{3} ?[A-Z]{2}", "1012 AB"),
    "PL": (r"\d{2}-\d{3}", "00-950"),
    "PT": (r"\d{4}-\d{3}", "1100-148"),
    "RO": (r"\d{6}", "010011"),
    "SE": (r"\d{3} ?\d{2}", "111 22"),
    "SI": (r"(?:SI-)?\d{4}", "1000"),
    "SK": (r"\d{3} ?\d{2}", "811 01"),
    "GB": (r"GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", "SW1A 1AA"),
    "US": (r"\d{5}(?:-\d{4})?", "20500"),
    "CH": (r"\d{4}", "8001"),
    "NO": (r"\d{4}", "0150"),
}
_POSTCODE_PATTERNS = {country: re.compile(pattern) for country, (pattern, _) in POSTCODES.items()}


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


def country_name(code: str) -> str | None:
    """The country of an ISO 3166-1 alpha-2 code (pycountry's list), or None when there is no such country."""
    found = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    return getattr(found, "common_name", None) or getattr(found, "name", None)


def normalise_address(address: Address) -> Address:
    """Trimmed; country and postcode upper-cased, with single spaces in the postcode ("sw1a  1aa" -> "SW1A 1AA")."""
    postcode = " ".join(address.postcode.upper().split())
    return Address(address.street.strip(), address.city.strip(), postcode, address.country.strip().upper())


def address_problem(address: Address) -> AddressProblem | None:
    """Why an address (normalised) is refused: a country that does not exist, or a postcode not in its format."""
    name = country_name(address.country)
    if name is None:
        return AddressProblem("address.country", f"choose a country from the list; {address.country!r} is not an "
                                                 "ISO 3166-1 country code")
    pattern = _POSTCODE_PATTERNS.get(address.country)
    if pattern is not None and not pattern.fullmatch(address.postcode):
        example = POSTCODES[address.country][1]
        return AddressProblem("address.postcode", f"enter a postcode such as {example} ({name})")
    return None


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
