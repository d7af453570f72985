"""`eventshop up` exactly as the README says: ready, an order placed over HTTP, an honest status, a quick clean
stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from eventshop.cli.seeding import DEMO_PASSWORD
from eventshop.platform.settings import Settings
from eventshop.services.catalog.demo import DEMO_PRODUCTS
from tests.shop import free_port_base
from tests.waiting import answers, until

pytestmark = pytest.mark.system
EVENTSHOP = str(Path(sys.executable).with_name("eventshop"))


def leftovers(data_dir: Path) -> list[str]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(data_dir) in cmdline:
            found.append(cmdline)
    return found


@pytest.fixture
def shop_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Settings, list[str]]]:
    base = free_port_base()
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        [EVENTSHOP, "up", "--data-dir", str(data_dir), "--port-base", str(base), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    deadline = time.monotonic() + 90
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        if "ready in" in line:
            break
        if time.monotonic() > deadline or process.poll() is not None:
            break
    settings = Settings(port_base=base, data_dir=data_dir)
    try:
        yield process, settings, output
    finally:
        if process.poll() is None:  # stopped as a person would; a SIGKILL would orphan its nats-server
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_up_starts_the_shop_takes_an_order_and_stops_cleanly(
    shop_up: tuple[subprocess.Popen[str], Settings, list[str]],
) -> None:
    process, settings, output = shop_up
    text = "".join(output)
    assert "ready in" in text, text
    assert settings.url("frontend") in text and "demo@example.com" in text

    status = subprocess.run([EVENTSHOP, "status", "--data-dir", str(settings.data_dir)],
                            capture_output=True, text=True, timeout=30)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "every process is ready" in status.stdout, status.stdout

    with httpx.Client(timeout=15) as http:
        catalog = http.get(f"{settings.url('catalog')}/products", params={"page_size": 50}).json()
        assert catalog["total"] >= 20, "the demo catalog was seeded"
        sold_out = {p["sku"] for p in catalog["items"] if p["availability"]["status"] == "out_of_stock"}
        assert sold_out == {p.sku for p in DEMO_PRODUCTS if p.stock == 0}, "the seeded stock is shown at once"
        products = http.get(f"{settings.url('catalog')}/products", params={"q": "kettle"}).json()["items"]
        customer = http.post(f"{settings.url('account')}/sessions",
                             json={"email": "demo@example.com", "password": DEMO_PASSWORD}).json()
        http.headers["Authorization"] = f"Bearer {customer['token']}"  # the customer's own, from sign-in
        cart = f"{settings.url('cart')}/carts/{customer['account_id']}"
        http.post(f"{cart}/lines", json={"product_id": products[0]["id"], "quantity": 1}).raise_for_status()
        order_id = http.post(f"{cart}/checkout", json={}).json()["order_id"]
        until(lambda: http.get(f"{settings.url('order')}/orders/{order_id}").json()["status"] == "shipped", 45,
              "the order to ship")

    operator_commands_find_the_shop_by_its_data_dir_alone(settings.data_dir, order_id)

    a_frozen_service_is_reported_not_responding(settings.data_dir)

    state = json.loads((settings.data_dir / "up.json").read_text())
    old_pid = next(p["pid"] for p in state["processes"] if p["name"] == "payment")
    psutil.Process(old_pid).kill()  # a crashed service is restarted by the supervisor

    def restarted() -> bool:
        current = json.loads((settings.data_dir / "up.json").read_text())
        pid = next(p["pid"] for p in current["processes"] if p["name"] == "payment")
        return pid != old_pid and answers(f"{settings.url('payment')}/health/ready")

    until(restarted, 30, "payment to be restarted")

    payment = next(p for p in status_json(settings.data_dir)[1]["processes"] if p["name"] == "payment")
    assert (payment["state"], payment["restarts"]) == ("ready", 1), payment

    stopping = time.monotonic()
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    took = time.monotonic() - stopping
    assert process.stdout is not None
    rest = process.stdout.read()
    assert took < 5, f"stopping an idle shop took {took:.1f}s:\n{rest}"
    assert "order (pid" in rest and "stopped answering its health check" in rest, rest
    assert "order answers its health check again" in rest, rest
    until(lambda: leftovers(settings.data_dir) == [], 5, "every process of the shop to be gone")
    assert not (settings.data_dir / "up.json").exists()


def status_json(data_dir: Path) -> tuple[int, Any]:
    done = subprocess.run([EVENTSHOP, "status", "--data-dir", str(data_dir), "--json"], capture_output=True,
                          text=True, timeout=30)
    return done.returncode, json.loads(done.stdout)


def up_state_of(data_dir: Path, name: str) -> dict[str, Any]:
    state = json.loads((data_dir / "up.json").read_text())
    entry: dict[str, Any] = next(p for p in state["processes"] if p["name"] == name)
    return entry


def a_frozen_service_is_reported_not_responding(data_dir: Path) -> None:
    """A SIGSTOPped Order holds its port and answers nothing: status says so and exits 1, `up` tells its terminal."""
    order = psutil.Process(up_state_of(data_dir, "order")["pid"])
    order.suspend()
    try:
        code, report = status_json(data_dir)
        states = {p["name"]: p for p in report["processes"]}
        assert code == 1 and not report["all_ready"]
        assert states["order"]["state"] == "not responding", states["order"]
        assert "SIGSTOP" in states["order"]["reason"]
        assert {p["state"] for name, p in states.items() if name != "order"} == {"ready"}
        assert report["dead_letters"] == 0 and report["subscriptions"], report
        assert report["stuck_orders"]["error"], "the frozen Order cannot say which orders are stuck"
        until(lambda: not up_state_of(data_dir, "order")["answering"], 20, "up to notice the frozen order")
    finally:
        order.resume()
    until(lambda: up_state_of(data_dir, "order")["answering"], 20, "up to notice the order answering again")
    code, report = status_json(data_dir)
    assert code == 0 and report["all_ready"], report
    assert {s["consumer"] for s in report["subscriptions"]} >= {"order--payment", "payment--inventory"}
    assert report["stuck_orders"] == {"total": 0, "older_than": 600.0, "error": None}


def operator_commands_find_the_shop_by_its_data_dir_alone(data_dir: Path, order_id: str) -> None:
    """From another folder, with no EVENTSHOP_* variable: the port base and broker come from up.json."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("EVENTSHOP_")}

    def run(*args: str) -> Any:
        done = subprocess.run([EVENTSHOP, *args, "--data-dir", str(data_dir), "--json"], capture_output=True,
                              text=True, timeout=30, env=env, cwd="/")
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    assert {p["state"] for p in run("status")["processes"]} == {"ready"}
    assert run("dlq", "list") == []
    assert run("orders", "stuck")["total"] == 0
    tail = subprocess.Popen([EVENTSHOP, "events", "tail", "--history", "--order", order_id, "--json",
                             "--data-dir", str(data_dir)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env, cwd="/")
    try:
        assert tail.stdout is not None
        seen = [json.loads(tail.stdout.readline())["type"] for _ in range(5)]
    finally:
        tail.terminate()
        tail.wait(timeout=10)
    assert seen[0] == "ShoppingCartOrderedEvent" and "ShippingProcessedEvent" in seen, seen


def test_a_child_refusing_its_settings_stops_up_with_its_line_and_exit_code_2(tmp_path: Path) -> None:
    result = subprocess.run([EVENTSHOP, "up", "--data-dir", str(tmp_path / "d"), "--port-base", str(free_port_base())],
                            capture_output=True, text=True, timeout=90,
                            env={**os.environ, "EVENTSHOP_PAYMENT_SYSTEM_ERROR_RATE": "2"})
    assert result.returncode == 2, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("error: payment-system: ") and "EVENTSHOP_PAYMENT_SYSTEM_ERROR_RATE" in last
    assert "restarting" not in result.stdout and "Traceback" not in result.stdout + result.stderr
    assert leftovers(tmp_path / "d") == []


def test_a_second_up_on_the_same_data_dir_is_refused(
    shop_up: tuple[subprocess.Popen[str], Settings, list[str]],
) -> None:
    _, settings, output = shop_up
    assert "ready in" in "".join(output)
    again = subprocess.run([EVENTSHOP, "up", "--data-dir", str(settings.data_dir), "--port-base",
                            str(settings.port_base + 1000)], capture_output=True, text=True, timeout=30)
    assert again.returncode == 1
    assert "already running" in again.stdout + again.stderr


def test_a_taken_port_is_named_with_the_option_to_change_it(tmp_path: Path) -> None:
    base = free_port_base()
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", base + 5))
        blocker.listen()
        result = subprocess.run([EVENTSHOP, "up", "--data-dir", str(tmp_path / "d"), "--port-base", str(base)],
                                capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    message = " ".join((result.stdout + result.stderr).split())
    assert f"port {base + 5} (for order) is in use" in message and "--port-base" in message
    assert "Traceback" not in message
