"""The logs: one order can be followed through every service; secrets and card data never appear."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from typing import Any

import pytest

from eventshop.contracts.registry import SERVICES
from tests.shop import Shop
from tests.system.shopping import add_product, final_order, order, settled, sign_up

pytestmark = pytest.mark.system


def test_no_password_payment_token_or_key_appears_in_any_log(shop: Shop) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    wrong_password = f"pw-{uuid.uuid4().hex}"
    paid = sign_up(shop, token="tok_visa", password=password)
    declined = sign_up(shop, token="tok_declined", password=password)
    with shop.http("account") as account:
        assert account.post("/sessions", json={"email": paid["email"], "password": wrong_password}).status_code == 401
        signed_in = account.post("/sessions", json={"email": paid["email"], "password": password})
        assert signed_in.status_code == 200
    product = add_product(shop, stock=5)
    assert final_order(shop, order(shop, paid["id"], [(product["id"], 1)]))["status"] == "shipped"
    assert final_order(shop, order(shop, declined["id"], [(product["id"], 1)]))["status"] == "cancelled"

    keys = [path.read_text().strip() for path in (shop.data_dir / "secrets" / "http").glob("*.key")]
    secrets = [password, wrong_password, "tok_visa", "tok_declined", signed_in.json()["token"],
               signed_in.json()["session_id"], *keys]
    secrets += [path.read_text().strip() for path in (shop.data_dir / "secrets" / "http").glob("console-*")]
    logs = sorted((shop.data_dir / "logs").glob("*.log"))
    # The eight services, the three sandboxes, the frontend; the console too once a test has started it.
    assert {log.stem for log in logs} >= {*SERVICES, "payment-system", "logistics-system", "mail", "frontend"}
    for log in logs:
        text = log.read_text(errors="replace")
        assert text or log.stem not in ("account", "payment"), f"{log.name} is empty: nothing was checked"
        leaked = [secret for secret in secrets if secret in text]
        assert not leaked, f"{log.name} contains {leaked}"


def test_one_order_can_be_followed_through_every_service_by_its_correlation_id(shop: Shop) -> None:
    customer = sign_up(shop, token="tok_visa")
    product = add_product(shop, stock=5)
    order_id = order(shop, customer["id"], [(product["id"], 1)])
    assert final_order(shop, order_id)["status"] == "shipped"

    def lines_of_the_order() -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for log in sorted((shop.data_dir / "logs").glob("*.log")):
            for text in log.read_text(errors="replace").splitlines():
                line = json.loads(text)  # every line of every process is one JSON object
                assert {"time", "level", "service", "logger", "message"} <= line.keys(), text
                if line.get("correlation_id") == order_id:
                    found[line["service"]].append(line)
        return found if {"order", "inventory", "payment", "shipping", "notification"} <= found.keys() else {}

    found = settled(shop, lines_of_the_order, message="every saga service has logged the order")
    handled = {line["event_type"] for lines in found.values() for line in lines if "handled" in line["message"]}
    assert {"ShoppingCartOrderedEvent", "InventoryProcessedEvent", "PaymentProcessedEvent",
            "ShippingProcessedEvent"} <= handled
    traces = {line["trace_id"] for lines in found.values() for line in lines}
    assert len(traces) == 1, f"the saga of one order is one trace, found {traces}"
