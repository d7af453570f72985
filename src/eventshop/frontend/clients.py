"""The frontend's view of the services: HTTP only, and a service that is down becomes a message, not an error."""

from __future__ import annotations

from typing import Any

import httpx

from eventshop.contracts.registry import display_name
from eventshop.platform.errors import DependencyUnavailable
from eventshop.platform.http import ServiceClient
from eventshop.platform.settings import Settings

FALLBACK_CARDS = [
    {"token": "tok_visa", "label": "Visa ending 4242 (succeeds)"},
    {"token": "tok_mastercard", "label": "Mastercard ending 4444 (succeeds)"},
    {"token": "tok_declined", "label": "Visa ending 0002 (declined)"},
    {"token": "tok_insufficient_funds", "label": "Visa ending 9995 (insufficient funds)"},
    {"token": "tok_expired", "label": "Visa ending 0069 (expired)"},
]


class Unavailable(Exception):
    """A service did not answer; the page says so and renders the rest."""

    def __init__(self, service: str) -> None:
        super().__init__(f"{display_name(service)} is unavailable right now")
        self.service = service


class Backend:
    """One client per service the frontend calls: Order (seed) and Catalog, Cart, Account (additions)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clients = {name: ServiceClient(settings, "frontend", name, timeout=3.0)
                        for name in ("order", "catalog", "cart", "account")}

    async def get(self, service: str, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            return await self.clients[service].get(path, params)
        except DependencyUnavailable:
            raise Unavailable(service) from None

    async def send(self, service: str, method: str, path: str, json: Any = None) -> Any:
        try:
            return await self.clients[service].send(method, path, json=json)
        except DependencyUnavailable:
            raise Unavailable(service) from None

    async def test_cards(self) -> list[dict[str, str]]:
        try:
            async with httpx.AsyncClient(timeout=1.5) as http:
                response = await http.get(f"{self.settings.url('payment-system')}/v1/test-tokens")
                cards: list[dict[str, str]] = response.json()
                return [c for c in cards if c["token"] != "tok_timeout"] or FALLBACK_CARDS
        except (httpx.HTTPError, ValueError, KeyError):
            return FALLBACK_CARDS

    async def image(self, product_id: str) -> bytes | None:
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                response = await http.get(f"{self.settings.url('catalog')}/products/{product_id}/image.svg")
        except httpx.HTTPError:
            return None
        return response.content if response.status_code == 200 else None

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()
