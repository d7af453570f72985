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

import io
import multiprocessing
import os
import sys
from multiprocessing.connection import Connection
from typing import IO, Any, Protocol

PRELOAD = ["eventshop.cli.preloaded"]
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
        self.stdout: IO[bytes] | None = os.fdopen(read, "rb")

    @property
    def returncode(self) -> int | None:
        code: int | None = self.process.exitcode  # a signal's death is -signum, as for Popen
        return code

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        self.process.join(timeout)
        return self.returncode


def start(command: list[str], env: dict[str, str]) -> ChildProcess:
    """Fork an eventshop command; anything else (nats-server) is a new process as usual."""
    import subprocess

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
