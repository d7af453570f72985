"""The frontend's calls to the services; the one place where a service that is down becomes a marker."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable
from typing import Any

import httpx

from eventshop.contracts.registry import display_name
from eventshop.platform.errors import DomainError, NotFound
from eventshop.platform.http import Answer, NotConnected, ServiceClient, TransportFailed, url_path
from eventshop.platform.settings import Settings

SERVICES = ("catalog", "cart", "order", "account")
PAGE_TIMEOUT_SECONDS = 3.0
FALLBACK_CARDS = [
    {"token": "tok_visa", "label": "Visa ending 4242 (succeeds)"},
    {"token": "tok_mastercard", "label": "Mastercard ending 4444 (succeeds)"},
    {"token": "tok_declined", "label": "Visa ending 0002 (declined)"},
    {"token": "tok_insufficient_funds", "label": "Visa ending 9995 (insufficient funds)"},
    {"token": "tok_expired", "label": "Visa ending 0069 (expired)"},
]
# Answers only after the sandbox's 30-second delay: not a card to offer a shopper.
HIDDEN_CARDS = {"tok_timeout"}


class Unavailable(Exception):
    """A service did not answer (or could not do its part); the page says so and renders the rest."""

    def __init__(self, service: str, message: str | None = None) -> None:
        super().__init__(message or f"{display_name(service)} is unavailable right now.")
        self.service = service
        self.explained = message is not None


class Backend:
    """One registry-checked client per service the frontend calls: Order (seed), Catalog, Cart, Account.

    Calls carry the frontend's own token; a copy made `for_customer` carries the signed-in customer's token
    instead (from Account, see sessions.py), which is what authorizes the customer's account, cart and orders.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.customer_token: str | None = None
        self.clients = {name: ServiceClient(settings, "frontend", name, timeout=PAGE_TIMEOUT_SECONDS)
                        for name in SERVICES}
        self.external = httpx.AsyncClient(timeout=httpx.Timeout(1.5, connect=1.0))

    def for_customer(self, token: str | None) -> Backend:
        view = copy.copy(self)
        view.customer_token = token
        return view

    async def get(self, service: str, path: str, params: dict[str, Any] | None = None) -> Any:
        return await self._call(service, "GET", path, params=params, attempts=2)

    async def send(self, service: str, method: str, path: str, json: Any = None,
                   headers: dict[str, str] | None = None) -> Any:
        """A write is tried once: repeating it is only safe where the callee dedups."""
        return await self._call(service, method, path, json=json, headers=headers, attempts=1)

    async def optional(self, call: Awaitable[Any], unavailable: list[str]) -> Any:
        """Await a call; when its service is down, note why for the page and return None."""
        try:
            return await call
        except Unavailable as exc:
            unavailable.append(str(exc))
            return None

    async def _call(self, service: str, method: str, path: str, *, params: dict[str, Any] | None = None,
                    json: Any = None, headers: dict[str, str] | None = None, attempts: int) -> Any:
        client = self.clients[service]
        if self.customer_token:
            headers = {"Authorization": f"Bearer {self.customer_token}", **(headers or {})}
        for attempt in range(1, attempts + 1):
            try:
                answer = await client.request(method, path, params=params, json=json, headers=headers)
            except NotConnected:
                # A restarting service refuses a connection for a moment; a read that timed out is not retried,
                # so a hanging service costs a page one timeout, not several.
                if attempt < attempts:
                    await asyncio.sleep(0.1)
                    continue
                raise Unavailable(service) from None
            except TransportFailed:
                raise Unavailable(service) from None
            return _result(service, answer)
        raise Unavailable(service)

    async def test_cards(self) -> list[dict[str, str]]:
        """The Payment System sandbox's test cards, or the built-in list when it does not answer."""
        try:
            response = await self.external.get(f"{self.settings.url('payment-system')}/v1/test-tokens")
            response.raise_for_status()
            cards = [{"token": str(c["token"]), "label": str(c.get("label") or c["token"])}
                     for c in response.json() if c["token"] not in HIDDEN_CARDS]
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return FALLBACK_CARDS
        return cards or FALLBACK_CARDS

    async def image(self, product_id: str) -> bytes | None:
        try:
            answer = await self.clients["catalog"].request("GET", url_path("products", product_id, "image.svg"))
        except (NotConnected, TransportFailed):
            return None
        return answer.body if answer.status == 200 else None

    async def answering(self) -> dict[str, bool]:
        """Which services answer their liveness probe right now."""

        async def live(client: ServiceClient) -> bool:
            try:
                return (await client.request("GET", "/health/live", timeout=1.0)).status == 200
            except (NotConnected, TransportFailed):
                return False

        results = await asyncio.gather(*(live(client) for client in self.clients.values()))
        return dict(zip(self.clients, results, strict=True))

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()
        await self.external.aclose()


def _result(service: str, answer: Answer) -> Any:
    if answer.status < 400:
        return answer.json() if answer.body else None
    try:
        error = answer.json()["error"]
        code, message, details = str(error["code"]), str(error["message"]), error.get("details")
    except (ValueError, KeyError, TypeError, AttributeError):
        code, message, details = f"http_{answer.status}", "", None
    if answer.status >= 500:
        # A 503 with a message means the service answered but could not do its part (say, Order is down
        # at checkout); its message says more than "unavailable".
        raise Unavailable(service, message if code == "dependency_unavailable" and message else None)
    failure = (NotFound if answer.status == 404 else DomainError)(message or code, code=code, details=details)
    failure.status = answer.status
    raise failure
