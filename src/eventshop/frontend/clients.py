"""The frontend's calls to the services; the one place where a service that is down becomes a marker."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable
from typing import Any

import aiohttp

from eventshop.platform.errors import DomainError, NotFound
from eventshop.platform.http import Answer, NotConnected, ServiceClient, TransportFailed, url_path
from eventshop.platform.settings import Settings
from eventshop.platform.telemetry import current_log_context

log = logging.getLogger(__name__)

SERVICES = ("catalog", "cart", "order", "account")
# A page waits this long for a read. Behind a catalog page, Catalog asks Inventory (up to 2 s) and a busy machine
# adds its queueing: 3 s once reported a healthy but loaded Catalog as down. A service that hangs costs a page
# one such wait (a read that timed out is not retried).
READ_TIMEOUT_SECONDS = 10.0
# A write waits longer: at checkout Cart re-prices at Catalog (its reads retried for up to 10 s), then calls Order.
# Giving up earlier would tell a shopper "not placed" about an order that was.
WRITE_TIMEOUT_SECONDS = 20.0
# What a shopper misses when a service does not answer, in their words: never a service's name.
MISSING = {
    "catalog": "We cannot show the products just now.",
    "cart": "We cannot show your cart just now.",
    "order": "We cannot show your orders just now.",
    "account": "We cannot show your account details just now.",
}
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
    """A service did not answer (or could not do its part); the page says so and renders the rest.

    `str()` is for the shopper; `detail` (the service's own words, naming services) goes to the log only.
    """

    def __init__(self, service: str, detail: str = "") -> None:
        super().__init__(f"{MISSING.get(service, 'Part of the shop is not answering just now.')} "
                         "Please try again in a minute.")
        self.service = service
        self.detail = detail


class Backend:
    """One registry-checked client per service the frontend calls: Order (seed), Catalog, Cart, Account.

    Calls carry the frontend's own token; a copy made `for_customer` carries the signed-in customer's token
    instead (from Account, see sessions.py), which is what authorizes the customer's account, cart and orders.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.customer_token: str | None = None
        self.clients = {name: ServiceClient(settings, "frontend", name, timeout=WRITE_TIMEOUT_SECONDS)
                        for name in SERVICES}
        self.external = PublicEndpoints(aiohttp.ClientTimeout(total=1.5, sock_connect=1.0))

    def for_customer(self, token: str | None) -> Backend:
        view = copy.copy(self)
        view.customer_token = token
        return view

    async def get(self, service: str, path: str, params: dict[str, Any] | None = None) -> Any:
        return await self._reported(service, "GET", path,
                                    self._call(service, "GET", path, params=params, attempts=2))

    async def send(self, service: str, method: str, path: str, json: Any = None,
                   headers: dict[str, str] | None = None) -> Any:
        """A write is tried once: repeating it is only safe where the callee dedups."""
        return await self._reported(service, method, path,
                                    self._call(service, method, path, json=json, headers=headers, attempts=1))

    async def _reported(self, service: str, method: str, path: str, call: Awaitable[Any]) -> Any:
        """Await a call (a read within READ_TIMEOUT_SECONDS); a failure is logged as one warning line."""
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS if method == "GET" else None):
                return await call
        except TimeoutError:
            failure, raised = f"no answer within {READ_TIMEOUT_SECONDS:g} s", Unavailable(service)
        except Unavailable as exc:
            cause = exc.__context__  # the transport failure, when no answer came
            failure, raised = exc.detail or (str(cause) if cause else "no answer"), exc
        _report(service, method, path, failure)
        raise raised from None

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
            listed = await self.external.get_json(f"{self.settings.url('payment-system')}/v1/test-tokens")
            cards = [{"token": str(c["token"]), "label": str(c.get("label") or c["token"])}
                     for c in listed if c["token"] not in HIDDEN_CARDS]
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as exc:
            _report("payment-system", "GET", "/v1/test-tokens", f"{type(exc).__name__}: {exc}")
            return FALLBACK_CARDS
        return cards or FALLBACK_CARDS

    async def image(self, product_id: str) -> bytes | None:
        path = url_path("products", product_id, "image.svg")
        try:
            answer = await self.clients["catalog"].request("GET", path)
        except (NotConnected, TransportFailed) as exc:
            _report("catalog", "GET", path, str(exc))
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


class PublicEndpoints:
    """GETs from external systems' public endpoints (no key, no token) on one pooled aiohttp session, made on first
    use inside the event loop that uses it; every per-customer copy of the Backend shares it."""

    def __init__(self, timeout: aiohttp.ClientTimeout) -> None:
        self.timeout = timeout
        self.session: aiohttp.ClientSession | None = None

    async def get_json(self, url: str) -> Any:
        """The JSON body of a 2xx answer; aiohttp.ClientError (a non-2xx status included) or TimeoutError."""
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession(timeout=self.timeout, raise_for_status=True)
        async with self.session.get(url) as response:
            return await response.json()

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()


def _result(service: str, answer: Answer) -> Any:
    if answer.status < 400:
        return answer.json() if answer.body else None
    try:
        error = answer.json()["error"]
        code, message, details = str(error["code"]), str(error["message"]), error.get("details")
    except (ValueError, KeyError, TypeError, AttributeError):
        code, message, details = f"http_{answer.status}", "", None
    if answer.status >= 500:
        # A 503 dependency_unavailable means the service answered but could not do its part (say, Order is down
        # at checkout): the log gets its message, the shopper the same words as for any missing service.
        raise Unavailable(service, f"{answer.status} {code}: {message}")
    failure = (NotFound if answer.status == 404 else DomainError)(message or code, code=code, details=details)
    failure.status = answer.status
    raise failure


def _report(service: str, method: str, path: str, failure: str) -> None:
    """One warning line per failed backend call, with the correlation id the callee's log lines carry too."""
    correlation_id = current_log_context().get("correlation_id", "-")
    log.warning("backend call failed: service=%s %s %s: %s (correlation_id=%s)", service, method, path, failure,
                correlation_id)

