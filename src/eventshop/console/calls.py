"""The console's calls as the operator: the services over HTTP with the operator's token, the broker with the
operator's login, each over one connection kept for the console's life. A part that does not answer becomes a
notice on the page, never an error page."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from eventshop.platform.broker import connect
from eventshop.platform.broker_auth import OPERATOR, login_for
from eventshop.platform.http import url_path
from eventshop.platform.identity import OPERATOR as OPERATOR_IDENTITY
from eventshop.platform.identity import Keyring, load_keyring, sandbox_operator_key
from eventshop.platform.settings import Settings
from eventshop.platform.shopstatus import Asking, broker_url

TIMEOUT_SECONDS = 5.0
BROKER_SECONDS = 5.0


class Unanswered(Exception):
    """A service or the broker did not answer, or refused: what the page says instead of that part."""


class OperatorCalls:
    """One HTTP client and one broker connection for the console's life; a token per service, minted with the
    operator's key."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keyring: Keyring = load_keyring(settings, OPERATOR_IDENTITY)  # MissingKeys: refuse to start
        self.client = httpx.AsyncClient(timeout=TIMEOUT_SECONDS)
        self.connection: NATS | None = None
        self.connecting = asyncio.Lock()

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.connection is not None:
            await self.connection.close()

    def headers(self, service: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keyring.mint(service)}"}

    async def get(self, service: str, *segments: object, timeout: float = TIMEOUT_SECONDS, **params: Any) -> Any:
        """The service's JSON answer, None for a 404; Unanswered when it is down or says no."""
        url = self.settings.url(service) + url_path(*segments)
        query = {key: value for key, value in params.items() if value is not None}
        try:
            response = await self.client.get(url, params=query, headers=self.headers(service), timeout=timeout)
        except httpx.TimeoutException:
            raise Unanswered(f"{service} did not answer within {timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise Unanswered(f"cannot reach {service} at {self.settings.url(service)}: {type(exc).__name__}") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise Unanswered(f"{service} answered {response.status_code}: {problem_of(response)}")
        return response.json()

    async def sandbox(self, sandbox: str, method: str, path: str, body: dict[str, Any] | None = None
                      ) -> httpx.Response:
        """A sandbox's answer, whatever its status, sent with the sandbox's operator key when the console has it;
        Unanswered when it cannot be reached."""
        key = sandbox_operator_key(self.settings, sandbox)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        url = self.settings.url(sandbox) + path
        try:
            return await self.client.request(method, url, json=body, headers=headers)
        except httpx.TimeoutException:
            raise Unanswered(f"{sandbox} did not answer within {TIMEOUT_SECONDS:g}s") from None
        except httpx.HTTPError as exc:
            raise Unanswered(f"cannot reach {sandbox} at {self.settings.url(sandbox)}: {type(exc).__name__}") from None

    async def jetstream(self) -> JetStreamContext:
        """JetStream as the operator over the console's one connection, made again once it is lost; the
        connection's errors as they are."""
        async with self.connecting:
            if self.connection is None or self.connection.is_closed:
                url = broker_url(self.settings)
                self.connection = await asyncio.wait_for(
                    connect(url, "eventshop-console", login=login_for(self.settings, OPERATOR), persistent=False),
                    timeout=BROKER_SECONDS)
            return self.connection.jetstream(timeout=BROKER_SECONDS)

    @contextlib.asynccontextmanager
    async def broker(self) -> AsyncIterator[JetStreamContext]:
        """JetStream as the operator, for one page or one action; Unanswered when the broker cannot be reached."""
        try:
            js = await self.jetstream()
        except Exception as exc:  # refused, unreachable, timed out: the page says which
            url = broker_url(self.settings)
            raise Unanswered(f"cannot reach the broker at {url}: {type(exc).__name__}: {exc}") from None
        yield js

    def asking(self) -> Asking:
        """What `shopstatus.survey` asks with: this client, this connection, these tokens."""
        return Asking(self.client, self.jetstream, self.headers)


def problem_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return str(body)[:200]
