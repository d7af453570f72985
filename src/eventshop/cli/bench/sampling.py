"""What the bench watches while the shop works: CPU and RSS per process, consumer lag, outbox backlogs, and the
CPU of a PostgreSQL server on this machine that holds the shop's databases."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx
import psutil
from nats.js import JetStreamContext
from prometheus_client.parser import text_string_to_metric_families

from eventshop.cli.forking import TITLE as FORK_SERVER_TITLE
from eventshop.cli.up import SERVICES
from eventshop.contracts.registry import TOPICS
from eventshop.platform.settings import Settings

RSS_EVERY = 0.5
PSS_EVERY = 2.0  # PSS reads each process's page tables (smaps_rollup): dearer than RSS, and it moves as slowly
# What the bench asks costs the shop CPU inside the window: the consumers' lag (JetStream consumer info, about
# 6 CPU-ms/s over the whole shop) once a second, the outboxes' backlogs (every service's /health/ready, about 35
# CPU-ms/s when asked every second) every few seconds.
BROKER_EVERY = 1.0
BACKLOG_EVERY = 4.0
NOT_COUNTED = ("/health", "/metrics")  # routes the probes, Prometheus and the bench itself call
LOCAL_HOSTS = ("", "127.0.0.1", "localhost", "::1")  # "": a Unix socket


def process_name(process: psutil.Process) -> str | None:
    """The shop's name for one of `eventshop up`'s processes, from its command line."""
    try:
        cmdline = " ".join(process.cmdline())
    except psutil.Error:
        return None
    if "nats-server" in cmdline:
        return "nats"
    found = re.search(r"eventshop\.cli\.main (serve|sandbox) ([\w-]+)", cmdline)
    if found:
        return found.group(2)
    found = re.search(r"eventshop\.cli\.main (frontend|console|up)\b", cmdline)
    if found:
        return found.group(1)
    if FORK_SERVER_TITLE in cmdline or "multiprocessing.resource_tracker" in cmdline:
        return "forkserver"  # what `up` forks its children from, and multiprocessing's helper beside it
    return None


def shop_processes(up_pid: int) -> dict[str, list[psutil.Process]]:
    """`eventshop up` and its process tree, grouped by name."""
    try:
        root = psutil.Process(up_pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.Error:
        return {}
    named: dict[str, list[psutil.Process]] = {}
    for process in tree:
        name = process_name(process) or ("up" if process.pid == up_pid else None)
        if name is not None:
            named.setdefault(name, []).append(process)
    return named


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def rss_bytes(process: psutil.Process) -> int:
    return int(process.memory_info().rss)


def pss_bytes(process: psutil.Process) -> int:
    """Proportional set size: each page a process holds, divided by the number of processes holding it. Summed
    over the shop, it is the memory the shop takes (RSS counts a page shared by the forked children in each).
    Linux only: 0 elsewhere."""
    return int(getattr(process.memory_full_info(), "pss", 0))


def summed(processes: list[psutil.Process], measure: Callable[[psutil.Process], int]) -> int:
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            total += measure(process)
    return total


def local_postgres_databases(urls: Iterable[str]) -> set[str]:
    """The names of the databases among `urls` held by a PostgreSQL server on this machine."""
    names = set()
    for url in urls:
        parsed = urllib.parse.urlsplit(url)
        name = parsed.path.strip("/")
        if parsed.scheme.startswith("postgresql") and (parsed.hostname or "") in LOCAL_HOSTS and name:
            names.add(name)
    return names


def serves(process: psutil.Process, databases: set[str]) -> bool:
    """Whether a PostgreSQL server process works on one of `databases`: a backend's title names its database
    ("postgres: [cluster:] user database host(port) state"), as does an autovacuum worker's."""
    try:
        title = " ".join(process.cmdline())
    except psutil.Error:
        return False
    return title.startswith("postgres: ") and not databases.isdisjoint(title.split())


@dataclass
class ServerCPU:
    """CPU of the PostgreSQL server processes serving the shop's databases. Backends come and go: one first seen
    inside the window counts from its start, one gone counts up to its last sample."""

    databases: set[str]
    start: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)

    def scan(self, in_window: bool) -> None:
        for process in psutil.process_iter():
            if process.pid not in self.last and not serves(process, self.databases):
                continue
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue  # gone: it counts up to its last sample
            used = times.user + times.system
            self.start.setdefault(process.pid, 0.0 if in_window else used)
            self.last[process.pid] = used

    def used(self) -> float:
        return sum(self.last[pid] - start for pid, start in self.start.items())


@dataclass
class Sampler:
    """Samples while a run goes on; `begin` and `end` bound the CPU window."""

    processes: dict[str, list[psutil.Process]]
    js: JetStreamContext
    http: httpx.AsyncClient
    settings: Settings
    cpu_start: dict[str, float] = field(default_factory=dict)
    cpu_used: dict[str, float] = field(default_factory=dict)  # CPU seconds inside the window
    peak_rss: dict[str, int] = field(default_factory=dict)
    peak_rss_total: int = 0
    peak_pss: dict[str, int] = field(default_factory=dict)
    peak_pss_total: int = 0
    max_lag: dict[str, int] = field(default_factory=dict)
    max_lag_total: int = 0
    max_backlog: dict[str, int] = field(default_factory=dict)
    lag_now: int = 0
    server: ServerCPU | None = None  # a PostgreSQL server on this machine, holding the shop's databases

    def begin(self) -> None:
        self.cpu_start = {name: cpu_seconds(group) for name, group in self.processes.items()}
        self.cpu_start["bench"] = cpu_seconds([psutil.Process()])
        if self.server is not None:
            self.server.scan(in_window=False)

    def end(self) -> None:
        for name, group in self.processes.items():
            self.cpu_used[name] = cpu_seconds(group) - self.cpu_start.get(name, 0.0)
        self.cpu_used["bench"] = cpu_seconds([psutil.Process()]) - self.cpu_start["bench"]
        if self.server is not None:
            self.server.scan(in_window=True)
            self.cpu_used["postgres"] = self.server.used()

    async def run(self) -> None:
        """Until cancelled: RSS (and a local PostgreSQL server's CPU) twice a second, PSS every two seconds,
        consumer lag once a second, outbox backlogs every few seconds."""
        next_broker = next_backlog = next_pss = 0.0
        while True:
            self.sample_rss()
            if self.server is not None:
                self.server.scan(in_window=True)
            now = time.monotonic()
            if now >= next_pss:
                next_pss = now + PSS_EVERY
                self.sample_pss()
            if now >= next_broker:
                next_broker = now + BROKER_EVERY
                await self.sample_lag()
            if now >= next_backlog:
                next_backlog = now + BACKLOG_EVERY
                await self.sample_backlogs()
            await asyncio.sleep(RSS_EVERY)

    def sample_rss(self) -> None:
        self.peak_rss_total = max(self.peak_rss_total, self._sample_memory(rss_bytes, self.peak_rss))

    def sample_pss(self) -> None:
        self.peak_pss_total = max(self.peak_pss_total, self._sample_memory(pss_bytes, self.peak_pss))

    def _sample_memory(self, measure: Callable[[psutil.Process], int], peaks: dict[str, int]) -> int:
        """Each group's memory now, kept as its peak in `peaks`; the shop's total now."""
        total = 0
        for name, group in self.processes.items():
            used = summed(group, measure)
            total += used
            peaks[name] = max(peaks.get(name, 0), used)
        return total

    async def sample_lag(self) -> int:
        """Messages each durable consumer has not yet had acked (pending + unacked); the sum."""
        total = 0
        for topic in TOPICS.values():
            try:
                consumers = await self.js.consumers_info(topic.stream)
            except Exception:
                continue
            for info in consumers:
                lag = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
                name = info.name or "?"
                self.max_lag[name] = max(self.max_lag.get(name, 0), lag)
                total += lag
        self.max_lag_total = max(self.max_lag_total, total)
        self.lag_now = total
        return total

    async def sample_backlogs(self) -> None:
        async def one(service: str) -> None:
            try:
                response = await self.http.get(f"{self.settings.url(service)}/health/ready", timeout=2)
                backlog = response.json().get("checks", {}).get("outbox", {}).get("backlog")
            except (httpx.HTTPError, ValueError, AttributeError):
                return
            if isinstance(backlog, int):
                self.max_backlog[service] = max(self.max_backlog.get(service, 0), backlog)

        await asyncio.gather(*(one(s) for s in SERVICES))

    async def http_requests(self) -> int:
        """HTTP requests the services have served so far (their /metrics), the probes' and this sampler's apart."""
        async def one(service: str) -> int:
            try:
                response = await self.http.get(f"{self.settings.url(service)}/metrics", timeout=5)
            except httpx.HTTPError:
                return 0
            return sum(int(sample.value) for family in text_string_to_metric_families(response.text)
                       if family.name == "eventshop_http_requests" for sample in family.samples
                       if sample.name.endswith("_total") and not sample.labels["route"].startswith(NOT_COUNTED))

        return sum(await asyncio.gather(*(one(s) for s in SERVICES)))

    async def wait_drained(self, timeout: float) -> bool:
        """Until every consumer has acked everything (the work an order causes includes notifications)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.sample_lag() == 0:
                return True
            await asyncio.sleep(0.2)
        return False
