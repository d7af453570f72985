"""Product Catalog's call to Inventory ("Check Inventory"), cached briefly and never fatal to a page."""

from __future__ import annotations

import logging
import time

from eventshop.platform.errors import DomainError
from eventshop.platform.http import ServiceClient
from eventshop.platform.settings import Settings

log = logging.getLogger(__name__)
CACHE_SECONDS = 3.0


class InventoryClient:
    def __init__(self, settings: Settings) -> None:
        self.client = ServiceClient(settings, "catalog", "inventory", timeout=1.0)
        self.cache: dict[str, tuple[float, int]] = {}

    async def available(self, product_ids: list[str]) -> dict[str, int | None]:
        """Units free to sell per product; None where Inventory could not tell us."""
        now = time.monotonic()
        fresh = {pid: hit[1] for pid in product_ids if (hit := self.cache.get(pid)) and now - hit[0] < CACHE_SECONDS}
        missing = [pid for pid in product_ids if pid not in fresh]
        if missing:
            try:
                levels = await self.client.get("/stock", params={"product_id": missing})
            except DomainError as exc:
                log.warning("availability unknown: %s", exc.message)
                return {pid: fresh.get(pid) for pid in product_ids}
            for level in levels:
                self.cache[level["product_id"]] = (now, int(level["available"]))
                fresh[level["product_id"]] = int(level["available"])
            for pid in missing:
                fresh.setdefault(pid, 0)  # Inventory answered and has no stock row: nothing to sell
        return {pid: fresh.get(pid) for pid in product_ids}

    async def aclose(self) -> None:
        await self.client.aclose()
