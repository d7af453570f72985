"""Failure injection shared by the sandboxes: error rate, added latency and outage, set by env or admin API."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field


class FaultConfig(BaseModel):
    """What goes wrong on purpose. Read at start from EVENTSHOP_<NAME>_ERROR_RATE/_LATENCY_MS/_OUTAGE."""

    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    latency_ms: int = Field(default=0, ge=0, le=60_000)
    outage: bool = False

    @classmethod
    def from_env(cls, name: str) -> FaultConfig:
        prefix = f"EVENTSHOP_{name.upper().replace('-', '_')}_"
        return cls(
            error_rate=float(os.environ.get(prefix + "ERROR_RATE", "0") or 0),
            latency_ms=int(os.environ.get(prefix + "LATENCY_MS", "0") or 0),
            outage=os.environ.get(prefix + "OUTAGE", "").lower() in ("1", "true", "yes"),
        )

    def failure(self) -> tuple[int, str] | None:
        """The failure to answer with now, if any."""
        if self.outage:
            return 503, "outage"
        if self.error_rate and random.random() < self.error_rate:
            return random.choice((500, 503)), "injected_error"
        return None


def sandbox_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def install_faults(app: FastAPI, faults: FaultConfig) -> None:
    """Apply the faults to every API route; /admin and /health stay reachable."""
    app.state.faults = faults

    @app.middleware("http")
    async def inject(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        if path.startswith(("/admin", "/health")):
            return await call_next(request)
        current: FaultConfig = request.app.state.faults
        if current.latency_ms:
            await asyncio.sleep(current.latency_ms / 1000)
        failure = current.failure()
        if failure is not None:
            status, code = failure
            return sandbox_error(status, code, "failure injected by the sandbox")
        return await call_next(request)

    router = APIRouter(tags=["admin"])

    @router.get("/admin/faults")
    async def get_faults(request: Request) -> FaultConfig:
        config: FaultConfig = request.app.state.faults
        return config

    @router.put("/admin/faults")
    async def put_faults(request: Request, body: FaultConfig) -> FaultConfig:
        request.app.state.faults = body
        return body

    @router.get("/health")
    @router.get("/health/live")
    @router.get("/health/ready")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(router)
