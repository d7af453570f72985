"""Runs child processes for `eventshop up`: log files, a combined coloured stream, restarts, health reports,
ordered stop."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.text import Text

from eventshop.cli import forking

COLOURS = ["cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan", "bright_magenta",
           "bright_green", "bright_yellow", "bright_blue", "white", "red"]
MAX_BACKOFF = 30.0
MISSES_REPORTED = 2  # health checks in a row unanswered before the terminal is told (one slow answer is no news)
STOP_REPORT_SECONDS = 1.0  # a stop that waits longer names what is still running, again when that changes
STOP_REPEAT_SECONDS = 3.0  # and at least this often
CONFIG_ERROR = 2  # a process's exit code for a bad setting or option: starting it again cannot help


class ChildMisconfigured(Exception):
    """A child exited with CONFIG_ERROR; the message is its name and its own one-line error."""


@dataclass
class Child:
    """One supervised process and what the supervisor knows about it."""

    name: str
    command: list[str]
    port: int | None
    health_url: str | None
    wave: int = 0  # children of one wave start together and stop together
    live_url: str | None = None  # the cheap check that it answers (None: the broker, greeted on its port)
    colour: str = "white"
    process: forking.ChildProcess | None = None
    started_at: float = 0.0
    restarts: int = 0  # since it last stayed up a minute: sets the backoff
    restarted: int = 0  # since `up` started: what `status` shows
    next_start: float | None = None
    answered: bool = False  # its health check answered since it last started
    answering: bool = True
    misses: int = 0  # health checks in a row without an answer
    readers: list[threading.Thread] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def state(self) -> str:
        """The supervisor's side: not started, running, restarting (exited, started again soon) or exited."""
        if self.process is None:
            return "not started"
        if self.running:
            return "running"
        return "restarting" if self.next_start is not None else "exited"


# A new log record (ours, uvicorn's, the JSON form, or nats-server's) and one worth a person's attention.
RECORD_START = re.compile(rb'^(\d{4}-\d\d-\d\d[ T]|\{"time"|\[\d+\] \d{4}/)')
ALARMING = re.compile(
    rb'( (WARNING|ERROR|CRITICAL) |"level": "(warning|error|critical)"|\[(WRN|ERR|FTL)\]|Traceback|^error:)'
)
# Warnings every local start gives, for the log files only: nats-server on the generated config's passwords.
EXPECTED = re.compile(rb"\[WRN\] Plaintext passwords detected")


class Supervisor:
    def __init__(self, log_dir: Path, env: dict[str, str], console: Console, quiet: bool = False,
                 verbose: bool = False) -> None:
        self.log_dir = log_dir
        self.env = env
        self.console = console
        self.quiet = quiet
        self.verbose = verbose
        self.children: list[Child] = []
        self.stopping = False
        self.lock = threading.Lock()
        log_dir.mkdir(parents=True, exist_ok=True)

    def add(
        self, name: str, command: list[str], port: int | None = None, health_url: str | None = None, wave: int = 0,
        live_url: str | None = None,
    ) -> Child:
        child = Child(name, command, port, health_url, wave, live_url, COLOURS[len(self.children) % len(COLOURS)])
        self.children.append(child)
        return child

    def start(self, child: Child) -> None:
        # Own session: a Ctrl-C reaches only the supervisor, which then stops children in order.
        child.process = forking.start(child.command, self.env)
        child.started_at = time.time()
        child.next_start = None
        child.answered, child.answering, child.misses = False, True, 0
        reader = threading.Thread(target=self._pump, args=(child, child.process), daemon=True)
        reader.start()
        child.readers = [reader]

    def _pump(self, child: Child, process: forking.ChildProcess) -> None:
        """Every line goes to the child's log file; the terminal gets warnings and errors (all with --verbose)."""
        assert process.stdout is not None
        showing = False  # inside a shown record: its traceback lines are shown too
        with open(self.log_dir / f"{child.name}.log", "ab") as log:
            for raw in iter(process.stdout.readline, b""):
                log.write(raw)
                log.flush()
                if self.quiet:
                    continue
                if RECORD_START.match(raw) or not raw.startswith((b" ", b"\t", b"Traceback")):
                    showing = self.verbose or (bool(ALARMING.search(raw)) and not EXPECTED.search(raw))
                if showing:
                    self.say(child, raw.decode(errors="replace").rstrip())

    def say(self, child: Child, line: str) -> None:
        prefix = Text(f"{child.name:>16} | ", style=child.colour)
        with self.lock:
            self.console.print(prefix + Text(line), highlight=False, soft_wrap=True)

    def show_log(self, name: str) -> None:
        """With --verbose, the output of a short-lived process that wrote straight to its log file."""
        if self.verbose and not self.quiet:
            child = Child(name, [], None, None, colour="dim")
            for line in (self.log_dir / f"{name}.log").read_text(errors="replace").splitlines():
                self.say(child, line)

    def watch_once(self) -> None:
        """Restart children that died, with capped exponential backoff."""
        now = time.monotonic()
        for child in self.children:
            if self.stopping or child.process is None:
                continue
            if child.running:
                if child.restarts and time.time() - child.started_at > 60:
                    child.restarts = 0  # it has stayed up: the next crash starts the backoff again
                continue
            if child.next_start is None:
                if child.process.returncode == CONFIG_ERROR:
                    for reader in child.readers:
                        reader.join(timeout=2)
                    raise ChildMisconfigured(f"{child.name}: {last_line(self.log_dir / f'{child.name}.log')}")
                delay = min(2.0**child.restarts, MAX_BACKOFF)
                child.next_start = now + delay
                code = child.process.returncode
                self.announce(f"[bold red]{child.name} exited with code {code}; restarting in {delay:.0f}s[/]")
            elif now >= child.next_start:
                child.restarts += 1
                child.restarted += 1
                self.start(child)
                self.announce(f"[bold yellow]{child.name} restarted (pid {child.pid})[/]")

    def note_answer(self, child: Child, answered: bool) -> None:
        """One health check's outcome: the terminal hears once when a process stops answering and once when it
        answers again. A process that has not answered since it started is starting, not silent."""
        if self.stopping or not child.running:
            return
        if answered:
            if not child.answering:
                self.announce(f"[bold green]{child.name} answers its health check again[/]")
            child.answered, child.answering, child.misses = True, True, 0
            return
        child.misses += 1
        if child.answered and child.answering and child.misses >= MISSES_REPORTED:
            child.answering = False
            self.announce(f"[bold red]{child.name} (pid {child.pid}) stopped answering its health check[/]")

    def announce(self, markup: str) -> None:
        with self.lock:
            self.console.print(markup)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM wave by wave in reverse start order, wait (naming what is still running), SIGKILL what is left."""
        self.stopping = True
        for wave in sorted({c.wave for c in self.children}, reverse=True):
            members = [c for c in self.children if c.wave == wave and c.running]
            if not members:
                continue
            self.announce(f"[dim]stopping {', '.join(c.name for c in members)}[/]")
            for child in members:
                assert child.process is not None
                _signal(child.process, signal.SIGTERM)
                _signal(child.process, signal.SIGCONT)  # a stopped (SIGSTOPped) child handles its SIGTERM too
            self._wait_for(members, timeout)
        for child in self.children:
            for reader in child.readers:
                reader.join(timeout=2)

    def _wait_for(self, members: list[Child], timeout: float) -> None:
        started = time.monotonic()
        report, reported = started + STOP_REPORT_SECONDS, None
        while left := [c for c in members if c.running]:
            now = time.monotonic()
            if now - started > timeout:
                self.announce(f"[bold red]{', '.join(c.name for c in left)} not stopped after {timeout:.0f}s; "
                              "killing[/]")
                for child in left:
                    assert child.process is not None
                    _signal(child.process, signal.SIGKILL)
                    child.process.wait()
                return
            names = ", ".join(c.name for c in left)
            if now >= report and (names != reported or now - report >= STOP_REPEAT_SECONDS):
                self.announce(f"[dim]stopping: waiting for {names}[/]")
                report, reported = now, names
            time.sleep(0.05)


def last_line(log: Path) -> str:
    """A process's last words, e.g. `EVENTSHOP_LOG_LEVEL='LOUD': Input should be ...`, without its `error: `."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()] if log.exists() else []
    return lines[-1].removeprefix("error: ") if lines else "(no output)"


def _signal(process: forking.ChildProcess, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)  # the child's whole group, e.g. a service and its workers
