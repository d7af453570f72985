"""`eventshop up`'s children are forked from the fork server, yet each is a process of its own, as a new
interpreter would be: its title, session, settings, output, exit code and death are its own."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import psutil
import pytest

from eventshop.cli.forking import TITLE, Forked, is_forkable, start
from eventshop.platform.settings import PORT_OFFSETS
from tests.shop import free_port_base
from tests.waiting import answers, until

COMMAND = [sys.executable, "-m", "eventshop.cli.main"]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def output_of(child: Forked) -> str:
    assert child.stdout is not None
    return child.stdout.read().decode()


def test_a_bad_setting_in_its_environment_is_its_one_line_and_exit_code_2(tmp_path: Path) -> None:
    env = {**os.environ, "EVENTSHOP_PAYMENT_SYSTEM_ERROR_RATE": "2"}
    child = start([*COMMAND, "sandbox", "payment-system", "--port", "1", "--data-dir", str(tmp_path)], env)
    assert isinstance(child, Forked)
    out = output_of(child)
    assert child.wait(timeout=30) == 2, out
    assert out.startswith("error: ") and "EVENTSHOP_PAYMENT_SYSTEM_ERROR_RATE" in out and "Traceback" not in out


def test_a_forked_child_is_its_own_process_sharing_the_fork_servers_pages(tmp_path: Path) -> None:
    port = free_port_base() + PORT_OFFSETS["logistics-system"]
    child = start([*COMMAND, "sandbox", "logistics-system", "--port", str(port), "--data-dir", str(tmp_path)],
                  dict(os.environ))
    assert isinstance(child, Forked)
    try:
        until(lambda: answers(f"http://127.0.0.1:{port}/health") or child.poll() is not None, 30,
              "the sandbox to answer")
        assert child.poll() is None, output_of(child)
        process = psutil.Process(child.pid)
        assert "eventshop.cli.main sandbox logistics-system --port" in " ".join(process.cmdline())
        assert TITLE in " ".join(process.parent().cmdline())
        assert os.getpgid(child.pid) == child.pid, "its own session and group, as start_new_session gives"
        memory = process.memory_full_info()
        assert memory.pss < 0.8 * memory.rss, memory  # the imported code's pages are the fork server's
    finally:
        os.killpg(child.pid, signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL


@pytest.mark.parametrize("command, forked", [
    ([*COMMAND, "serve", "order"], True),
    (["nats-server", "-p", "4222"], False),
    (["python3", "-m", "eventshop.cli.main", "serve", "order"], False),  # another interpreter: run it as given
])
def test_only_eventshop_commands_of_this_interpreter_are_forked(command: list[str], forked: bool) -> None:
    assert is_forkable(command) is forked


def test_a_child_whose_fork_server_died_is_stopped_before_it_is_reported_exited(tmp_path: Path) -> None:
    port = free_port_base() + PORT_OFFSETS["logistics-system"]
    command = [*COMMAND, "sandbox", "logistics-system", "--port", str(port), "--data-dir", str(tmp_path)]
    child = start(command, dict(os.environ))
    assert isinstance(child, Forked)
    until(lambda: answers(f"http://127.0.0.1:{port}/health"), 30, "the sandbox to answer")
    psutil.Process(child.pid).parent().kill()  # the fork server, which holds the child's exit status
    # Then the orphan is stopped, and only then reported exited: its restart finds the port free
    code = until(lambda: child.poll(), 20, "the orphan to be stopped and reported")
    assert code == 255 and not alive(child.pid)
    again = start(command, dict(os.environ))  # a new fork server serves the restart
    try:
        until(lambda: answers(f"http://127.0.0.1:{port}/health"), 30, "the restarted sandbox to answer")
    finally:
        os.killpg(again.pid, signal.SIGKILL)
    assert again.wait(timeout=10) == -signal.SIGKILL
