"""`eventshop sandbox ...` as real processes: ready on its port, a clean stop on signals, a clear taken-port error."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from eventshop.sandboxes.runner import bind
from eventshop.services.notification.email_sender import EmailSender, SmtpSettings
from tests.waiting import answers

DEADLINE = 20.0


def free_port() -> int:
    sock = bind("127.0.0.1", 0, "a test port")
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "eventshop.cli.main", "sandbox", *args]


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("EVENTSHOP_")} | {"PYTHONUNBUFFERED": "1"}


@contextmanager
def running(args: list[str], health_url: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command(*args), env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            assert process.poll() is None, process.communicate()[1].decode()
            if answers(health_url, timeout=0.5):
                break
            assert time.monotonic() < deadline, f"{args[0]} was not ready within {DEADLINE}s"
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def stopped_cleanly(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    process.send_signal(sig)
    _, err = process.communicate(timeout=DEADLINE)
    assert process.returncode == 0, err.decode()
    assert b"Traceback" not in err


def test_payment_system_serves_on_its_port_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    args = ["payment-system", "--port", str(port), "--data-dir", str(tmp_path / "payments")]
    with running(args, f"http://127.0.0.1:{port}/health") as process:
        paid = httpx.post(f"http://127.0.0.1:{port}/v1/payments", headers={"Idempotency-Key": "k"},
                          json={"amount": 100, "currency": "EUR", "payment_method": "tok_visa", "reference": "o"})
        assert paid.status_code == 201
        stopped_cleanly(process, signal.SIGTERM)
    assert (tmp_path / "payments" / "payment-system.sqlite3").exists()


def test_mail_takes_smtp_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port, smtp_port = free_port(), free_port()
    args = ["mail", "--port", str(port), "--smtp-port", str(smtp_port), "--data-dir", str(tmp_path)]
    with running(args, f"http://127.0.0.1:{port}/health/ready") as process:
        sender = EmailSender(SmtpSettings(host="127.0.0.1", port=smtp_port, timeout=5))
        asyncio.run(sender.send("ada@example.com", "hello", "from a real process"))
        assert httpx.get(f"http://127.0.0.1:{port}/api/messages").json()[0]["subject"] == "hello"
        stopped_cleanly(process, signal.SIGINT)


def test_a_taken_port_is_one_clear_line_and_exit_code_1(tmp_path: Path) -> None:
    taken = bind("127.0.0.1", 0, "the test")
    port = taken.getsockname()[1]
    try:
        args = ["mail", "--data-dir", str(tmp_path), "--port", str(free_port()), "--smtp-port", str(port)]
        result = subprocess.run(command(*args), env=environment(), capture_output=True, timeout=DEADLINE)
    finally:
        taken.close()
    lines = result.stderr.decode().strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr.decode()
    assert str(port) in lines[0] and "in use" in lines[0]
