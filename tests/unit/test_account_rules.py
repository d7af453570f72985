"""Account's pure rules: the password policy, the sign-in throttle and addresses (country, postcode format)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventshop.sandboxes.logistics_system.app import SERVED_COUNTRIES
from eventshop.services.account.domain import (
    POSTCODES,
    Address,
    ThrottleRule,
    address_problem,
    normalise_address,
    password_problem,
    retry_after,
    wait_in_words,
)

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


def problem_with(country: str, postcode: str) -> str | None:
    found = address_problem(normalise_address(Address("Main St 1", "Town", postcode, country)))
    return found.field if found else None


@pytest.mark.parametrize(("country", "postcode"), [
    ("DE", "10115"), ("de", "00000"), ("AT", "1010"), ("NL", "1012 ab"), ("NL", "1012AB"), ("PL", "00-950"),
    ("PT", "1100-148"), ("SE", "111 22"), ("IE", "D02 X285"), ("MT", "VLT 1117"), ("LV", "LV-1050"),
    ("GB", "SW1A 1AA"), ("GB", "m1 1ae"), ("GB", "EC1A  1BB"), ("US", "20500"), ("US", "20500-0003"),
    ("JP", "100-0001"),  # a country without a rule: any postcode
])
def test_a_postcode_in_its_countrys_format_is_accepted(country: str, postcode: str) -> None:
    assert problem_with(country, postcode) is None


@pytest.mark.parametrize(("country", "postcode", "field"), [
    ("XX", "10115", "address.country"), ("ZZ", "1", "address.country"), ("D", "10115", "address.country"),
    ("DE", "abc", "address.postcode"), ("DE", "1011", "address.postcode"), ("FR", "750001", "address.postcode"),
    ("NL", "0123 AB", "address.postcode"), ("PL", "00950", "address.postcode"), ("GB", "12345", "address.postcode"),
    ("US", "2050", "address.postcode"), ("US", "abcde", "address.postcode"), ("ES", "53001", "address.postcode"),
])
def test_an_unknown_country_or_a_postcode_in_another_format_is_refused_at_its_field(
    country: str, postcode: str, field: str
) -> None:
    assert problem_with(country, postcode) == field


def test_the_postcode_message_gives_an_example_from_the_country() -> None:
    found = address_problem(normalise_address(Address("1600 Pennsylvania Ave", "Washington", "DC", "us")))
    assert found is not None and "20500" in found.message and "United States" in found.message


def test_every_eu_country_the_uk_the_us_and_every_country_the_carrier_serves_has_a_postcode_rule() -> None:
    eu = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
          "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}
    assert eu | {"GB", "US"} | SERVED_COUNTRIES <= set(POSTCODES)
    for country, (_, example) in POSTCODES.items():
        assert problem_with(country, example) is None, f"the example for {country} fits its own rule"


def test_addresses_are_stored_upper_cased_with_single_spaces() -> None:
    assert normalise_address(Address(" Main St 1 ", "London ", "sw1a   1aa", "gb ")) == \
        Address("Main St 1", "London", "SW1A 1AA", "GB")
