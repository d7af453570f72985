"""Turns a service declaration into a running process: API, consumers, outbox relay, health, metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import MetaData

from eventshop.contracts.registry import SERVICES, consumed_by, published_by
from eventshop.platform.broker import ConsumerSpec, connect, consumer_specs, ensure_topology
from eventshop.platform.broker_auth import login_for
from eventshop.platform.consumers import ConsumerWorker, Handler
from eventshop.platform.db import Database, Incoming
from eventshop.platform.errors import install_error_handlers
from eventshop.platform.migrations import upgrade
from eventshop.platform.outbox import OutboxRelay
from eventshop.platform.settings import Settings
from eventshop.platform.telemetry import LogContextMiddleware

log = logging.getLogger(__name__)

C = TypeVar("C")
ContextHandler = Callable[[C, Incoming[Any]], Awaitable[None]]


@dataclass
class Service(Generic[C]):
    """What a service is: its name in the registry, tables, API, handlers and context."""

    name: str
    metadata: MetaData
    migrations: Path
    router: APIRouter
    make_context: Callable[[Database, Settings], Awaitable[C]]
    handlers: Mapping[str, ContextHandler[C]] = field(default_factory=dict)
    background: Sequence[Callable[[C], Coroutine[Any, Any, None]]] = ()
    close_context: Callable[[C], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        consumed = {e for events in consumed_by(self.name).values() for e in events}
        if set(self.handlers) != consumed:
            raise RuntimeError(
                f"{self.name} handlers {sorted(self.handlers)} differ from its subscriptions {sorted(consumed)}"
            )


async def context_of(request: Request) -> Any:
    """FastAPI dependency: the running service's context object (async: a plain def would run on a thread)."""
    return request.app.state.context


class ServiceRuntime(Generic[C]):
    """Owns the resources of one service process and starts and stops them in order."""

    def __init__(self, service: Service[C], settings: Settings) -> None:
        self.service = service
        self.settings = settings
        self.db = Database(settings.database_url(service.name), service.name, published_by(service.name))
        self.specs: list[ConsumerSpec] = consumer_specs(service.name, settings.max_deliveries)
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.context: C | None = None
        self.relay: OutboxRelay | None = None
        self.workers: list[ConsumerWorker] = []
        self.worker_tasks: list[asyncio.Task[None]] = []
        self.other_tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if not self.settings.nats_url:
            raise RuntimeError("no broker URL: set EVENTSHOP_NATS_URL (eventshop serve starts one if unset)")
        await upgrade(self.db, self.service.migrations)
        login = login_for(self.settings, self.service.name)
        self.nc = await connect(self.settings.nats_url, f"eventshop-{self.service.name}", login=login)
        self.js = self.nc.jetstream(timeout=5.0)
        # Its own consumers only: streams are the operator's (`eventshop setup-broker`, done by `up`).
        await ensure_topology(self.js, self.specs, self.settings.stream_replicas, manage_streams=False)
        self.context = await self.service.make_context(self.db, self.settings)
        self.relay = OutboxRelay(self.db, self.js, self.settings)
        self.other_tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        for spec in self.specs:
            worker = ConsumerWorker(spec, self.js, self.db, self._bind(spec), self.settings)
            self.workers.append(worker)
            self.worker_tasks.append(asyncio.create_task(worker.run(), name=spec.durable))
        for job in self.service.background:
            self.other_tasks.append(asyncio.create_task(job(self.context), name=getattr(job, "__name__", "job")))
        log.info("%s started: %d consumers", self.service.name, len(self.workers))

    def _bind(self, spec: ConsumerSpec) -> dict[str, Handler]:
        context = self.context

        def bound(handler: ContextHandler[C]) -> Handler:
            async def call(incoming: Incoming[Any]) -> None:
                assert context is not None
                await handler(context, incoming)

            return call

        return {event: bound(self.service.handlers[event]) for event in spec.events}

    async def stop(self) -> None:
        """Stop fetching, let in-flight handlers finish, flush the relay, close connections."""
        for worker in self.workers:
            worker.stop()
        if self.worker_tasks:
            await asyncio.wait(self.worker_tasks, timeout=10)
        if self.relay:
            await self.relay.stop()
        tasks = self.worker_tasks + self.other_tasks
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.context is not None and self.service.close_context:
            await self.service.close_context(self.context)
        if self.nc and not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await self.nc.flush(timeout=2)  # acks of the last handled messages
            await self.nc.close()
        await self.db.dispose()
        log.info("%s stopped", self.service.name)

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            await self.db.ping()
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
        checks["broker"] = "ok" if self.nc and self.nc.is_connected else "unavailable"
        if self.js and checks["broker"] == "ok":
            try:
                for spec in self.specs:
                    await self.js.consumer_info(spec.stream, spec.durable, timeout=2)
                checks["consumers"] = "ok"
            except Exception as exc:
                checks["consumers"] = f"missing: {type(exc).__name__}"
        if self.relay:
            checks["outbox"] = await self.relay.backlog()
        return checks

    def app(self) -> FastAPI:
        runtime = self

        @contextlib.asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            await runtime.start()
            app.state.context = runtime.context
            try:
                yield
            finally:
                await runtime.stop()

        app = FastAPI(
            title=SERVICES[self.service.name].name,
            version="1",
            lifespan=lifespan,
        )
        install_error_handlers(app)
        app.add_middleware(LogContextMiddleware)
        app.include_router(self.service.router)
        app.include_router(health_router(self))
        return app


def health_router(runtime: ServiceRuntime[Any]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok", "service": runtime.service.name}

    @router.get("/health/ready")
    async def ready() -> JSONResponse:
        checks = await runtime.readiness()
        ok = all(v == "ok" for k, v in checks.items() if k != "outbox")
        return JSONResponse(
            status_code=200 if ok else 503,
            content={"status": "ok" if ok else "unavailable", "service": runtime.service.name, "checks": checks},
        )

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        if runtime.relay:
            await runtime.relay.refresh_gauges()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
