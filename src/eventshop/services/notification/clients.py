"""Notification's call to Account ("Email for Account")."""

from __future__ import annotations

from dataclasses import dataclass

from eventshop.platform.http import ServiceClient, url_path
from eventshop.platform.settings import Settings


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    status: str = "active"
    revision: int = 0  # the account's revision this was read at; 0 when Account does not say


class AccountClient:
    def __init__(self, settings: Settings) -> None:
        self.client = ServiceClient(settings, "notification", "account")

    async def contact(self, account_id: str) -> Contact:
        found = await self.client.get(url_path("internal", "accounts", account_id, "contact"))
        return Contact(name=str(found["name"]), email=str(found["email"]), status=str(found.get("status", "active")),
                       revision=int(found.get("revision", 0)))
