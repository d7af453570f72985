"""Product Catalog's call to Inventory ("Check Inventory"): cached briefly, bounded in time, never fatal."""

from __future__ import annotations

import asyncio
import logging
import time

from eventshop.platform.errors import DomainError
from eventshop.platform.http import ServiceClient
from eventshop.platform.settings import Settings

log = logging.getLogger(__name__)

CACHE_SECONDS = 3.0
# A page waits at most this long for availability, retries included, then shows "unknown".
BUDGET_SECONDS = 1.0
# After a failure, pages skip Inventory for a while instead of each waiting out the budget.
PAUSE_AFTER_FAILURE_SECONDS = 5.0
# Product ids per stock call, so the query string stays short; the in-stock filter asks for every match.
IDS_PER_CALL = 100


class InventoryClient:
    def __init__(self, settings: Settings) -> None:
        self.client = ServiceClient(settings, "catalog", "inventory", timeout=BUDGET_SECONDS)
        self.cache: dict[str, tuple[float, int]] = {}
        self.paused_until = 0.0

    async def available(self, product_ids: list[str]) -> dict[str, int | None]:
        """Units free to sell per product; None where Inventory could not tell us."""
        now = time.monotonic()
        known = {pid: hit[1] for pid in product_ids if (hit := self.cache.get(pid)) and now - hit[0] < CACHE_SECONDS}
        missing = [pid for pid in product_ids if pid not in known]
        if missing and now >= self.paused_until:
            known.update(await self._fetch(missing, now))
        return {pid: known.get(pid) for pid in product_ids}

    async def _fetch(self, product_ids: list[str], now: float) -> dict[str, int]:
        try:
            async with asyncio.timeout(BUDGET_SECONDS):
                answers = await asyncio.gather(*(
                    self.client.get("/stock", params={"product_id": product_ids[start:start + IDS_PER_CALL]})
                    for start in range(0, len(product_ids), IDS_PER_CALL)))
        except (DomainError, TimeoutError) as exc:
            self.paused_until = now + PAUSE_AFTER_FAILURE_SECONDS
            log.warning("availability unknown: %s", getattr(exc, "message", "Inventory Service is too slow"))
            return {}
        found = dict.fromkeys(product_ids, 0)  # Inventory answered without a stock row: nothing to sell
        found.update({level["product_id"]: int(level["available"]) for levels in answers for level in levels})
        for product_id, available in found.items():
            self.cache[product_id] = (now, available)
        return found

    async def aclose(self) -> None:
        await self.client.aclose()
