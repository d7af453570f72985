"""Calls to other services: declared in the registry, explicit timeouts, bounded retries on reads."""

from __future__ import annotations

import asyncio
import os
import random
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import quote

import httpx
import stamina

from eventshop.contracts.envelope import child_trace_parent
from eventshop.contracts.registry import display_name, requests_from
from eventshop.platform.errors import DependencyUnavailable, DomainError, NotFound
from eventshop.platform.settings import Settings
from eventshop.platform.telemetry import CORRELATION_HEADER, current_log_context

CALLER_HEADER = "X-Eventshop-Caller"


def url_path(*segments: object) -> str:
    """`/a/b/c` from its segments, each quoted whole: an id with `/`, `?` or a control character stays one segment."""
    return "".join("/" + quote(str(segment), safe="") for segment in segments)


class ServiceClient:
    """HTTP client from one service to another, allowed only for requests the registry declares."""

    def __init__(self, settings: Settings, caller: str, callee: str, *, timeout: float | None = None) -> None:
        if not any(r.target == callee for r in requests_from(caller)):
            raise RuntimeError(f"{caller} -> {callee} is not a declared request (see contracts/registry.py)")
        self.caller = caller
        self.callee = callee
        self.http = httpx.AsyncClient(
            base_url=settings.url(callee),
            timeout=httpx.Timeout(timeout or settings.http_timeout_seconds, connect=1.0),
            headers={
                CALLER_HEADER: caller,
                "Authorization": f"Bearer {settings.internal_token}",
            },
            event_hooks={"request": [pass_on_log_context]},
        )

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET is idempotent: retried a few times on connection errors, timeouts and 5xx."""
        try:
            async for attempt in stamina.retry_context(
                on=(httpx.TransportError, _ServerError), attempts=3, timeout=10.0, wait_initial=0.1
            ):
                with attempt:
                    response = await self.http.get(path, params=params)
                    if response.status_code >= 500:
                        raise _ServerError(response)
        except (httpx.TransportError, _ServerError) as exc:
            raise self._unavailable(exc) from exc
        return self._result(response)

    async def send(self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None) -> Any:
        """A write: tried once, since repeating it is only safe where the callee dedups."""
        try:
            response = await self.http.request(method, path, json=json, headers=headers)
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc
        if response.status_code >= 500:
            raise self._unavailable(_ServerError(response))
        return self._result(response)

    def _unavailable(self, exc: Exception) -> DependencyUnavailable:
        return DependencyUnavailable(
            f"{display_name(self.callee)} is unavailable ({type(exc).__name__})",
            details={"service": self.callee},
        )

    def _result(self, response: httpx.Response) -> Any:
        if response.status_code < 400:
            return response.json() if response.content else None
        details = None
        try:
            error = response.json()["error"]
            code, message, details = str(error["code"]), str(error["message"]), error.get("details")
        except (ValueError, KeyError, TypeError, AttributeError):
            code, message = f"http_{response.status_code}", response.text[:200]
        if response.status_code == 404:
            raise NotFound(message, code=code, details=details)
        failure = DomainError(message, code=code, details=details)
        failure.status = response.status_code
        raise failure

    async def aclose(self) -> None:
        await self.http.aclose()


async def pass_on_log_context(request: httpx.Request) -> None:
    """The callee's log lines carry the caller's correlation id and continue its trace."""
    context = current_log_context()
    if "correlation_id" in context:
        request.headers[CORRELATION_HEADER] = context["correlation_id"]
    if "traceparent" in context:
        request.headers["traceparent"] = child_trace_parent(context["traceparent"])


class _ServerError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.status_code} from {response.request.url}")
        self.response = response


class ExternalSystemError(Exception):
    """An external system refused a request for a reason retrying will not change (bad key, bad request, ...)."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    @classmethod
    def of(cls, response: httpx.Response) -> Self:
        """The error an answer carries as {"error": {"code", "message"}}, or its status and text."""
        try:
            error = response.json()["error"]
            return cls(str(error["code"]), str(error["message"]), response.status_code)
        except (ValueError, KeyError, TypeError):
            return cls(f"http_{response.status_code}", response.text[:200], response.status_code)


class ExternalSystemClient:
    """Base of an adapter to an external system: explicit timeouts, its key as a bearer token, bounded tries.

    `timeout` bounds each HTTP call; `attempts` bounds the tries of each operation; the key comes from
    the argument or the environment variable `api_key_env`.
    """

    api_key_env: ClassVar[str]

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 5.0,
        attempts: int = 3,
        retry_pause: float = 0.2,
    ) -> None:
        key = api_key or os.environ.get(self.api_key_env)
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            headers={"Authorization": f"Bearer {key}"} if key else {},
        )
        self.attempts = max(1, attempts)
        self.retry_pause = retry_pause

    async def pause(self, attempt: int) -> None:
        """Capped exponential backoff with jitter before retry number `attempt` (1, 2, ...)."""
        await asyncio.sleep(min(self.retry_pause * 2 ** (attempt - 1), 2.0) * random.uniform(0.8, 1.2))

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()
