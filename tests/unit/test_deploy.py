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
from eventshop.console.app import create_app as console_app
from eventshop.console.signin import ConsoleSettings
from eventshop.contracts.registry import SERVICES, requests_from
from eventshop.platform.broker_auth import login_for
from eventshop.platform.identity import Principal, load_keyring, sandbox_key_variable, sandbox_operator_key
from eventshop.platform.settings import Settings
from eventshop.services.notification.email_sender import SmtpSettings

DOCUMENTS = list(yaml.safe_load_all(render(build("registry.example/eventshop:1", "nats://nats:4222", 2, 3, True))))
KEYS = list(yaml.safe_load_all(CliRunner().invoke(app, ["deploy", "http-keys"]).output))
CONFIG = next(d for d in DOCUMENTS if d["kind"] == "ConfigMap")["data"]
CONFIG_MAPS = {d["metadata"]["name"]: d["data"] for d in [*DOCUMENTS, *KEYS] if d["kind"] == "ConfigMap"}
KEY_SECRETS = {d["metadata"]["name"]: d["stringData"] for d in KEYS if d["kind"] == "Secret"}
DEPLOYMENTS = {d["metadata"]["name"]: d for d in DOCUMENTS if d["kind"] == "Deployment"}
SERVICE_PORTS = {d["metadata"]["name"]: {p["port"] for p in d["spec"]["ports"]} for d in DOCUMENTS
                 if d["kind"] == "Service"}
PROCESSES = [*SERVICES, "frontend", *SANDBOXES, "console"]


def container(process: str) -> dict[str, Any]:
    [found] = DEPLOYMENTS[f"eventshop-{process}"]["spec"]["template"]["spec"]["containers"]
    return dict(found)


def environment(process: str) -> dict[str, str]:
    """The container's variables as Kubernetes would set them; secrets become `secret:<name>/<key>` (optional ones
    are left out), but those `eventshop deploy http-keys` generates, which take their generated values."""
    values = {}
    for var in container(process)["env"]:
        if "value" in var:
            values[var["name"]] = var["value"]
        elif "configMapKeyRef" in var["valueFrom"]:
            ref = var["valueFrom"]["configMapKeyRef"]
            values[var["name"]] = CONFIG_MAPS[ref["name"]][ref["key"]]
        elif (ref := var["valueFrom"]["secretKeyRef"])["name"] in KEY_SECRETS:
            values[var["name"]] = KEY_SECRETS[ref["name"]][ref["key"]]
        elif not ref.get("optional"):
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
        assert replicas == (1 if process in (*SANDBOXES, "console") else 2), process


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
    declared = {r.target for r in requests_from(process, "choreography") if r.kind in ("calls", "request")}
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
    assert "postgres" not in plain and "token" not in plain.lower() and "key" not in plain.lower()


def test_a_bad_option_exits_2() -> None:
    result = CliRunner().invoke(app, ["deploy", "kubernetes", "--replicas", "0"])
    assert result.exit_code == 2


def test_without_sandboxes_the_providers_are_addresses_to_replace_not_missing_services() -> None:
    documents = list(yaml.safe_load_all(render(build("eventshop:1", "nats://n:4222", 1, 3, False), False)))
    names = {d["metadata"]["name"] for d in documents if d["kind"] == "Deployment"}
    assert names == {f"eventshop-{p}" for p in [*SERVICES, "frontend", "console"]}
    [console] = [d for d in documents if d["metadata"]["name"] == "eventshop-console" and d["kind"] == "Deployment"]
    env = {var["name"]: var for var in console["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["EVENTSHOP_CONSOLE_SANDBOXES"]["value"] == "false"  # it asks no sandbox
    assert not any(f"EVENTSHOP_{s.upper().replace('-', '_')}_URL" in env for s in SANDBOXES)
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


@pytest.mark.parametrize("process", [*SERVICES, "frontend"])
def test_each_process_signs_as_itself_with_its_own_generated_key_and_the_others_believe_it(
    process: str, env_of: Any
) -> None:
    env_of(process)
    keyring = load_keyring(Settings(), process)
    token = keyring.mint("account")

    env_of("account")
    assert load_keyring(Settings(), "account").verify(token) == Principal("service", process)
    assert environment(process)["EVENTSHOP_HTTP_KEY"] == KEY_SECRETS[f"eventshop-http-{process}"]["private-key"]


def test_the_operator_key_is_generated_and_given_only_to_the_console() -> None:
    assert "eventshop-http-operator" in KEY_SECRETS
    for process in PROCESSES:
        holds = any("eventshop-http-operator" in str(var.get("valueFrom", "")) for var in container(process)["env"])
        assert holds == (process == "console"), process
    without = list(yaml.safe_load_all(render(build("eventshop:1", "nats://n:4222", 1, 3, True, console=False))))
    assert "eventshop-http-operator" not in str(without) and "console" not in {
        d["metadata"]["name"].removeprefix("eventshop-") for d in without}


def test_the_console_finds_every_process_the_broker_and_the_sandboxes_keys_and_starts(env_of: Any) -> None:
    env_of("console")
    settings = Settings()
    for process in [*SERVICES, "frontend", *SANDBOXES]:
        assert settings.url(process) == f"http://eventshop-{process}", process
    assert settings.nats_url == "nats://nats:4222"
    login = login_for(settings, "operator")
    assert login is not None and (login.user, login.password) == ("operator", "secret:eventshop-nats-operator/password")
    console = ConsoleSettings()
    assert console.password == KEY_SECRETS["eventshop-console"]["password"] and console.secret and console.sandboxes
    token = load_keyring(settings, "operator").mint("order")
    assert console_app(settings, console).title == "eventshop console"  # MissingKeys otherwise
    for sandbox in SANDBOXES:
        assert sandbox_operator_key(settings, sandbox) == KEY_SECRETS["eventshop-sandbox-operator-keys"][sandbox]
        assert environment(sandbox)[sandbox_key_variable(sandbox)] == sandbox_operator_key(settings, sandbox)

    env_of("order")
    assert load_keyring(Settings(), "order").verify(token) == Principal("operator", "operator")


def test_network_policies_admit_exactly_the_registrys_callers_and_only_the_frontend_is_exposed() -> None:
    policies = {d["metadata"]["name"]: d["spec"] for d in DOCUMENTS if d["kind"] == "NetworkPolicy"}
    assert policies["eventshop-default-deny"] == {
        "podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "eventshop"}}, "policyTypes": ["Ingress"]}

    def admitted(process: str) -> set[str]:
        spec = policies.get(f"eventshop-{process}-callers")
        if spec is None:
            return set()
        [rule] = spec["ingress"]
        return {peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for peer in rule.get("from", [])}

    assert admitted("account") == {"frontend", "payment", "shipping", "notification", "cart"}
    assert admitted("order") == {"frontend", "cart"}
    assert admitted("payment") == set() and "eventshop-payment-callers" not in policies  # nobody calls it
    assert admitted("payment-system") == {"payment"} and admitted("mail") == {"notification"}
    assert "from" not in policies["eventshop-frontend-callers"]["ingress"][0]  # the ingress controller's
    asks = policies["eventshop-console-asks"]  # the console asks every pod, on its http port only
    assert asks["podSelector"] == {"matchLabels": {"app.kubernetes.io/part-of": "eventshop"}}
    assert asks["ingress"] == [{"from": [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "console", "app.kubernetes.io/part-of": "eventshop"}}}], "ports": [{"port": "http"}]}]
    assert admitted("console") == set() and "eventshop-console-callers" not in policies  # port-forward only
    [ingress] = [d for d in DOCUMENTS if d["kind"] == "Ingress"]
    [rule] = ingress["spec"]["rules"]
    assert {p["backend"]["service"]["name"] for p in rule["http"]["paths"]} == {"eventshop-frontend"}
