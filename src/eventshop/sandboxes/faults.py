"""Failure injection shared by the sandboxes: error rate, added latency and outage, set by env at start or at
run time by the sandbox's operator (the admin API, which the operator console's fault switches call)."""

from __future__ import annotations

import asyncio
import os
import random
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from eventshop.platform.settings import env_key
from eventshop.sandboxes.errors import sandbox_error
from eventshop.sandboxes.operator import OperatorKey, bearer

ENV_FIELDS = {"ERROR_RATE": "error_rate", "LATENCY_MS": "latency_ms", "OUTAGE": "outage"}


class InvalidFaultConfig(ValueError):
    pass


class FaultConfig(BaseModel):
    """What goes wrong on purpose. Read at start from EVENTSHOP_<NAME>_ERROR_RATE/_LATENCY_MS/_OUTAGE."""

    error_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="share of API calls answered 500/503")
    latency_ms: int = Field(default=0, ge=0, le=120_000, description="added before every API answer")
    outage: bool = Field(default=False, description="every API call answers 503")

    @classmethod
    def from_env(cls, name: str) -> FaultConfig:
        """`name` is the sandbox, e.g. `payment-system`; unset variables mean no fault."""
        prefix = f"EVENTSHOP_{env_key(name)}_"
        values = {field: os.environ[prefix + suffix] for suffix, field in ENV_FIELDS.items()
                  if os.environ.get(prefix + suffix, "").strip()}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(f"{prefix}{_suffix(str(e['loc'][0]))}: {e['msg']}" for e in exc.errors())
            raise InvalidFaultConfig(problems) from None

    def failure(self) -> tuple[int, str] | None:
        """The failure to answer with now, if any."""
        if self.outage:
            return 503, "outage"
        if self.error_rate and random.random() < self.error_rate:
            return random.choice((500, 503)), "injected_error"
        return None


class FaultUpdate(BaseModel):
    error_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    latency_ms: int | None = Field(default=None, ge=0, le=120_000)
    outage: bool | None = None


def _suffix(field: str) -> str:
    return next((suffix for suffix, name in ENV_FIELDS.items() if name == field), field)


def current_faults(app: FastAPI) -> FaultConfig:
    faults: FaultConfig = app.state.faults
    return faults


class FaultInjection:
    """ASGI middleware: delays and fails requests under the API prefixes; everything else passes."""

    def __init__(self, app: ASGIApp, api_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.api_prefixes = api_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.api_prefixes):
            await self.app(scope, receive, send)
            return
        faults = current_faults(scope["app"])
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        failure = faults.failure()
        if failure is None:
            await self.app(scope, receive, send)
            return
        status, code = failure
        message = "the system is down (outage injected)" if code == "outage" else "failure injected by the sandbox"
        await sandbox_error(status, code, message)(scope, receive, send)


FAULT_SWITCHES = "changing faults at run time"
Authorization = Annotated[str | None, Header(include_in_schema=False)]
REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Without the sandbox's operator key, or with another (`operator_key_required`)"},
    403: {"description": "The sandbox was started without an operator key: the switches are off "
                         "(`fault_switches_disabled`)"},
}


def install_faults(app: FastAPI, faults: FaultConfig, api_prefixes: tuple[str, ...], operator: OperatorKey) -> None:
    """Apply `faults` to the API routes and serve /admin/faults: GET shows them to anyone, PUT and PATCH change
    them for the holder of the sandbox's operator key."""
    app.state.faults = faults
    app.add_middleware(FaultInjection, api_prefixes=api_prefixes)
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.get("/faults")
    async def get_faults(request: Request) -> FaultConfig:
        return current_faults(request.app)

    @router.put("/faults", response_model=FaultConfig, responses=REFUSALS)
    async def replace_faults(request: Request, body: FaultConfig,
                             authorization: Authorization = None) -> FaultConfig | JSONResponse:
        """Replace the whole configuration; fields left out go back to no fault."""
        if refused := operator.refusal(bearer(authorization), FAULT_SWITCHES, "fault_switches_disabled"):
            return sandbox_error(*refused)
        request.app.state.faults = body
        return body

    @router.patch("/faults", response_model=FaultConfig, responses=REFUSALS)
    async def change_faults(request: Request, body: FaultUpdate,
                            authorization: Authorization = None) -> FaultConfig | JSONResponse:
        """Change only the fields sent."""
        if refused := operator.refusal(bearer(authorization), FAULT_SWITCHES, "fault_switches_disabled"):
            return sandbox_error(*refused)
        changed = current_faults(request.app).model_copy(update=body.model_dump(exclude_none=True))
        request.app.state.faults = changed
        return changed

    app.include_router(router)
