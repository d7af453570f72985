"""HTTP identity: tokens prove who sent them, to whom, until when; nothing else gets through."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eventshop.platform.identity import (
    CUSTOMERS,
    InvalidToken,
    Keyring,
    MissingKeys,
    Principal,
    ensure_keys,
    load_keyring,
    sandbox_operator_key,
)
from eventshop.platform.settings import Settings


def keyrings(tmp_path: Path) -> dict[str, Keyring]:
    ensure_keys(tmp_path)
    settings = Settings(data_dir=tmp_path, http_secrets_dir=tmp_path)
    return {name: load_keyring(settings, name) for name in ("payment", "account", "order", "operator", "frontend")}


def test_a_service_token_is_believed_by_its_audience_only(tmp_path: Path) -> None:
    rings = keyrings(tmp_path)
    token = rings["payment"].mint("account")

    assert rings["account"].verify(token) == Principal("service", "payment")
    with pytest.raises(InvalidToken):
        rings["order"].verify(token)


def test_a_customer_token_from_account_is_believed_by_every_service_and_names_the_customer(tmp_path: Path) -> None:
    rings = keyrings(tmp_path)
    token = rings["account"].mint(CUSTOMERS, subject="cust-1", kind="customer")

    assert rings["order"].verify(token) == Principal("customer", "cust-1")
    assert rings["order"].verify(token).acts_for("cust-1") and not rings["order"].verify(token).acts_for("cust-2")


def test_only_account_issues_customer_tokens_and_only_the_operator_operator_tokens(tmp_path: Path) -> None:
    rings = keyrings(tmp_path)
    for forged in (rings["frontend"].mint(CUSTOMERS, subject="cust-1", kind="customer"),
                   rings["payment"].mint("order", kind="operator"),
                   rings["payment"].mint("order", subject="shipping")):
        with pytest.raises(InvalidToken):
            rings["order"].verify(forged)
    assert rings["order"].verify(rings["operator"].mint("order")) == Principal("operator", "operator")


def test_a_token_signed_with_another_key_or_expired_or_unsigned_is_refused(tmp_path: Path) -> None:
    rings = keyrings(tmp_path)
    claims = {"iss": "payment", "sub": "payment", "aud": "account", "kind": "service",
              "iat": int(time.time()), "exp": int(time.time()) + 60}
    assert rings["payment"].private is not None
    stranger = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA")
    expired = jwt.encode({**claims, "exp": int(time.time()) - 60}, rings["payment"].private, algorithm="EdDSA")
    unsigned = jwt.encode(claims, "", algorithm="none")
    hmac = jwt.encode(claims, "a-guessed-shared-secret-of-32-bytes!", algorithm="HS256")
    for token in (stranger, expired, unsigned, hmac, "not-a-token"):
        with pytest.raises(InvalidToken):
            rings["account"].verify(token)


def test_without_keys_a_process_is_told_what_to_do_and_dev_secrets_must_be_asked_for(tmp_path: Path) -> None:
    with pytest.raises(MissingKeys, match="eventshop up"):
        load_keyring(Settings(data_dir=tmp_path), "order")
    dev = Settings(data_dir=tmp_path, dev_secrets=True)
    assert load_keyring(dev, "order").verify(load_keyring(dev, "cart").mint("order")) == Principal("service", "cart")


def test_keys_are_written_once_private_to_the_owner(tmp_path: Path) -> None:
    ensure_keys(tmp_path)
    first = (tmp_path / "order.key").read_text()
    ensure_keys(tmp_path)
    assert (tmp_path / "order.key").read_text() == first
    assert (tmp_path / "order.key").stat().st_mode & 0o077 == 0


def test_each_sandbox_gets_an_operator_key_of_its_own_which_the_environment_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path, http_secrets_dir=tmp_path)
    monkeypatch.delenv("EVENTSHOP_PAYMENT_SYSTEM_OPERATOR_KEY", raising=False)
    monkeypatch.delenv("EVENTSHOP_MAIL_OPERATOR_KEY", raising=False)
    assert sandbox_operator_key(settings, "payment-system") is None  # nothing written yet: the switches are off

    ensure_keys(tmp_path)
    keys = {name: sandbox_operator_key(settings, name) for name in ("payment-system", "logistics-system", "mail")}
    assert all(keys.values()) and len(set(keys.values())) == 3
    assert (tmp_path / "mail.operator-key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("EVENTSHOP_MAIL_OPERATOR_KEY", "given")
    assert sandbox_operator_key(settings, "mail") == "given"
