"""Operator commands against a real broker and real databases: migrate, dlq, events, errors as one line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventshop.cli.main import app
from eventshop.contracts.events import InventoryProcessedEvent, OrderCancelledEvent, OrderProcessedEvent
from eventshop.platform import deadletters
from eventshop.platform.broker import ConsumerSpec, connect, ensure_consumer, ensure_streams
from eventshop.platform.embedded_nats import EmbeddedNats, free_port
from tests.brokers import operator_login
from tests.integration.publishing import envelope_of
from tests.shop import free_port_base

runner = CliRunner()


def test_migrate_brings_every_service_database_up_to_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTSHOP_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    assert result.output.count("up to date") == 8
    assert sorted(p.name for p in (tmp_path / "db").iterdir() if p.suffix == ".sqlite3") == sorted(
        f"{s}.sqlite3" for s in ("account", "catalog", "inventory", "cart", "order", "payment", "shipping",
                                 "notification")
    )
    again = runner.invoke(app, ["migrate", "order"])
    assert again.exit_code == 0 and again.output.strip() == "order: up to date"


def test_unknown_service_is_one_line_and_exit_code_2() -> None:
    result = runner.invoke(app, ["serve", "billing"])
    assert result.exit_code == 2
    assert "unknown service 'billing'" in result.output and "Traceback" not in result.output


def test_dlq_commands_list_show_replay_and_purge(
    nats_server: EmbeddedNats, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTSHOP_NATS_URL", nats_server.url)
    monkeypatch.setenv("EVENTSHOP_NATS_SECRETS_DIR", str(nats_server.secrets_dir))
    monkeypatch.setenv("COLUMNS", "250")

    async def park_one() -> str:
        nc = await connect(nats_server.url, "test", login=operator_login(nats_server), persistent=False)
        js = nc.jetstream()
        await ensure_streams(js)
        await js.purge_stream("DEAD_LETTERS")
        envelope = envelope_of(OrderProcessedEvent(order_id="o-dlq", customer_id="c", lines=[], total=1,
                                                   currency="EUR"))
        await js.publish("deadletter.inventory.order.OrderProcessedEvent", envelope.to_bytes(), headers={
            "Eventshop-Original-Subject": "order.OrderProcessedEvent", "Eventshop-Consumer": "inventory--order",
            "Eventshop-Error": "ValueError: boom", "Eventshop-Deliveries": "8",
        })
        await ensure_consumer(js, ConsumerSpec("inventory", "order", ("OrderProcessedEvent",), 8))
        await nc.close()
        return envelope.id

    event_id = asyncio.run(park_one())
    listed = runner.invoke(app, ["dlq", "list"])
    assert listed.exit_code == 0 and "inventory--order" in listed.output and "ValueError: boom" in listed.output
    sequence = next(line.split()[0] for line in listed.output.splitlines() if "inventory--order" in line)
    shown = runner.invoke(app, ["dlq", "show", sequence])
    assert shown.exit_code == 0 and event_id in shown.output
    replayed = runner.invoke(app, ["dlq", "replay", sequence])
    assert replayed.exit_code == 0 and f"replayed 1 message(s): {sequence}" in replayed.output
    assert "no dead letters" in runner.invoke(app, ["dlq", "list"]).output
    missing = runner.invoke(app, ["dlq", "show", sequence])
    assert missing.exit_code == 1 and "no such dead letter" in missing.output
    assert runner.invoke(app, ["dlq", "purge", "--yes"]).exit_code == 0


def test_dlq_list_and_show_print_any_bytes_in_headers_and_payloads(
    nats_server: EmbeddedNats, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTSHOP_NATS_URL", nats_server.url)
    monkeypatch.setenv("EVENTSHOP_NATS_SECRETS_DIR", str(nats_server.secrets_dir))
    monkeypatch.setenv("COLUMNS", "250")

    async def park_odd_ones() -> None:
        nc = await connect(nats_server.url, "test", login=operator_login(nats_server), persistent=False)
        js = nc.jetstream()
        await ensure_streams(js)
        await js.purge_stream("DEAD_LETTERS")
        # As an older version wrote them: raw UTF-8 and control characters in a header.
        await js.publish("deadletter.order.payment.PaymentProcessedEvent", b"\x00\xff\x1b[2J [bold]not json", headers={
            "Eventshop-Original-Subject": "payment.PaymentProcessedEvent", "Eventshop-Consumer": "order--payment",
            "Eventshop-Error": "Zahlung fehlgeschlagen: ü ☃ \x01 [/]", "Eventshop-Deliveries": "eight",
        })
        # Parked by reference, its original since removed from its stream.
        await js.publish("deadletter.order.payment.PaymentProcessedEvent", b'{"id": "truncat', headers={
            "Eventshop-Original-Subject": "payment.PaymentProcessedEvent", "Eventshop-Consumer": "order--payment",
            "Eventshop-Error": deadletters.encode_header("trop grand: é"), "Eventshop-Deliveries": "1",
            "Eventshop-Original-Stream": "PAYMENT", "Eventshop-Original-Sequence": "999999",
            "Eventshop-Original-Size": "1048276", "Eventshop-Copy": "reference",
        })
        await nc.close()

    asyncio.run(park_odd_ones())
    listed = runner.invoke(app, ["dlq", "list"])
    assert listed.exit_code == 0, listed.output
    assert "Zahlung fehlgeschlagen: ü ☃ \\x01 [/]" in listed.output and "trop grand: é" in listed.output
    first, second = (line.split()[0] for line in listed.output.splitlines() if "order--payment" in line)
    shown = runner.invoke(app, ["dlq", "show", first])
    assert shown.exit_code == 0, shown.output
    assert "\\x00\\xff\\x1b[2J [bold]not json" in shown.output and "\x1b" not in shown.output
    gone = runner.invoke(app, ["dlq", "show", second])
    assert gone.exit_code == 0, gone.output
    assert "PAYMENT sequence 999999, 1048276 bytes" in gone.output and "no longer stored" in gone.output
    replay = runner.invoke(app, ["dlq", "replay", second])
    assert replay.exit_code == 1 and "no longer stored" in replay.output and "Traceback" not in replay.output


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"EVENTSHOP_PORT_BASE": "abc"}, ["status"], "EVENTSHOP_PORT_BASE='abc': Input should be a valid integer"),
        ({"EVENTSHOP_MAX_DELIVERIES": "0"}, ["serve", "order"], "EVENTSHOP_MAX_DELIVERIES='0'"),
        ({"EVENTSHOP_LOG_LEVEL": "LOUD"}, ["serve", "order"], "EVENTSHOP_LOG_LEVEL='LOUD': Input should be 'DEBUG'"),
        ({"EVENTSHOP_LOG_LEVEL": "LOUD"}, ["up"], "EVENTSHOP_LOG_LEVEL='LOUD'"),
        ({"EVENTSHOP_ORDER_PORT": "80x"}, ["serve", "order"], "EVENTSHOP_ORDER_PORT='80x': Input should be a port"),
        ({"EVENTSHOP_ACCOUNT_SIGN_IN_WINDOW_SECONDS": "0"}, ["serve", "account"],
         "EVENTSHOP_ACCOUNT_SIGN_IN_WINDOW_SECONDS='0': Input should be greater than 0"),
        ({"EVENTSHOP_PAYMENT_RECONCILE_SECONDS": "x"}, ["serve", "payment"], "EVENTSHOP_PAYMENT_RECONCILE_SECONDS='x'"),
        ({"EVENTSHOP_SMTP_PORT": "x"}, ["serve", "notification"], "EVENTSHOP_SMTP_PORT='x'"),
        ({"EVENTSHOP_FRONTEND_SESSION_CHECK_SECONDS": "-1"}, ["frontend", "--port", "{port}"],
         "EVENTSHOP_FRONTEND_SESSION_CHECK_SECONDS='-1'"),
        ({"EVENTSHOP_PAYMENT_SYSTEM_ERROR_RATE": "2"}, ["sandbox", "payment-system", "--port", "{port}"],
         "EVENTSHOP_PAYMENT_SYSTEM_ERROR_RATE: Input should be less than or equal to 1"),
        ({"EVENTSHOP_LOGISTICS_SYSTEM_STEP_SECONDS": "soon"}, ["sandbox", "logistics-system", "--port", "{port}"],
         "EVENTSHOP_LOGISTICS_SYSTEM_STEP_SECONDS='soon': Input should be a number"),
        # No HTTP keys in the data directory and no --dev-secrets: refuse to start rather than run on known secrets.
        ({"EVENTSHOP_DEV_SECRETS": "false"}, ["serve", "order", "--port", "{port}"], "no public keys"),
        ({"EVENTSHOP_DEV_SECRETS": "false"}, ["frontend", "--port", "{port}"], "no public keys"),
        ({"EVENTSHOP_DEV_SECRETS": "false"}, ["token", "order"], "no public keys"),
        ({"EVENTSHOP_INBOX_RETENTION_HOURS": "0.1"}, ["serve", "order", "--port", "{port}"],
         "keep it longer than EVENTSHOP_RETRY_BUDGET_SECONDS=600"),
        ({}, ["up", "--port-base", "70000"], "Invalid value for '--port-base'"),
        ({"EVENTSHOP_TRACE_RECENT_SPANS": "10"}, ["serve", "order"],
         "EVENTSHOP_TRACE_RECENT_SPANS='10': Input should be greater than or equal to 100"),
        ({"EVENTSHOP_TRACE_RECORDING": "sometimes"}, ["frontend", "--port", "{port}"],
         "EVENTSHOP_TRACE_RECORDING='sometimes': Input should be a valid boolean"),
        ({"EVENTSHOP_SAGA": "both"}, ["serve", "order"],
         "EVENTSHOP_SAGA='both': Input should be 'choreography' or 'orchestration'"),
        ({}, ["up", "--saga", "orchestrated"], "--saga='orchestrated': Input should be 'choreography' or"),
        ({}, ["deploy", "kubernetes", "--saga", "x"], "--saga='x': Input should be 'choreography' or 'orchestration'"),
        ({}, ["bench", "messaging", "--events", "-5"], "Invalid value for '--events'"),
        ({}, ["bench", "--concurrency", "0"], "Invalid value for '--concurrency'"),
        ({}, ["bench", "--concurrency", "2", "--rate", "5"], "exclude each other"),
        ({}, ["bench", "--database-url-template", "sqlite+aiosqlite:///x.db"], "must contain {service}"),
    ],
)
def test_bad_settings_and_options_are_named_with_exit_code_2(
    env: dict[str, str], args: list[str], message: str, tmp_path: Path
) -> None:
    args = [arg.replace("{port}", str(free_port())) for arg in args]
    result = subprocess.run([sys.executable, "-m", "eventshop.cli.main", *args], capture_output=True, text=True,
                            env={**os.environ, "EVENTSHOP_DATA_DIR": str(tmp_path), "COLUMNS": "200", **env},
                            timeout=30)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr + result.stdout
    if env:  # a bad setting is one line; a bad option gets Typer's usage box
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_unreachable_broker_is_one_line_and_exit_code_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTSHOP_NATS_URL", "nats://127.0.0.1:9")
    result = runner.invoke(app, ["dlq", "list"])
    assert result.exit_code == 1
    assert "cannot reach the broker at nats://127.0.0.1:9" in result.output


def test_events_tail_prints_history_in_time_order_across_topics_then_live_events(nats_server: EmbeddedNats) -> None:
    reserved = InventoryProcessedEvent(order_id="o-tail", customer_id="c", lines=[], total=1, currency="EUR")
    processed = OrderProcessedEvent(order_id="o-tail", customer_id="c", lines=[], total=1, currency="EUR")
    other = OrderProcessedEvent(order_id="o-other", customer_id="c", lines=[], total=1, currency="EUR")

    async def publish(*events: tuple[str, bytes]) -> None:
        nc = await connect(nats_server.url, "test", login=operator_login(nats_server), persistent=False)
        js = nc.jetstream()
        await ensure_streams(js)
        for subject, data in events:
            await js.publish(subject, data)
        await nc.close()

    # The inventory topic is read before the order topic, but its event happened later.
    earlier, later = envelope_of(processed), envelope_of(reserved)
    later.time = earlier.time + timedelta(seconds=1)
    asyncio.run(publish(("inventory.InventoryProcessedEvent", later.to_bytes()),
                        ("order.OrderProcessedEvent", envelope_of(other).to_bytes()),
                        ("order.OrderProcessedEvent", earlier.to_bytes())))
    env = {**os.environ, "EVENTSHOP_NATS_URL": nats_server.url, "COLUMNS": "80",
           "EVENTSHOP_NATS_SECRETS_DIR": str(nats_server.secrets_dir)}
    tail = subprocess.Popen([sys.executable, "-m", "eventshop.cli.main", "events", "tail", "--history",
                             "--order", "o-tail"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert tail.stdout is not None
        lines = [tail.stdout.readline() for _ in range(3)]
        asyncio.run(publish(("order.OrderCancelledEvent", envelope_of(OrderCancelledEvent(
            order_id="o-tail", customer_id="c", reason="x", lines=[], total=1, currency="EUR")).to_bytes())))
        lines.append(tail.stdout.readline())
    finally:
        tail.terminate()
        tail.wait(timeout=10)
    assert "watching" in lines[0]
    assert "OrderProcessedEvent" in lines[1] and "subject=o-tail" in lines[1] and "correlation=o-tail" in lines[1]
    assert "InventoryProcessedEvent" in lines[2] and "source=eventshop/test" in lines[2]  # one line each
    assert "OrderCancelledEvent" in lines[3]


def test_bench_messaging_pushes_events_through_and_prints_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(app, ["bench", "messaging", "--events", "30", "--rate", "100"])
    assert result.exit_code == 0, result.output
    assert "30 offered at 100/s" in result.output and "latency p95" in result.output


def test_bench_says_in_one_line_when_there_is_no_shop_to_attach_to(tmp_path: Path) -> None:
    base = free_port_base()
    result = subprocess.run([sys.executable, "-m", "eventshop.cli.main", "bench", "--port-base", str(base)],
                            capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, timeout=60)
    assert result.returncode == 1
    assert f"no ready shop on port base {base}" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
