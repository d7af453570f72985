"""Payment's calls: Account ("Payment Data") and the Payment System ("Trigger Payment")."""

from __future__ import annotations

from dataclasses import dataclass

from eventshop.platform.http import ServiceClient, url_path
from eventshop.platform.settings import Settings


@dataclass(frozen=True)
class PaymentData:
    status: str
    payment_token: str


class AccountClient:
    def __init__(self, settings: Settings) -> None:
        self.client = ServiceClient(settings, "payment", "account")

    async def payment_data(self, account_id: str) -> PaymentData:
        found = await self.client.get(url_path("internal", "accounts", account_id, "payment-data"))
        return PaymentData(status=str(found["status"]), payment_token=str(found["payment_token"]))
