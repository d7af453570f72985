"""How `eventshop status` reads: on an 80-column terminal and in a pipe, a frozen process and the backlogs."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from eventshop.cli.status import show

NAMES = ["nats", "payment-system", "logistics-system", "mail", "account", "catalog", "inventory", "cart", "order",
         "payment", "shipping", "notification", "frontend"]
FROZEN = "no answer within 2s (process stopped, e.g. by SIGSTOP)"


def process(name: str, pid: int) -> dict[str, Any]:
    service = name not in ("nats", "payment-system", "logistics-system", "mail", "frontend")
    return {"name": name, "state": "ready", "reason": "", "pid": pid, "port": 12000 + pid % 500,
            "uptime_seconds": 1330.0, "restarts": 0,
            "outbox": {"backlog": 0, "oldest_age_seconds": 0.0} if service else None}


def report() -> dict[str, Any]:
    processes = [process(name, 4000 + index) for index, name in enumerate(NAMES)]
    by_name = {p["name"]: p for p in processes}
    by_name["order"] |= {"state": "not responding", "reason": FROZEN, "outbox": None}
    by_name["payment"] |= {"state": "restarting", "reason": "exited; `eventshop up` starts it again", "pid": None,
                           "restarts": 3, "uptime_seconds": None, "outbox": None}
    by_name["inventory"]["outbox"] = {"backlog": 12, "oldest_age_seconds": 95.0}
    return {
        "pid": 3999, "data_dir": "/tmp/status-shop", "all_ready": False, "processes": processes,
        "subscriptions": [
            {"consumer": "payment--orders", "stream": "ORDERS", "pending": 7, "ack_pending": 1, "redelivered": 2},
            {"consumer": "shipping--payments", "stream": "PAYMENTS", "pending": 0, "ack_pending": 0,
             "redelivered": 0},
        ],
        "dead_letters": 4, "broker_error": None,
        "stuck_orders": {"total": 2, "older_than": 600.0, "error": None},
    }


def test_a_frozen_process_and_the_backlogs_fit_an_80_column_terminal() -> None:
    out = Console(width=80, force_terminal=True, record=True)
    show(report(), out)
    text = out.export_text()
    lines = text.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80, text
    order = next(index for index, line in enumerate(lines) if line.startswith("order "))
    assert "not responding" in lines[order] and "4008" in lines[order] and "22m10s" in lines[order]
    assert "SIGSTOP" in " ".join(lines[order:order + 4]), text
    assert "restarting" in next(line for line in lines if line.startswith("payment ")), text
    assert "12 (1m35s)" in next(line for line in lines if line.startswith("inventory")), text
    assert "payment--orders" in text and "shipping--payments" not in text  # only subscriptions with something due
    assert "dead letters: 4 (eventshop dlq list)" in text
    assert "orders not final after 600s: 2 (eventshop orders stuck)" in text
    assert "not ready: order, payment" in text


def test_in_a_pipe_each_process_is_one_whole_line(capsys: pytest.CaptureFixture[str]) -> None:
    show(report(), Console(force_terminal=False, width=80))
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in lines if line and line.split()[0] in NAMES}
    assert set(rows) == set(NAMES)
    assert f"not responding: {FROZEN}" in rows["order"]
    assert rows["payment"].split()[1:3] == ["restarting:", "exited;"]
    assert "\x1b[" not in "".join(lines)
    header = next(line for line in lines if line.startswith("process"))
    assert header.split() == ["process", "state", "pid", "uptime", "restarts", "outbox", "port"]
