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
from pydantic import BaseModel, Field
from sqlalchemy import MetaData

from eventshop.contracts.registry import SERVICES, consumed_by, published_by
from eventshop.platform.apidocs import install_api_docs
from eventshop.platform.broker import ConsumerSpec, connect, consumer_specs, ensure_topology
from eventshop.platform.broker_auth import login_for
from eventshop.platform.consumers import ConsumerWorker, Handler
from eventshop.platform.db import Database, Incoming
from eventshop.platform.errors import ERROR_RESPONSES, install_error_handlers
from eventshop.platform.housekeeping import keep_pruning
from eventshop.platform.identity import load_keyring
from eventshop.platform.instrumentation import RequestInstruments
from eventshop.platform.migrations import upgrade
from eventshop.platform.outbox import OutboxRelay
from eventshop.platform.settings import Settings
from eventshop.platform.telemetry import CONSUMER_ACK_PENDING, CONSUMER_PENDING, LogContextMiddleware
from eventshop.platform.trace_routes import trace_router

log = logging.getLogger(__name__)

C = TypeVar("C")
WATCH_SECONDS = 0.5
STOP_HANDLERS_SECONDS = 10.0  # in-flight handlers get this long to commit and ack when the service stops
STOP_QUIET_SECONDS = 1.0  # a stop that waits longer for them says so
READY_BROKER_SECONDS = 1.0  # /health/ready answers within about this long even when the broker does not
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
    # Refreshed on each /metrics scrape (cheap queries for gauges of the service's own state).
    gauges: Sequence[Callable[[C], Awaitable[None]]] = ()
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
        # Only the running saga style's subscriptions: in orchestration the events still arrive on their
        # topics, but the consumers that would drive the saga are not there to act on them twice.
        self.specs: list[ConsumerSpec] = consumer_specs(service.name, settings.max_deliveries, settings.saga,
                                                           settings.ack_wait_seconds)
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.context: C | None = None
        self.relay: OutboxRelay | None = None
        self.workers: list[ConsumerWorker] = []
        self.worker_tasks: list[asyncio.Task[None]] = []
        self.other_tasks: list[asyncio.Task[None]] = []
        self.stopping = False
        self.reconnects = 0

    async def start(self) -> None:
        if not self.settings.nats_url:
            raise RuntimeError("no broker URL: set EVENTSHOP_NATS_URL (eventshop serve starts one if unset)")
        await upgrade(self.db, self.service.migrations)
        self.nc, self.js = await self._connect()
        self.context = await self.service.make_context(self.db, self.settings)
        self.relay = OutboxRelay(self.db, self.js, self.settings)
        self.other_tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        self._start_workers(self.js)
        self.other_tasks.append(asyncio.create_task(self._watch_connection(), name="broker-watch"))
        self.other_tasks.append(asyncio.create_task(keep_pruning(self.db, self.settings), name="housekeeping"))
        for job in self.service.background:
            self.other_tasks.append(asyncio.create_task(job(self.context), name=getattr(job, "__name__", "job")))
        log.info("%s started: %d consumers", self.service.name, len(self.workers))

    def _start_workers(self, js: JetStreamContext) -> None:
        for spec in self.specs:
            worker = ConsumerWorker(spec, js, self.db, self._bind(spec), self.settings)
            self.workers.append(worker)
            self.worker_tasks.append(asyncio.create_task(worker.run(), name=spec.durable))

    async def _watch_connection(self) -> None:
        """A closed connection is replaced: nats-py gives up for good on some server errors.

        Reconnects after a network failure happen inside the client; but an `-ERR` such as
        'Maximum Payload Violation' (a publish whose headers and data exceed max_payload) closes the
        connection without a reconnect, and every consumer on it would stop for ever.
        """
        while not self.stopping:
            await asyncio.sleep(WATCH_SECONDS)
            if self.nc is not None and self.nc.is_closed and not self.stopping:
                await self._reconnect()

    async def _connect(self) -> tuple[NATS, JetStreamContext]:
        """This service's own broker identity, and its consumers set up (the streams are the operator's:
        `eventshop setup-broker`, which `up` runs)."""
        assert self.settings.nats_url
        login = login_for(self.settings, self.service.name)
        nc = await connect(self.settings.nats_url, f"eventshop-{self.service.name}", login=login)
        try:
            js = nc.jetstream(timeout=5.0)
            await ensure_topology(js, self.specs, self.settings.stream_replicas, manage_streams=False)
        except BaseException:
            with contextlib.suppress(Exception):
                await nc.close()
            raise
        return nc, js

    async def _reconnect(self) -> None:
        assert self.nc is not None and self.settings.nats_url
        log.warning("%s: broker connection closed (%s); connecting again", self.service.name, self.nc.last_error)
        workers, tasks = self.workers, self.worker_tasks
        self.workers, self.worker_tasks = [], []
        for worker in workers:
            worker.stop()
        if tasks:  # in-flight deliveries finish; their acks are lost, the server redelivers them
            _, pending = await asyncio.wait(tasks, timeout=10)
            for task in pending:
                task.cancel()
        delay = self.settings.retry_base_seconds
        while not self.stopping:
            try:
                nc, js = await self._connect()
                break
            except Exception as exc:
                log.warning("%s: broker not reachable again yet (%s); retrying in %.1fs", self.service.name, exc,
                            delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.retry_max_seconds)
        else:
            return
        self.nc, self.js = nc, js
        if self.relay is not None:
            self.relay.js = js
        self._start_workers(js)
        self.reconnects += 1
        log.warning("%s: connected to the broker again; %d consumers restarted", self.service.name, len(self.workers))

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
        self.stopping = True
        for worker in self.workers:
            worker.stop()
        if self.worker_tasks:
            _, busy = await asyncio.wait(self.worker_tasks, timeout=STOP_QUIET_SECONDS)
            if busy:  # said once, so whoever waits for the stop knows why it takes long
                in_flight = sum(len(worker.tasks) for worker in self.workers)
                log.warning("%s stopping: finishing %d messages", self.service.name, in_flight)
                await asyncio.wait(busy, timeout=STOP_HANDLERS_SECONDS - STOP_QUIET_SECONDS)
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

    async def refresh_gauges(self) -> None:
        if self.context is None:
            return
        for refresh in self.service.gauges:
            try:
                await refresh(self.context)
            except Exception as exc:  # a busy database must not fail the scrape of every other metric
                log.warning("%s: gauge %s not refreshed: %s", self.service.name, getattr(refresh, "__name__", "?"), exc)

    async def refresh_consumer_gauges(self) -> None:
        """The lag of this service's durable consumers, as the broker counts it (bounded like readiness)."""
        js = self.js
        if js is None or self.nc is None or not self.nc.is_connected:
            return
        try:
            async with asyncio.timeout(READY_BROKER_SECONDS):
                infos = await asyncio.gather(*(js.consumer_info(spec.stream, spec.durable) for spec in self.specs))
        except Exception as exc:  # the scrape still answers with every other metric
            log.warning("%s: consumer lag not refreshed: %s", self.service.name, type(exc).__name__)
            return
        for spec, info in zip(self.specs, infos, strict=True):
            CONSUMER_PENDING.labels(self.service.name, spec.durable).set(info.num_pending or 0)
            CONSUMER_ACK_PENDING.labels(self.service.name, spec.durable).set(info.num_ack_pending or 0)

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            await self.db.ping()
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
        checks["broker"] = "ok" if self.nc and self.nc.is_connected else "unavailable"
        if self.js and checks["broker"] == "ok":
            js = self.js
            try:
                # Asked together and bounded: a frozen broker makes the answer "not ready", not a hung check.
                async with asyncio.timeout(READY_BROKER_SECONDS):
                    await asyncio.gather(*(js.consumer_info(spec.stream, spec.durable) for spec in self.specs))
                checks["consumers"] = "ok"
            except TimeoutError:
                checks["consumers"] = f"unknown: the broker did not answer within {READY_BROKER_SECONDS:g}s"
            except Exception as exc:
                checks["consumers"] = f"missing: {type(exc).__name__}"
        if self.relay:
            checks["outbox"] = await self.relay.backlog()
        return checks

    def app(self) -> FastAPI:
        """The service's ASGI app; MissingKeys (a configuration error) when it has no HTTP identity."""
        runtime = self
        keyring = load_keyring(self.settings, self.service.name)

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
            responses=ERROR_RESPONSES,
            docs_url=None,
            redoc_url=None,
        )
        app.state.keyring = keyring
        install_api_docs(app)
        install_error_handlers(app)
        app.add_middleware(RequestInstruments, service=self.service.name)
        app.add_middleware(LogContextMiddleware)  # outside: the request's span continues the caller's traceparent
        app.include_router(self.service.router)
        app.include_router(health_router(self))
        app.include_router(trace_router(self.service.name))
        return app


class Readiness(BaseModel):
    status: str = Field(description="ok | unavailable")
    service: str
    checks: dict[str, Any] = Field(description="database, broker, consumers: ok or why not; outbox: its backlog")


def health_router(runtime: ServiceRuntime[Any]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok", "service": runtime.service.name}

    @router.get("/health/ready", responses={200: {"model": Readiness}, 503: {"model": Readiness,
                "description": "Not ready: what is unavailable"}})
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
        await runtime.refresh_consumer_gauges()
        await runtime.refresh_gauges()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
