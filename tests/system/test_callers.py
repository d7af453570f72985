"""Callers prove who they are: customer data only with the customer's own token (from sign-in), service-only
requests only from the services the registry names, nothing for anonymous or forged tokens."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.shop import Shop
from tests.system.shopping import PASSWORD, add_product, final_order, order, sign_up

pytestmark = pytest.mark.system


def sign_in(shop: Shop, customer: dict[str, Any]) -> dict[str, str]:
    with shop.http("account") as account:
        opened = account.post("/sessions", json={"email": customer["email"], "password": PASSWORD})
    assert opened.status_code == 200, opened.text
    return {"Authorization": f"Bearer {opened.json()['token']}"}


def customer_resources(customer_id: str, order_id: str) -> list[tuple[str, str, str]]:
    return [("account", "GET", f"/accounts/{customer_id}"), ("cart", "GET", f"/carts/{customer_id}"),
            ("order", "GET", f"/orders?customer_id={customer_id}"), ("order", "GET", f"/orders/{order_id}"),
            ("payment", "GET", f"/payments/{order_id}"), ("shipping", "GET", f"/shipments/{order_id}"),
            ("notification", "GET", f"/notifications?customer_id={customer_id}")]


def call(shop: Shop, service: str, method: str, path: str, headers: dict[str, str] | None = None,
         json: Any = None) -> httpx.Response:
    with shop.http(service) as http:
        return http.request(method, path, headers=headers, json=json)


def test_customer_data_is_reachable_only_with_the_customers_own_token(shop: Shop) -> None:
    ada, grace = sign_up(shop), sign_up(shop)
    product = add_product(shop, stock=5)
    order_id = order(shop, ada["id"], [(product["id"], 1)])
    final_order(shop, order_id)
    own, other = sign_in(shop, ada), sign_in(shop, grace)

    for service, method, path in customer_resources(ada["id"], order_id):
        assert call(shop, service, method, path, own).status_code == 200, (service, path)
        anonymous = call(shop, service, method, path)
        assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "authentication_required"
        wrong = call(shop, service, method, path, other)
        assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "not_your_resource", (service, path)
        assert call(shop, service, method, path, shop.as_operator(service)).status_code == 200

    # The takeover of the finding: another customer cannot change the password, deactivate or check out.
    assert call(shop, "account", "PATCH", f"/accounts/{ada['id']}", other, {"password": "x" * 20}).status_code == 403
    assert call(shop, "account", "POST", f"/accounts/{ada['id']}/deactivate", other, {}).status_code == 403
    assert call(shop, "cart", "POST", f"/carts/{ada['id']}/checkout", other, {}).status_code == 403
    assert call(shop, "account", "GET", f"/accounts/{ada['id']}", own).json()["status"] == "active"


def test_forged_expired_and_misaddressed_tokens_are_refused(shop: Shop) -> None:
    ada = sign_up(shop)
    now = int(time.time())
    claims = {"iss": "account", "sub": ada["id"], "aud": "customers", "kind": "customer", "iat": now,
              "exp": now + 600}
    forged = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA")
    hmac = jwt.encode(claims, "the-old-shared-internal-dev-token-value", algorithm="HS256")
    payment_token = shop.as_operator("payment")  # the operator's token, addressed to Payment
    for headers in ({"Authorization": f"Bearer {forged}"}, {"Authorization": f"Bearer {hmac}"}, payment_token,
                    {"Authorization": "Bearer eventshop-internal-dev-token", "X-Eventshop-Caller": "operator"}):
        refused = call(shop, "account", "GET", f"/accounts/{ada['id']}", headers)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_token", headers


def test_service_only_requests_are_served_only_to_the_services_the_registry_names(shop: Shop) -> None:
    ada = sign_up(shop)
    own = sign_in(shop, ada)
    payment_data = f"/internal/accounts/{ada['id']}/payment-data"

    assert call(shop, "account", "GET", payment_data, shop.as_service("payment", "account")).status_code == 200
    for headers in (own, shop.as_service("shipping", "account"), shop.as_operator("account"), {}):
        assert call(shop, "account", "GET", payment_data, headers).status_code in (401, 403), headers
    new_order = {"order_id": "forged-1", "cart_id": "c", "customer_id": ada["id"], "total": 100, "currency": "EUR",
                 "lines": [{"product_id": "p", "sku": "P", "quantity": 1, "unit_price": 100}]}
    assert call(shop, "order", "POST", "/orders", own, new_order).status_code == 403  # only Cart creates orders
    assert call(shop, "order", "GET", "/orders/forged-1", shop.as_operator("order")).status_code == 404
