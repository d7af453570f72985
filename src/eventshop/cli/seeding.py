"""First-start demo data for `eventshop up`: the demo catalog with stock, and a demo customer."""

from __future__ import annotations

from dataclasses import asdict

import httpx

from eventshop.platform.identity import operator_headers
from eventshop.platform.settings import Settings
from eventshop.services.catalog.demo import DEMO_PRODUCTS

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "coffee-and-kettles"


def seed(settings: Settings) -> int:
    """Create the demo products, their stock and the demo customer; safe to repeat."""
    created = 0
    catalog, inventory = operator_headers(settings, "catalog"), operator_headers(settings, "inventory")
    with httpx.Client(timeout=10) as http:
        for product in DEMO_PRODUCTS:
            body = {k: v for k, v in asdict(product).items() if k != "stock"}
            response = http.post(f"{settings.url('catalog')}/products", json=body, headers=catalog)
            if response.status_code == 201:
                created += 1
                product_id = str(response.json()["id"])
            elif response.status_code == 409:  # seeded before
                product_id = _categorised(http, settings, product.sku, product.category, catalog)
            else:
                response.raise_for_status()
            stock = http.put(f"{settings.url('inventory')}/stock/{product_id}",
                             json={"sku": product.sku, "available": product.stock}, headers=inventory)
            stock.raise_for_status()
        customer = http.post(f"{settings.url('account')}/accounts", json={
            "name": "Demo Customer", "email": DEMO_EMAIL, "password": DEMO_PASSWORD, "payment_token": "tok_visa",
            "address": {"street": "Alexanderplatz 1", "city": "Berlin", "postcode": "10178", "country": "DE"},
        })
        if customer.status_code not in (201, 409):
            customer.raise_for_status()
    return created


def _categorised(http: httpx.Client, settings: Settings, sku: str, category: str, headers: dict[str, str]) -> str:
    """The id of the product seeded before; one seeded before products had categories gets the demo's category."""
    found = http.get(f"{settings.url('catalog')}/products", params={"q": sku, "page_size": 100}).json()
    existing = next(p for p in found["items"] if p["sku"] == sku)
    if existing.get("category") is None:
        body = {key: existing[key] for key in ("sku", "name", "description", "price", "currency")}
        http.put(f"{settings.url('catalog')}/products/{existing['id']}", json={**body, "category": category},
                 headers=headers).raise_for_status()
    return str(existing["id"])
