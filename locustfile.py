"""The `eventshop bench` shopper flow for Locust's web UI: create a customer, add to cart, check out, wait.

    pip install locust
    locust -f locustfile.py --host http://127.0.0.1:8000     # the shop's port base (its frontend URL)

Stocking up takes the operator's key from the shop's data directory (EVENTSHOP_DATA_DIR, else
./eventshop-data); each user signs up and signs in, and sends its own customer token.

Each simulated user is one customer placing orders back to back (a closed loop, as `eventshop
bench --concurrency`). Locust has no broker subscription, so a user learns that its order is final
by reading it from Order every 0.5 s; that polling costs the Order service CPU, which is why
`eventshop bench` itself does not work this way. "checkout -> final" in Locust's statistics is the
time from the checkout request to the user seeing the order shipped or cancelled.
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
from locust import HttpUser, between, events, task

from eventshop.platform.identity import operator_headers
from eventshop.platform.settings import Settings

FINAL = ("shipped", "cancelled")
WAIT_FOR_FINAL_SECONDS = 60.0
PASSWORD = "locust-shopper-kettle-17"


def shop_settings(host: str) -> Settings:
    return Settings(port_base=urlsplit(host).port or 8000)


@events.test_start.add_listener
def stock_up(environment: Any, **_: Any) -> None:
    """Stock the first catalog products high enough that a long test does not sell out."""
    settings = shop_settings(environment.host or "http://127.0.0.1:8000")
    headers = operator_headers(settings, "inventory")
    products = httpx.get(f"{settings.url('catalog')}/products", params={"page_size": 5}).json()["items"]
    for product in products:
        httpx.put(f"{settings.url('inventory')}/stock/{product['id']}", headers=headers,
                  json={"sku": product["sku"], "available": 1_000_000}).raise_for_status()


class Shopper(HttpUser):
    wait_time = between(0, 0.1)

    def on_start(self) -> None:
        self.settings = shop_settings(self.host or "http://127.0.0.1:8000")
        found = self.client.get(f"{self.settings.url('catalog')}/products", params={"page_size": 5}).json()
        self.products = [p["id"] for p in found["items"]]
        email = f"locust-{uuid.uuid4().hex[:12]}@example.com"
        account = self.client.post(f"{self.settings.url('account')}/accounts", name="/accounts", json={
            "name": "Locust Shopper", "email": email, "password": PASSWORD, "payment_token": "tok_visa",
            "address": {"street": "Alexanderplatz 1", "city": "Berlin", "postcode": "10178", "country": "DE"},
        })
        self.customer, self.email = account.json()["id"], email
        self.sign_in()
        self.orders = 0

    def sign_in(self) -> None:
        """The customer's own token (15 minutes) authorizes the cart and the orders; signed in again on a 401."""
        session = self.client.post(f"{self.settings.url('account')}/sessions", name="/sessions",
                                   json={"email": self.email, "password": PASSWORD})
        self.client.headers["Authorization"] = f"Bearer {session.json()['token']}"

    @task
    def place_order(self) -> None:
        cart = f"{self.settings.url('cart')}/carts/{self.customer}"
        product = self.products[self.orders % len(self.products)]
        self.orders += 1
        added = self.client.post(f"{cart}/lines", name="/carts/[customer]/lines",
                                 json={"product_id": product, "quantity": 1})
        if added.status_code == 401:
            self.sign_in()
            return
        started = time.perf_counter()
        checkout = self.client.post(f"{cart}/checkout", name="/carts/[customer]/checkout", json={})
        if checkout.status_code != 201:
            return
        self.wait_until_final(checkout.json()["order_id"], started)

    def wait_until_final(self, order_id: str, started: float) -> None:
        status = None
        while time.perf_counter() - started < WAIT_FOR_FINAL_SECONDS:
            order = self.client.get(f"{self.settings.url('order')}/orders/{order_id}", name="/orders/[id]")
            status = order.json().get("status") if order.status_code == 200 else None
            if status in FINAL:
                break
            time.sleep(0.5)
        elapsed_ms = (time.perf_counter() - started) * 1000
        failure = None if status in FINAL else TimeoutError(f"order {order_id} still {status}")
        events.request.fire(request_type="saga", name="checkout -> final", response_time=elapsed_ms,
                            response_length=0, exception=failure, context={})
