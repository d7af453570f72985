"""Failure injection shared by the sandboxes: env vars at start, the admin endpoint at run time (with the sandbox's
operator key)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from eventshop.sandboxes.faults import FaultConfig, InvalidFaultConfig
from eventshop.sandboxes.logistics_system.app import create_app as logistics_app
from eventshop.sandboxes.payment_system.app import create_app as payment_app
from tests.integration.sandboxes.conftest import AS_OPERATOR, OPERATOR_KEY, serving


def test_faults_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTSHOP_PAYMENT_SYSTEM_ERROR_RATE", "0.25")
    monkeypatch.setenv("EVENTSHOP_PAYMENT_SYSTEM_LATENCY_MS", "40")
    monkeypatch.setenv("EVENTSHOP_PAYMENT_SYSTEM_OUTAGE", "true")
    assert FaultConfig.from_env("payment-system") == FaultConfig(error_rate=0.25, latency_ms=40, outage=True)
    assert FaultConfig.from_env("mail") == FaultConfig()
    monkeypatch.setenv("EVENTSHOP_MAIL_ERROR_RATE", "2")
    with pytest.raises(InvalidFaultConfig, match="EVENTSHOP_MAIL_ERROR_RATE"):
        FaultConfig.from_env("mail")


@pytest.mark.asyncio
async def test_an_outage_from_the_environment_answers_503_and_spares_health_and_admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTSHOP_LOGISTICS_SYSTEM_OUTAGE", "1")
    async with serving(logistics_app(tmp_path, operator_key=OPERATOR_KEY)) as sandbox:
        down = await sandbox.http.get("/v1/shipments")
        assert down.status_code == 503 and down.json()["error"]["code"] == "outage"
        assert all([(await sandbox.http.get(path)).status_code == 200
                    for path in ("/health", "/health/live", "/health/ready", "/admin/faults", "/docs")])
        assert (await sandbox.http.get("/admin/faults")).json() == {"error_rate": 0.0, "latency_ms": 0, "outage": True}
        changed = await sandbox.http.patch("/admin/faults", json={"latency_ms": 100}, headers=AS_OPERATOR)
        assert changed.json()["outage"] is True
        await sandbox.set_faults(outage=False)
        assert (await sandbox.http.get("/v1/shipments")).status_code == 200


@pytest.mark.asyncio
async def test_an_error_rate_of_one_fails_every_api_call_with_500_or_503(tmp_path: Path) -> None:
    async with serving(payment_app(tmp_path, FaultConfig(error_rate=1.0), operator_key=OPERATOR_KEY)) as sandbox:
        answers = [await sandbox.http.get("/v1/test-tokens") for _ in range(12)]
        assert {a.status_code for a in answers} <= {500, 503}
        assert {a.json()["error"]["code"] for a in answers} == {"injected_error"}
        await sandbox.set_faults(error_rate=0.0)
        assert (await sandbox.http.get("/v1/test-tokens")).status_code == 200


@pytest.mark.asyncio
async def test_latency_delays_api_calls_only(tmp_path: Path) -> None:
    async with serving(payment_app(tmp_path, FaultConfig(latency_ms=250))) as sandbox:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await sandbox.http.get("/health")
        assert loop.time() - started < 0.25
        await sandbox.http.get("/v1/test-tokens")
        assert loop.time() - started >= 0.25


@pytest.mark.asyncio
async def test_invalid_fault_settings_are_refused(tmp_path: Path) -> None:
    async with serving(payment_app(tmp_path, operator_key=OPERATOR_KEY)) as sandbox:
        response = await sandbox.http.put("/admin/faults", json={"error_rate": 3}, headers=AS_OPERATOR)
        assert response.status_code == 422 and "error_rate" in response.json()["error"]["message"]
        response = await sandbox.http.patch("/admin/faults", json={"latency_ms": "soon"}, headers=AS_OPERATOR)
        assert response.status_code == 422 and "latency_ms" in response.json()["error"]["message"]


@pytest.mark.asyncio
async def test_only_the_operator_key_switches_faults_and_anyone_may_read_them(tmp_path: Path) -> None:
    async with serving(payment_app(tmp_path, operator_key=OPERATOR_KEY)) as sandbox:
        for headers in ({}, {"Authorization": "Bearer not-the-key"}, {"Authorization": OPERATOR_KEY}):
            refused = await sandbox.http.put("/admin/faults", json={"outage": True}, headers=headers)
            assert (refused.status_code, refused.json()["error"]["code"]) == (401, "operator_key_required"), headers
            refused = await sandbox.http.patch("/admin/faults", json={"outage": True}, headers=headers)
            assert refused.status_code == 401, headers
        assert (await sandbox.http.get("/admin/faults")).json()["outage"] is False
        assert (await sandbox.http.get("/v1/test-tokens")).status_code == 200


@pytest.mark.asyncio
async def test_without_an_operator_key_the_switches_are_off_and_the_start_settings_hold(tmp_path: Path) -> None:
    async with serving(logistics_app(tmp_path, FaultConfig(latency_ms=5))) as sandbox:
        refused = await sandbox.http.put("/admin/faults", json={}, headers={"Authorization": "Bearer anything"})
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "fault_switches_disabled")
        assert "EVENTSHOP_LOGISTICS_SYSTEM_OPERATOR_KEY" in refused.json()["error"]["message"]
        assert (await sandbox.http.get("/admin/faults")).json()["latency_ms"] == 5
