"""Shopping Cart's calls: Product Catalog ("Product Data") and Order ("Create Order")."""

from __future__ import annotations

from typing import Any

from eventshop.platform.http import ServiceClient
from eventshop.platform.settings import Settings


class CatalogClient:
    def __init__(self, settings: Settings) -> None:
        self.client = ServiceClient(settings, "cart", "catalog")

    async def product(self, product_id: str) -> dict[str, Any]:
        """Name, SKU and current price; NotFound or DependencyUnavailable otherwise."""
        found: dict[str, Any] = await self.client.get(f"/products/{product_id}")
        return found


class OrderClient:
    def __init__(self, settings: Settings) -> None:
        self.client = ServiceClient(settings, "cart", "order")

    async def create_order(self, order: dict[str, Any]) -> dict[str, Any]:
        """Idempotent at Order by order id, so a checkout retried after a lost answer is safe."""
        created: dict[str, Any] = await self.client.send("POST", "/orders", json=order)
        return created
