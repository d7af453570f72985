"""Shopping Cart's calls: Product Catalog ("Product Data"), Order ("Create Order"), Account ("Account Status")."""

from __future__ import annotations

from dataclasses import dataclass

from eventshop.contracts.values import OrderLine
from eventshop.platform.http import ServiceClient, url_path
from eventshop.platform.settings import Settings
from eventshop.services.cart.domain import Price


@dataclass(frozen=True)
class CatalogProduct:
    product_id: str
    sku: str
    name: str
    price: Price


@dataclass(frozen=True)
class OrderRequest:
    order_id: str
    cart_id: str
    customer_id: str
    lines: list[OrderLine]
    total: int
    currency: str


class CatalogClient:
    def __init__(self, settings: Settings) -> None:
        self.client = ServiceClient(settings, "cart", "catalog")

    async def product(self, product_id: str) -> CatalogProduct:
        """Name, SKU and current price; NotFound (product_not_found) or DependencyUnavailable otherwise."""
        # The cart needs name and price only: no stock look-up at Inventory on its behalf.
        found = await self.client.get(url_path("products", product_id), params={"availability": "false"})
        return CatalogProduct(
            product_id=str(found["id"]),
            sku=str(found["sku"]),
            name=str(found["name"]),
            price=Price(int(found["price"]), str(found["currency"])),
        )

    async def aclose(self) -> None:
        await self.client.aclose()


class OrderClient:
    def __init__(self, settings: Settings) -> None:
        self.client = ServiceClient(settings, "cart", "order")

    async def create_order(self, order: OrderRequest) -> None:
        """Idempotent at Order by order id, so a checkout retried after a lost answer is safe."""
        await self.client.send(
            "POST",
            "/orders",
            json={
                "order_id": order.order_id,
                "cart_id": order.cart_id,
                "customer_id": order.customer_id,
                "lines": [line.model_dump() for line in order.lines],
                "total": order.total,
                "currency": order.currency,
            },
        )

    async def aclose(self) -> None:
        await self.client.aclose()


class AccountClient:
    def __init__(self, settings: Settings) -> None:
        self.client = ServiceClient(settings, "cart", "account", timeout=1.0)

    async def status(self, customer_id: str) -> str:
        found = await self.client.get(url_path("internal", "accounts", customer_id, "status"))
        return str(found["status"])

    async def aclose(self) -> None:
        await self.client.aclose()
