"""Account's pure rules: the password policy and the sign-in throttle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eventshop.services.account.domain import ThrottleRule, password_problem, retry_after, wait_in_words

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RULE = ThrottleRule("account", limit=3, window=timedelta(minutes=15))


def test_common_short_and_personal_passwords_are_refused_with_a_reason() -> None:
    assert password_problem("short") is not None
    common = password_problem("password")
    assert common is not None and "common password" in common.message
    assert password_problem("lovelace-ada", ["ada@example.com", "Ada Lovelace"]) is not None
    assert password_problem("x" * 201) is not None


def test_long_uncommon_passwords_pass() -> None:
    assert password_problem("correct horse battery", ["ada@example.com", "Ada Lovelace"]) is None
    assert password_problem("coffee-and-kettles " * 10) is None  # past the estimator's 72 characters


def test_sign_in_is_refused_until_the_oldest_counted_failure_leaves_the_window() -> None:
    failures = [NOW - timedelta(minutes=10), NOW - timedelta(minutes=5), NOW - timedelta(minutes=1)]
    assert retry_after(failures[1:], RULE, NOW) is None
    assert retry_after(failures, RULE, NOW) == timedelta(minutes=5)
    assert retry_after([NOW - timedelta(minutes=20), *failures[1:]], RULE, NOW) is None


def test_the_wait_reads_in_seconds_or_whole_minutes() -> None:
    assert wait_in_words(timedelta(seconds=42.2)) == "43 seconds"
    assert wait_in_words(timedelta(minutes=14, seconds=1)) == "15 minutes"
