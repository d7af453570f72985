"""Who may call what: the bearer token's principal (platform/identity.py) checked against the registry.

Anonymous calls and tokens this shop did not issue for this service get 401; a valid principal that may
not do this gets 403 (both with the usual error body).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from eventshop.contracts.registry import REQUESTS, display_name
from eventshop.platform.errors import Forbidden, Unauthorized
from eventshop.platform.identity import FRONTEND, OPERATOR, InvalidToken, Keyring, Principal

CUSTOMER_PATH_PARAMETERS = ("customer_id", "account_id")


def keyring_of(request: Request) -> Keyring:
    found: Keyring = request.app.state.keyring
    return found


def principal_of(request: Request) -> Principal | None:
    """The verified principal of this request (cached on it), None when it carries no token; 401 if invalid."""
    if hasattr(request.state, "principal"):
        found: Principal | None = request.state.principal
        return found
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    principal = None
    if token:
        try:
            principal = keyring_of(request).verify(token)
        except InvalidToken as exc:
            raise Unauthorized(f"the bearer token is not valid here: {exc}", code="invalid_token") from None
    request.state.principal = principal
    return principal


def authenticated(request: Request) -> Principal:
    principal = principal_of(request)
    if principal is None:
        raise Unauthorized("this endpoint needs a bearer token (see docs/api.md, Credentials)",
                           code="authentication_required")
    return principal


def require_customer(principal: Principal, customer_id: str) -> None:
    """403 unless the principal is this customer or the operator."""
    if not principal.acts_for(customer_id):
        raise Forbidden("this belongs to another customer", code="not_your_resource")


def require_operator(principal: Principal, what: str = "this endpoint") -> None:
    """403 unless the principal is the operator."""
    if principal.kind != OPERATOR:
        raise Forbidden(f"{what} is for the operator", code="operator_only")


def operator_only() -> Callable[[Request], Awaitable[Principal]]:
    """Dependency for operator endpoints (catalog and stock changes, stuck orders)."""

    async def check(request: Request) -> Principal:
        principal = authenticated(request)
        require_operator(principal)
        return principal

    return check


def services_or_operator(*services: str) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency: only these services (e.g. the frontend for sessions) or the operator."""

    async def check(request: Request) -> Principal:
        principal = authenticated(request)
        if principal.kind == OPERATOR or (principal.kind == "service" and principal.name in services):
            return principal
        names = ", ".join(display_name(s) for s in services)
        raise Forbidden(f"this endpoint is served only to {names} and the operator", code="caller_not_allowed")

    return check


def customer_of_path() -> Callable[[Request], Awaitable[Principal]]:
    """Dependency for `/…/{customer_id}` (or `{account_id}`) resources: the customer themself or the operator."""

    async def check(request: Request) -> Principal:
        principal = authenticated(request)
        customer_id = next(str(request.path_params[p]) for p in CUSTOMER_PATH_PARAMETERS if p in request.path_params)
        require_customer(principal, customer_id)
        return principal

    return check


def customer_or_operator() -> Callable[[Request], Awaitable[Principal]]:
    """Dependency for resources whose owner is known only once loaded: check with require_customer after."""

    async def check(request: Request) -> Principal:
        principal = authenticated(request)
        if principal.kind not in ("customer", OPERATOR):
            raise Forbidden("this endpoint is for customers and the operator", code="caller_not_allowed")
        return principal

    return check


# A route parameter: the customer (or operator) calling; check the resource's owner with require_customer.
CustomerOrOperator = Annotated[Principal, Depends(customer_or_operator())]


def callers_of_request(target: str, description: str) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency: only services the registry says make this request (e.g. Payment -> Account 'Payment Data')."""
    allowed = frozenset(r.source for r in REQUESTS if r.target == target and r.description == description)
    if not allowed:
        raise RuntimeError(f"no registry request {description!r} to {target}")

    async def check(request: Request) -> Principal:
        principal = authenticated(request)
        if principal.kind != "service" or principal.name not in allowed:
            names = ", ".join(sorted(display_name(a) for a in allowed))
            raise Forbidden(f"{description} is served only to {names}", code="caller_not_allowed")
        return principal

    return check


# The shopper's address, as the frontend (which calls on the shopper's behalf) saw it. Our own header rather
# than X-Forwarded-For, which uvicorn already applies to request.client for the proxies it trusts.
CLIENT_ADDRESS_HEADER = "X-Eventshop-Client-Address"


def client_address(request: Request) -> str:
    """Who is at the other end: the address the frontend passes on, else the peer as uvicorn sees it.

    Only the frontend's own token is believed, so a client cannot pick its own address to dodge a limit.
    """
    passed_on = request.headers.get(CLIENT_ADDRESS_HEADER, "").strip()
    if passed_on:
        try:
            principal = principal_of(request)
        except Unauthorized:
            principal = None
        if principal == Principal("service", FRONTEND):
            return passed_on[:64]
    return request.client.host if request.client else "unknown"
