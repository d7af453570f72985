"""What `eventshop up`'s supervisor tells its terminal about real child processes: silence, recovery, a slow stop."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

from rich.console import Console

from eventshop.cli.supervisor import Supervisor
from tests.waiting import until


def supervisor_with_output(tmp_path: Path) -> tuple[Supervisor, io.StringIO]:
    output = io.StringIO()
    return Supervisor(tmp_path / "logs", {}, Console(file=output, width=200)), output


def test_a_process_that_stops_answering_is_reported_once_and_once_when_it_answers_again(tmp_path: Path) -> None:
    supervisor, output = supervisor_with_output(tmp_path)
    child = supervisor.add("order", [sys.executable, "-c", "import time; time.sleep(30)"])
    supervisor.start(child)
    try:
        for answered in (True, False, False, False, False, True, True):
            supervisor.note_answer(child, answered)
    finally:
        supervisor.stop()
    lines = output.getvalue().splitlines()
    assert [line for line in lines if "health check" in line] == [
        f"order (pid {child.pid}) stopped answering its health check", "order answers its health check again"]


def test_a_process_that_never_answered_since_it_started_is_starting_not_silent(tmp_path: Path) -> None:
    supervisor, output = supervisor_with_output(tmp_path)
    child = supervisor.add("payment", [sys.executable, "-c", "import time; time.sleep(30)"])
    supervisor.start(child)
    try:
        for _ in range(5):
            supervisor.note_answer(child, False)
    finally:
        supervisor.stop()
    assert "health check" not in output.getvalue()
    assert child.answering


def test_a_stop_names_the_processes_it_still_waits_for(tmp_path: Path) -> None:
    supervisor, output = supervisor_with_output(tmp_path)
    slow = "import signal, time; signal.signal(signal.SIGTERM, lambda *_: None); print('up', flush=True); " \
           "time.sleep(1.6)"
    quick = supervisor.add("frontend", [sys.executable, "-c", "import time; time.sleep(30)"], wave=1)
    late = supervisor.add("order", [sys.executable, "-c", slow], wave=0)
    for child in (quick, late):
        supervisor.start(child)
    log = tmp_path / "logs" / "order.log"
    until(lambda: log.exists() and "up" in log.read_text(), 10, "the slow child to start", interval=0.05)
    started = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - started < 5
    lines = output.getvalue().splitlines()
    assert lines[:2] == ["stopping frontend", "stopping order"], lines
    assert "stopping: waiting for order" in lines, lines
    assert not late.running and not quick.running
