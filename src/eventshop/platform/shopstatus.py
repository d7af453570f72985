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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from eventshop.contracts.registry import SERVICES
from eventshop.platform.broker import DEAD_LETTER_STREAM, connect, consumer_specs
from eventshop.platform.broker_auth import OPERATOR, login_for
from eventshop.platform.identity import MissingKeys, operator_headers
from eventshop.platform.probing import PROBE_SECONDS, ask, stopped
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


def unsupervised_entries(settings: Settings) -> list[dict[str, Any]]:
    """Every HTTP process the settings place, with no pid. Not the broker (its figures say whether it answers)
    nor the console (the one asking)."""
    entries = []
    for name in PORT_OFFSETS:
        if name in ("smtp", "nats", "console"):
            continue
        path = READY_PATH if name in WITH_READINESS else "/health"
        entries.append({"name": name, "pid": None, "port": settings.port(name), "supervised": False,
                        "health_url": f"{settings.url(name)}{path}"})
    return entries


def gather(settings: Settings, state: dict[str, Any] | None) -> dict[str, Any]:
    """Every question asked at once: a frozen process costs one health-check timeout, not one each."""
    entries = state["processes"] if state else unsupervised_entries(settings)
    urls = state["urls"] if state else {entry["name"]: settings.url(entry["name"]) for entry in entries}
    with ThreadPoolExecutor(max_workers=len(entries) + 2) as pool:
        asked = [pool.submit(process_report, entry, urls) for entry in entries]
        broker = pool.submit(broker_report, settings)
        stuck = pool.submit(stuck_report, settings)
        processes = [future.result() for future in asked]
    outbox = [{"service": p["name"], **p["outbox"]} for p in processes if p.get("outbox") is not None]
    header = {key: value for key, value in state.items() if key != "processes"} if state else {
        "pid": None, "data_dir": str(settings.data_dir)}
    return header | {
        "all_ready": all(p["state"] == "ready" for p in processes),
        "processes": processes, "outbox": outbox, **broker.result(), "stuck_orders": stuck.result(),
    }


def process_report(entry: dict[str, Any], urls: dict[str, str]) -> dict[str, Any]:
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
    answer = ask(entry.get("health_url"), entry.get("port"))
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


def broker_report(settings: Settings) -> dict[str, Any]:
    """Each subscription's lag and redeliveries and the dead letters, asked as the operator."""
    url = broker_url(settings)
    try:
        return asyncio.run(asyncio.wait_for(_ask_broker(settings, url), timeout=BROKER_SECONDS))
    except TimeoutError:
        problem = f"the broker at {url} did not answer within {BROKER_SECONDS:g}s"
    except Exception as exc:  # unreachable, refused: the processes are still worth showing
        problem = f"cannot ask the broker at {url}: {type(exc).__name__}: {exc}"
    return {"subscriptions": None, "dead_letters": None, "broker_error": problem}


async def _ask_broker(settings: Settings, url: str) -> dict[str, Any]:
    nc = await connect(url, "eventshop-status", login=login_for(settings, OPERATOR), persistent=False)
    try:
        js = nc.jetstream(timeout=2.0)
        subscriptions = []
        for service in SERVICES:
            for spec in consumer_specs(service, max_deliver=1, style=settings.saga):
                row: dict[str, Any] = {"consumer": spec.durable, "stream": spec.stream}
                try:
                    info = await js.consumer_info(spec.stream, spec.durable)
                except Exception as exc:
                    row["error"] = f"{type(exc).__name__}: {exc}"
                else:
                    row |= {"pending": info.num_pending or 0, "ack_pending": info.num_ack_pending or 0,
                            "redelivered": info.num_redelivered or 0}
                subscriptions.append(row)
        dead = (await js.stream_info(DEAD_LETTER_STREAM)).state.messages
    finally:
        await nc.close()
    return {"subscriptions": subscriptions, "dead_letters": dead, "broker_error": None}


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
    if response.status_code != 200:
        raise RuntimeError(f"the Order service at {url} answered {response.status_code}: {response.text[:200]}")
    found: dict[str, Any] = response.json()
    return found


def stuck_report(settings: Settings) -> dict[str, Any]:
    """How many orders are not final after the Order service's own threshold."""
    try:
        found = fetch_stuck(settings.url("order"), operator_headers(settings, "order"), None, 1,
                            timeout=PROBE_SECONDS + 1)
    except (ConnectionError, RuntimeError, MissingKeys) as exc:
        return {"total": None, "older_than": None, "error": str(exc)}
    return {"total": found["total"], "older_than": found["older_than"], "error": None}
