"""How `eventshop up` starts its Python children: forked from one process that has already imported what they
all run (the platform, SQLAlchemy, FastAPI, uvicorn, aiohttp, nats-py), not each a new interpreter importing it
all again.

Every child is still its own process, with its own pid, session, memory, log and restarts: a crash or a kill takes
only it down. But it is ready in a fraction of a second, and the imported code's pages are shared between the
children instead of copied into each (about 300 MB less for the whole shop; docs/operations.md#memory). The
forking process is multiprocessing's fork server, which `up` starts at its first child and which ends with `up`;
it imports `eventshop.cli.preloaded` and nothing else, so it holds no thread, loop, socket or setting to inherit.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from typing import IO, Any, Protocol

PRELOAD = ["eventshop.cli.preloaded"]
LOST_STATUS = 255  # multiprocessing's exit code for a child whose fork server died before it
ORPHAN_STOP_SECONDS = 10.0
ORPHAN_POLL_SECONDS = 0.05
TITLE = "eventshop: the fork server of eventshop up"  # ps and the bench name it so


class ChildProcess(Protocol):
    """What the supervisor asks of a child: subprocess.Popen, or a forked child."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    stdout: IO[bytes] | None

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int | None: ...


def is_forkable(command: list[str]) -> bool:
    """An eventshop command run by this interpreter, which a forked child can run in-process."""
    return command[:3] == [sys.executable, "-m", "eventshop.cli.main"]


class Forked:
    """A child forked by the fork server, running `eventshop <argv>` with its output on a pipe."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        read, write = os.pipe()
        out = Connection(write, readable=False)  # a Connection, so that its fd is passed to the fork server
        self.process = _context().Process(target=_run, args=(argv, env, out), daemon=True)
        try:
            self.process.start()
        finally:
            out.close()
        self.pid: int = self.process.pid
        self.orphaned_at: float | None = None  # when its fork server was found gone while it ran
        self.stdout: IO[bytes] | None = os.fdopen(read, "rb")

    @property
    def returncode(self) -> int | None:
        """Its exit code (a signal's death is -signum, as for Popen), None while it runs.

        The fork server, its parent, holds its exit status; should the fork server die, multiprocessing says
        LOST_STATUS at once, although the child runs on. Then the child is stopped too (SIGTERM to its group,
        SIGKILL after ORPHAN_STOP_SECONDS), and reported exited only once it is gone, so that the supervisor's
        restart finds its port free and no orphan is left serving."""
        code: int | None = self.process.exitcode
        if code != LOST_STATUS or not _alive(self.pid):
            return code
        now = time.monotonic()
        if self.orphaned_at is None:
            self.orphaned_at = now
            _signal_group(self.pid, signal.SIGTERM)
        elif now - self.orphaned_at > ORPHAN_STOP_SECONDS:
            _signal_group(self.pid, signal.SIGKILL)
        return None

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """Its exit code once it has exited; None when `timeout` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self.process.join(timeout)
        # An orphan being stopped is no child of ours: there is no exit to wait for, only its state to read.
        while self.returncode is None:
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(ORPHAN_POLL_SECONDS)
        return self.returncode


def _alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie (an orphan's new parent may never reap it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return not os.path.isdir("/proc/self")  # gone since; or no /proc (not Linux), where it exists


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def start(command: list[str], env: dict[str, str]) -> ChildProcess:
    """Fork an eventshop command; anything else (nats-server) is a new process as usual."""
    if is_forkable(command):
        return Forked(command[3:], env)
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


_forkserver: Any = None


def _context() -> Any:
    global _forkserver
    if _forkserver is None:
        _forkserver = multiprocessing.get_context("forkserver")
        _forkserver.set_forkserver_preload(PRELOAD)
    return _forkserver


def _run(argv: list[str], env: dict[str, str], out: Connection) -> None:
    """In the forked child: become what `python -m eventshop.cli.main <argv>` with `env` would be, then run it."""
    from setproctitle import setproctitle

    setproctitle(" ".join([sys.executable, "-m", "eventshop.cli.main", *argv]))  # before environ changes
    os.setsid()  # its own session and group, as start_new_session gives a Popen child
    os.dup2(out.fileno(), 1)
    os.dup2(out.fileno(), 2)
    out.close()
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(line_buffering=True)  # its lines reach the log as they are written
    os.environ.clear()
    os.environ.update(env)
    sys.argv = ["eventshop", *argv]
    from eventshop.cli.main import main

    main()
