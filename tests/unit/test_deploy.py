"""`eventshop deploy kubernetes`: the manifests give each process exactly what its code reads."""

from __future__ import annotations

import os
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from eventshop.cli.deploy import EXTERNAL, SANDBOXES, SMTP_PORT, render
from eventshop.cli.deploy import manifests as build
from eventshop.cli.main import app
from eventshop.contracts.registry import SERVICES, requests_from
from eventshop.platform.broker_auth import login_for
from eventshop.platform.settings import Settings
from eventshop.services.notification.email_sender import SmtpSettings

DOCUMENTS = list(yaml.safe_load_all(render(build("registry.example/eventshop:1", "nats://nats:4222", 2, 3, True))))
CONFIG = next(d for d in DOCUMENTS if d["kind"] == "ConfigMap")["data"]
DEPLOYMENTS = {d["metadata"]["name"]: d for d in DOCUMENTS if d["kind"] == "Deployment"}
SERVICE_PORTS = {d["metadata"]["name"]: {p["port"] for p in d["spec"]["ports"]} for d in DOCUMENTS
                 if d["kind"] == "Service"}
PROCESSES = [*SERVICES, "frontend", *SANDBOXES]


def container(process: str) -> dict[str, Any]:
    [found] = DEPLOYMENTS[f"eventshop-{process}"]["spec"]["template"]["spec"]["containers"]
    return dict(found)


def environment(process: str) -> dict[str, str]:
    """The container's variables as Kubernetes would set them; secrets become `secret:<name>/<key>`."""
    values = {}
    for var in container(process)["env"]:
        if "value" in var:
            values[var["name"]] = var["value"]
        elif "configMapKeyRef" in var["valueFrom"]:
            values[var["name"]] = CONFIG[var["valueFrom"]["configMapKeyRef"]["key"]]
        elif not var["valueFrom"]["secretKeyRef"].get("optional"):
            ref = var["valueFrom"]["secretKeyRef"]
            values[var["name"]] = f"secret:{ref['name']}/{ref['key']}"
    return values


@pytest.fixture
def env_of(monkeypatch: pytest.MonkeyPatch) -> Any:
    def apply(process: str) -> None:
        for name in [n for n in os.environ if n.startswith("EVENTSHOP_")]:
            monkeypatch.delenv(name)
        for name, value in environment(process).items():
            monkeypatch.setenv(name, value)
    return apply


def test_every_process_has_a_deployment_and_a_service_on_the_same_image() -> None:
    assert set(DEPLOYMENTS) == {f"eventshop-{p}" for p in PROCESSES} == set(SERVICE_PORTS)
    assert {container(p)["image"] for p in PROCESSES} == {"registry.example/eventshop:1"}
    for process in PROCESSES:
        replicas = DEPLOYMENTS[f"eventshop-{process}"]["spec"]["replicas"]
        assert replicas == (1 if process in SANDBOXES else 2), process


@pytest.mark.parametrize("process", [*SERVICES, "frontend"])
def test_each_process_finds_its_database_broker_and_exactly_the_callees_the_registry_declares(
    process: str, env_of: Any
) -> None:
    env_of(process)
    settings = Settings()
    assert settings.host == "0.0.0.0"
    if process in SERVICES:
        assert settings.nats_url == "nats://nats:4222" and settings.stream_replicas == 3
        assert settings.database_url(process) == f"secret:eventshop-{process}-database/url"
        assert settings.internal_token == "secret:eventshop-internal/token"
    declared = {r.target for r in requests_from(process) if r.kind in ("calls", "request") and r.style == "both"}
    for target in declared:
        if target == "Email System":
            smtp = SmtpSettings()
            assert smtp.host == "eventshop-mail" and smtp.port == SMTP_PORT and not smtp.start_tls
            assert SMTP_PORT in SERVICE_PORTS["eventshop-mail"]
            continue
        callee = EXTERNAL.get(target, target)
        assert settings.url(callee) == f"http://eventshop-{callee}"  # the Service in front of it, port 80
        assert 80 in SERVICE_PORTS[f"eventshop-{callee}"]
    urls = {name for name in environment(process) if name.endswith("_URL") and "DATABASE" not in name
            and name != "EVENTSHOP_NATS_URL"}
    expected = len([t for t in declared if t != "Email System"]) + (process == "frontend")  # + the inbox link
    assert len(urls) == expected, urls


@pytest.mark.parametrize("process", PROCESSES)
def test_each_container_runs_a_command_the_cli_accepts_with_probes_and_no_secret_in_plain_text(process: str) -> None:
    spec = container(process)
    result = CliRunner().invoke(app, [*spec["args"], "--help"])
    assert result.exit_code == 0, result.output
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert spec[probe]["httpGet"]["path"].startswith("/health")
    plain = " ".join(str(var.get("value", "")) for var in spec["env"])
    assert "postgres" not in plain and "token" not in plain.lower()


def test_a_bad_option_exits_2() -> None:
    result = CliRunner().invoke(app, ["deploy", "kubernetes", "--replicas", "0"])
    assert result.exit_code == 2


def test_without_sandboxes_the_providers_are_addresses_to_replace_not_missing_services() -> None:
    documents = list(yaml.safe_load_all(render(build("eventshop:1", "nats://n:4222", 1, 3, False), False)))
    names = {d["metadata"]["name"] for d in documents if d["kind"] == "Deployment"}
    assert names == {f"eventshop-{p}" for p in [*SERVICES, "frontend"]}
    config = next(d for d in documents if d["kind"] == "ConfigMap")["data"]
    assert config["payment-system-url"] == "http://payment-system.invalid"
    assert (config["smtp-host"], config["smtp-port"], config["smtp-start-tls"]) == ("mail.invalid", "587", "true")


@pytest.mark.parametrize("service", list(SERVICES))
def test_each_service_logs_in_to_the_broker_as_itself_with_a_password_from_its_own_secret(
    service: str, env_of: Any
) -> None:
    env_of(service)

    login = login_for(Settings(), service)

    assert login is not None and login.user == service
    assert login.password == f"secret:eventshop-nats-{service}/password"


def test_the_streams_are_set_up_by_a_job_with_the_operator_identity() -> None:
    [job] = [d for d in DOCUMENTS if d["kind"] == "Job"]
    [setup] = job["spec"]["template"]["spec"]["containers"]
    env = {var["name"]: var.get("value") or var["valueFrom"] for var in setup["env"]}

    assert setup["args"] == ["setup-broker"]
    assert env["EVENTSHOP_NATS_USER"] == "operator"
    assert env["EVENTSHOP_NATS_PASSWORD"] == {"secretKeyRef": {"name": "eventshop-nats-operator", "key": "password"}}


def test_nats_config_reads_every_identitys_password_from_the_servers_environment() -> None:
    result = CliRunner().invoke(app, ["deploy", "nats-config"])

    assert result.exit_code == 0, result.output
    for identity in [*SERVICES, "operator"]:
        assert f'{{user: "{identity}", password: $NATS_PASSWORD_{identity.upper()},' in result.output
    assert "no_auth_user" not in result.output
