"""The shop as it is now, for `eventshop status` and the operator console: each process's health, each
subscription's lag and redeliveries, the dead letters, the outboxes and the stuck orders.

Under `eventshop up` the processes are the ones its state file (`up.json`) names, with their pids; without it
(a console run on its own) every process the settings place is asked at its URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from eventshop.contracts.registry import SERVICES, TOPICS
from eventshop.platform.broker import DEAD_LETTER_STREAM, ConsumerSpec, connect, consumer_specs
from eventshop.platform.broker_auth import OPERATOR, login_for
from eventshop.platform.identity import MissingKeys, operator_headers
from eventshop.platform.probing import PROBE_SECONDS, ask_async, stopped
from eventshop.platform.settings import PORT_OFFSETS, Settings

STATE_FILE = "up.json"
STARTING_SECONDS = 120.0  # a young process with nothing listening yet is starting, not down
BROKER_SECONDS = 3.0  # for all the broker's answers together
READY_PATH = "/health/ready"  # services, the frontend and the console; sandboxes answer /health
WITH_READINESS = (*SERVICES, "frontend", "console")


def read_state(data_dir: Path) -> dict[str, Any] | None:
    """What the `eventshop up` of this data directory last wrote, None when there is none (or half of one)."""
    try:
        state: dict[str, Any] = json.loads((data_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    complete = isinstance(state, dict) and all(isinstance(state.get(key), int) for key in ("pid", "port_base"))
    return state if complete else None


def alive(pid: int) -> bool:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, 0)
        return True
    return False


def broker_url(settings: Settings) -> str:
    return settings.nats_url or f"nats://127.0.0.1:{settings.port('nats')}"


def running_state(settings: Settings) -> dict[str, Any] | None:
    """The state of a live `eventshop up` for the settings' data directory, else None."""
    state = read_state(settings.data_dir)
    return state if state is not None and alive(int(state["pid"])) else None


def unsupervised_entries(settings: Settings, leave_out: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every HTTP process the settings place, with no pid, but those left out (the sandboxes where real providers
    stand in for them). Not the broker (its figures say whether it answers) nor the console (the one asking)."""
    entries = []
    for name in PORT_OFFSETS:
        if name in ("smtp", "nats", "console", *leave_out):
            continue
        path = READY_PATH if name in WITH_READINESS else "/health"
        entries.append({"name": name, "pid": None, "port": settings.port(name), "supervised": False,
                        "health_url": f"{settings.url(name)}{path}"})
    return entries


@dataclass(frozen=True)
class Asking:
    """How one report asks: one HTTP client for every process, JetStream as the operator, the operator's token
    for a service. The console keeps one of each for its life; the CLI makes them for one report."""

    client: httpx.AsyncClient
    jetstream: Callable[[], Awaitable[JetStreamContext]]
    operator_headers: Callable[[str], dict[str, str]]


def gather(settings: Settings, state: dict[str, Any] | None) -> dict[str, Any]:
    """The report for one command: `survey` with a client and a broker connection of its own."""
    return asyncio.run(_gather_once(settings, state))


async def _gather_once(settings: Settings, state: dict[str, Any] | None) -> dict[str, Any]:
    connections: list[NATS] = []

    async def jetstream() -> JetStreamContext:
        nc = await connect(broker_url(settings), "eventshop-status", login=login_for(settings, OPERATOR),
                           persistent=False)
        connections.append(nc)
        return nc.jetstream(timeout=BROKER_SECONDS)

    try:
        async with httpx.AsyncClient() as client:
            return await survey(settings, state, Asking(client, jetstream, lambda s: operator_headers(settings, s)))
    finally:
        for nc in connections:
            await nc.close()


async def survey(settings: Settings, state: dict[str, Any] | None, asking: Asking,
                 leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every question asked at once: a frozen process costs one health-check timeout, not one each."""
    entries = state["processes"] if state else unsupervised_entries(settings, leave_out)
    urls = state["urls"] if state else {entry["name"]: settings.url(entry["name"]) for entry in entries}
    processes, broker, stuck = await asyncio.gather(
        asyncio.gather(*(process_report(entry, urls, asking.client) for entry in entries)),
        broker_report(settings, asking.jetstream),
        stuck_report(settings, asking))
    outbox = [{"service": p["name"], **p["outbox"]} for p in processes if p.get("outbox") is not None]
    header = {key: value for key, value in state.items() if key != "processes"} if state else {
        "pid": None, "data_dir": str(settings.data_dir)}
    return header | {
        "all_ready": all(p["state"] == "ready" for p in processes),
        "processes": list(processes), "outbox": outbox, **broker, "stuck_orders": stuck,
    }


async def process_report(entry: dict[str, Any], urls: dict[str, str], client: httpx.AsyncClient) -> dict[str, Any]:
    """State and reason of one process, from `up`'s record of it and its health check now."""
    pid: int | None = entry.get("pid")
    supervised = entry.get("supervised", True)
    alive_now = pid is not None and alive(pid)
    uptime = time.time() - entry["started_at"] if alive_now and entry.get("started_at") else None
    report: dict[str, Any] = {"name": entry["name"], "state": "ready", "reason": "", "pid": pid,
                              "port": entry.get("port"), "url": urls.get(entry["name"]), "uptime_seconds": uptime,
                              "restarts": entry.get("restarts", 0), "checks": {}, "outbox": None}
    if entry.get("state") == "not started":
        return report | {"state": "starting", "reason": "not started yet", "pid": None}
    if entry.get("state") == "restarting":
        return report | {"state": "restarting", "reason": "exited; `eventshop up` starts it again", "pid": None}
    if supervised and not alive_now:
        return report | {"state": "down", "reason": "not running", "pid": None}
    answer = await ask_async(entry.get("health_url"), entry.get("port"), client)
    report |= {"checks": answer.checks, "outbox": answer.checks.get("outbox")}
    if answer.ready:
        return report
    if answer.responded:
        return report | {"state": "not ready", "reason": answer.problem}
    if not supervised and not answer.listening:
        return report | {"state": "down", "reason": answer.problem}
    if not answer.listening and uptime is not None and uptime < STARTING_SECONDS:
        return report | {"state": "starting", "reason": answer.problem}
    frozen = " (process stopped, e.g. by SIGSTOP)" if pid is not None and stopped(pid) else ""
    return report | {"state": "not responding", "reason": answer.problem + frozen}


async def broker_report(settings: Settings, jetstream: Callable[[], Awaitable[JetStreamContext]]) -> dict[str, Any]:
    """Each subscription's lag, redeliveries and deliveries so far, each stream's last sequence (how many
    events were ever published on it) and the dead letters, asked as the operator."""
    url = broker_url(settings)
    try:
        return await asyncio.wait_for(_ask_broker(settings, jetstream), timeout=BROKER_SECONDS)
    except TimeoutError:
        problem = f"the broker at {url} did not answer within {BROKER_SECONDS:g}s"
    except Exception as exc:  # unreachable, refused: the processes are still worth showing
        problem = f"cannot ask the broker at {url}: {type(exc).__name__}: {exc}"
    return {"subscriptions": None, "streams": None, "dead_letters": None, "broker_error": problem}


async def _ask_broker(settings: Settings, jetstream: Callable[[], Awaitable[JetStreamContext]]) -> dict[str, Any]:
    js = await jetstream()
    specs = [spec for service in SERVICES for spec in consumer_specs(service, max_deliver=1, style=settings.saga)]
    streams = sorted({topic.stream for topic in TOPICS.values()})

    async def subscription(spec: ConsumerSpec) -> dict[str, Any]:
        row: dict[str, Any] = {"consumer": spec.durable, "stream": spec.stream}
        try:
            info = await js.consumer_info(spec.stream, spec.durable)
        except Exception as exc:
            return row | {"error": f"{type(exc).__name__}: {exc}"}
        return row | {"pending": info.num_pending or 0, "ack_pending": info.num_ack_pending or 0,
                      "redelivered": info.num_redelivered or 0, "delivered": info.delivered.consumer_seq or 0}

    async def stream(name: str) -> dict[str, Any]:
        try:
            info = await js.stream_info(name)
        except Exception as exc:
            return {"stream": name, "error": f"{type(exc).__name__}: {exc}"}
        return {"stream": name, "messages": info.state.messages, "last_sequence": info.state.last_seq}

    rows, stream_rows, dead = await asyncio.gather(asyncio.gather(*(subscription(spec) for spec in specs)),
                                                   asyncio.gather(*(stream(name) for name in streams)),
                                                   js.stream_info(DEAD_LETTER_STREAM))
    return {"subscriptions": list(rows), "streams": list(stream_rows), "dead_letters": dead.state.messages,
            "broker_error": None}


def fetch_stuck(url: str, headers: dict[str, str], older_than: float | None, limit: int,
                timeout: float = 10) -> dict[str, Any]:
    """The Order service's orders not final after `older_than` seconds (its own threshold when None)."""
    params: dict[str, Any] = {"limit": limit}
    if older_than is not None:
        params["older_than"] = older_than
    try:
        response = httpx.get(f"{url}/operator/orders/stuck", params=params, headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        raise ConnectionError(f"the Order service at {url} did not answer within {timeout:g}s") from None
    except httpx.TransportError:
        raise ConnectionError(f"cannot reach the Order service at {url}") from None
    return stuck_answer(url, response)


def stuck_answer(url: str, response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise RuntimeError(f"the Order service at {url} answered {response.status_code}: {response.text[:200]}")
    found: dict[str, Any] = response.json()
    return found


async def stuck_report(settings: Settings, asking: Asking) -> dict[str, Any]:
    """How many orders are not final after the Order service's own threshold."""
    url = settings.url("order")
    try:
        response = await asking.client.get(f"{url}/operator/orders/stuck", params={"limit": 1},
                                           headers=asking.operator_headers("order"), timeout=PROBE_SECONDS + 1)
        found = stuck_answer(url, response)
    except httpx.TimeoutException:
        return stuck_unknown(f"the Order service at {url} did not answer within {PROBE_SECONDS + 1:g}s")
    except httpx.TransportError:
        return stuck_unknown(f"cannot reach the Order service at {url}")
    except (RuntimeError, MissingKeys) as exc:
        return stuck_unknown(str(exc))
    return {"total": found["total"], "older_than": found["older_than"], "error": None}


def stuck_unknown(problem: str) -> dict[str, Any]:
    return {"total": None, "older_than": None, "error": problem}
