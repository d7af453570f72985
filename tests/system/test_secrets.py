"""Secrets and card data never reach a log: passwords, payment tokens, API and operator keys."""

from __future__ import annotations

import uuid

import pytest

from tests.shop import TOKEN, Shop
from tests.system.shopping import add_product, final_order, order, sign_up

pytestmark = pytest.mark.system


def test_no_password_payment_token_or_key_appears_in_any_log(shop: Shop) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    wrong_password = f"pw-{uuid.uuid4().hex}"
    paid = sign_up(shop, token="tok_visa", password=password)
    declined = sign_up(shop, token="tok_declined", password=password)
    with shop.http("account") as account:
        assert account.post("/sessions", json={"email": paid["email"], "password": wrong_password}).status_code == 401
        assert account.post("/sessions", json={"email": paid["email"], "password": password}).status_code == 200
    product = add_product(shop, stock=5)
    assert final_order(shop, order(shop, paid["id"], [(product["id"], 1)]))["status"] == "shipped"
    assert final_order(shop, order(shop, declined["id"], [(product["id"], 1)]))["status"] == "cancelled"

    secrets = [password, wrong_password, "tok_visa", "tok_declined", TOKEN]
    logs = sorted((shop.data_dir / "logs").glob("*.log"))
    assert len(logs) == 12  # the eight services, the three sandboxes, the frontend
    for log in logs:
        text = log.read_text(errors="replace")
        assert text or log.stem not in ("account", "payment"), f"{log.name} is empty: nothing was checked"
        leaked = [secret for secret in secrets if secret in text]
        assert not leaked, f"{log.name} contains {leaked}"
