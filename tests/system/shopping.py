"""What a customer and an operator do, through the services' public APIs only."""

from __future__ import annotations

import uuid
from typing import Any

from tests.shop import Shop
from tests.waiting import until

FINAL = {"shipped", "cancelled"}
PASSWORD = "correct horse battery"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def add_product(shop: Shop, stock: int, price: int = 1999, name: str = "Espresso Cup") -> dict[str, Any]:
    sku = unique("SKU").upper()
    with shop.http("catalog") as catalog, shop.http("inventory") as inventory:
        created = catalog.post(
            "/products",
            json={"sku": sku, "name": name, "description": "A test product.", "price": price, "currency": "EUR"},
            headers=shop.as_operator("catalog"),
        )
        assert created.status_code == 201, created.text
        product: dict[str, Any] = created.json()
        stocked = inventory.put(f"/stock/{product['id']}", json={"sku": sku, "available": stock},
                                headers=shop.as_operator("inventory"))
        assert stocked.status_code == 200, stocked.text
    return product


def sign_up(
    shop: Shop, token: str = "tok_visa", postcode: str = "10115", password: str = PASSWORD
) -> dict[str, Any]:
    with shop.http("account") as account:
        response = account.post(
            "/accounts",
            json={
                "name": "Ada Lovelace",
                "email": f"{unique('ada')}@example.com",
                "password": password,
                "address": {"street": "Invalidenstr. 1", "city": "Berlin", "postcode": postcode, "country": "DE"},
                "payment_token": token,
            },
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


def order(shop: Shop, customer_id: str, lines: list[tuple[str, int]]) -> str:
    """Fill the cart and check out; returns the order id."""
    with shop.http("cart") as cart:
        cart.headers.update(shop.as_customer(customer_id))
        for product_id, quantity in lines:
            added = cart.post(f"/carts/{customer_id}/lines", json={"product_id": product_id, "quantity": quantity})
            assert added.status_code in (200, 201), added.text
        checkout = cart.post(f"/carts/{customer_id}/checkout", json={})
        assert checkout.status_code == 201, checkout.text
        return str(checkout.json()["order_id"])


def final_order(shop: Shop, order_id: str, timeout: float = 60) -> dict[str, Any]:
    with shop.http("order") as orders:
        orders.headers.update(shop.as_operator("order"))

        def final() -> dict[str, Any] | None:
            response = orders.get(f"/orders/{order_id}")
            found: dict[str, Any] = response.json() if response.status_code == 200 else {}
            return found if found.get("status") in FINAL else None

        return dict(until(final, timeout, f"order {order_id} to be final"))


def settled(shop: Shop, check: Any, timeout: float = 30, message: str = "condition") -> Any:
    """Poll a zero-argument function until it returns something truthy."""
    return until(check, timeout, message)


def stock_of(shop: Shop, product_id: str) -> dict[str, Any]:
    with shop.http("inventory") as inventory:
        [level] = inventory.get("/stock", params={"product_id": product_id}).json()
        return dict(level)


def ledger_for(shop: Shop, order_id: str) -> list[dict[str, Any]]:
    """The Payment System's money movements for one order (reference = order id)."""
    with shop.http("payment-system") as provider:
        entries = provider.get("/v1/ledger").json()
    movements = entries["entries"] if isinstance(entries, dict) else entries
    return [m for m in movements if m.get("reference") == order_id]


def subjects(shop: Shop, email: str) -> list[str]:
    return [str(m["subject"]) for m in emails_to(shop, email)]


def all_mentioned(found: list[str], words: list[str]) -> list[str] | None:
    """`found` when together its lines mention every word, for polling with `settled`."""
    lowered = " | ".join(found).lower()
    return found if all(word in lowered for word in words) else None


def emails_to(shop: Shop, address: str) -> list[dict[str, Any]]:
    with shop.http("mail") as mail:
        response = mail.get("/api/messages", params={"to": address})
        body = response.json()
        return list(body["items"] if isinstance(body, dict) else body)
