"""Shipping's calls: Account ("Account Address"); the Logistics System adapter is logistics_system.py."""

from __future__ import annotations

from eventshop.platform.http import ServiceClient, url_path
from eventshop.platform.settings import Settings


class AccountClient:
    def __init__(self, settings: Settings) -> None:
        self.client = ServiceClient(settings, "shipping", "account")

    async def recipient(self, account_id: str) -> dict[str, str]:
        """The name and shipping address, in the Logistics System's recipient shape."""
        found = await self.client.get(url_path("internal", "accounts", account_id, "address"))
        return {"name": str(found["name"]), **{k: str(v) for k, v in found["address"].items()}}
