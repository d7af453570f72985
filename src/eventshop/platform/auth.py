"""Service-to-service authorization: a shared bearer token plus the caller's name, checked against the registry."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import Request

from eventshop.contracts.registry import REQUESTS, display_name
from eventshop.platform.errors import Forbidden, Unauthorized
from eventshop.platform.http import CALLER_HEADER


def _token_ok(request: Request) -> bool:
    expected = request.app.state.context.settings.internal_token
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def internal_only() -> Callable[[Request], Awaitable[str]]:
    """Dependency for operator and service endpoints: any holder of the internal token."""

    async def check(request: Request) -> str:
        if not _token_ok(request):
            raise Unauthorized("this endpoint needs the internal token", code="internal_token_required")
        return request.headers.get(CALLER_HEADER, "operator")

    return check


def callers_of_request(target: str, description: str) -> Callable[[Request], Awaitable[str]]:
    """Dependency: only services the registry says make this request (e.g. Payment -> Account 'Payment Data')."""
    allowed = frozenset(r.source for r in REQUESTS if r.target == target and r.description == description)
    if not allowed:
        raise RuntimeError(f"no registry request {description!r} to {target}")

    async def check(request: Request) -> str:
        if not _token_ok(request):
            raise Unauthorized("this endpoint needs the internal token", code="internal_token_required")
        caller = request.headers.get(CALLER_HEADER, "")
        if caller not in allowed:
            names = ", ".join(sorted(display_name(a) for a in allowed))
            raise Forbidden(f"{description} is served only to {names}", code="caller_not_allowed")
        return caller

    return check


# The shopper's address, as the frontend (which calls on the shopper's behalf) saw it. Our own header rather
# than X-Forwarded-For, which uvicorn already applies to request.client for the proxies it trusts.
CLIENT_ADDRESS_HEADER = "X-Eventshop-Client-Address"


def client_address(request: Request) -> str:
    """Who is at the other end: the address an internal caller passes on, else the peer as uvicorn sees it.

    Only holders of the internal token are believed, so a client cannot pick its own address to dodge a limit.
    """
    passed_on = request.headers.get(CLIENT_ADDRESS_HEADER, "").strip()
    if passed_on and _token_ok(request):
        return passed_on[:64]
    return request.client.host if request.client else "unknown"
