"""`eventshop deploy kubernetes`: one Deployment and Service per process, derived from the registry.

Every service runs the same image as `eventshop serve <service>`; which other services it calls, and so
which URLs it is given and which pods may reach it (NetworkPolicies), comes from the registry's requests,
like the architecture document. Only the frontend is exposed (an Ingress); the operator console, which asks
every process and the broker as the operator, is reached with `kubectl port-forward`. Secrets (database URLs,
HTTP keys, broker passwords, provider keys) are referenced, never written here; `eventshop deploy http-keys`
generates the HTTP keys, the cookie secrets, the console's password and the sandboxes' operator keys once.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
import yaml

from eventshop.contracts.registry import SERVICES, Style, requests_from
from eventshop.platform.broker_auth import OPERATOR, identities, server_config
from eventshop.platform.identity import (
    FRONTEND,
    IDENTITIES,
    PUBLIC_KEYS,
    generate_keys,
    public_keys_of,
    sandbox_key_variable,
)
from eventshop.platform.identity import OPERATOR as OPERATOR_IDENTITY
from eventshop.platform.settings import env_key, saga_style

PORT = 8080
SMTP_PORT = 2525
PART_OF = "eventshop"
EXTERNAL = {"Payment System": "payment-system", "Logistics System": "logistics-system", "Email System": "mail"}
SANDBOXES = ("payment-system", "logistics-system", "mail")
CONSOLE = "console"
SANDBOX_KEYS = "sandbox-operator-keys"  # one Secret, a key per sandbox: its fault switches (and mail's deleting)

Manifest = dict[str, Any]


def resource_name(name: str) -> str:
    return f"{PART_OF}-{name}"


def callees(source: str, saga: Style = "choreography") -> list[str]:
    """Services and external systems `source` calls in one saga style, as process names."""
    return [
        EXTERNAL.get(r.target, r.target)
        for r in requests_from(source, saga)
        if r.kind in ("calls", "request")
    ]


def config_ref(key: str) -> Manifest:
    return {"configMapKeyRef": {"name": PART_OF, "key": key}}


def secret_ref(name: str, key: str, optional: bool = False) -> Manifest:
    ref: Manifest = {"name": resource_name(name), "key": key}
    if optional:
        ref["optional"] = True
    return {"secretKeyRef": ref}


def environment(process: str, saga: Style = "choreography", sandboxes: bool = True) -> list[Manifest]:
    """What one process needs to know, all of it from the environment (see README, Configuration)."""
    env: list[Manifest] = [
        {"name": "EVENTSHOP_HOST", "value": "0.0.0.0"},
        {"name": "EVENTSHOP_SAGA", "value": saga},
        {"name": "EVENTSHOP_DATA_DIR", "value": "/data"},
        {"name": "EVENTSHOP_LOG_JSON", "value": "true"},
    ]
    if process not in SANDBOXES:
        # its own HTTP identity (the console's is the operator's) and everybody's public keys (see
        # platform/identity.py, `deploy http-keys`)
        identity = OPERATOR_IDENTITY if process == CONSOLE else process
        env += [
            {"name": "EVENTSHOP_HTTP_KEY", "valueFrom": secret_ref(f"http-{identity}", "private-key")},
            {"name": "EVENTSHOP_HTTP_PUBLIC_KEYS",
             "valueFrom": {"configMapKeyRef": {"name": resource_name("http-public-keys"), "key": PUBLIC_KEYS}}},
        ]
    if process in SERVICES:
        env += [
            {"name": "EVENTSHOP_NATS_URL", "valueFrom": config_ref("nats-url")},
            {"name": "EVENTSHOP_STREAM_REPLICAS", "valueFrom": config_ref("stream-replicas")},
            # its own broker identity (user = the service's name); see `eventshop deploy nats-config`
            {"name": "EVENTSHOP_NATS_PASSWORD", "valueFrom": secret_ref(f"nats-{process}", "password")},
            {"name": f"EVENTSHOP_{env_key(process)}_DATABASE_URL",
             "valueFrom": secret_ref(f"{process}-database", "url")},
        ]
    for callee in callees(process, saga):
        if callee == "mail":
            env += [
                {"name": "EVENTSHOP_SMTP_HOST", "valueFrom": config_ref("smtp-host")},
                {"name": "EVENTSHOP_SMTP_PORT", "valueFrom": config_ref("smtp-port")},
                {"name": "EVENTSHOP_SMTP_START_TLS", "valueFrom": config_ref("smtp-start-tls")},
                {"name": "EVENTSHOP_SMTP_USERNAME", "valueFrom": secret_ref("smtp", "username", optional=True)},
                {"name": "EVENTSHOP_SMTP_PASSWORD", "valueFrom": secret_ref("smtp", "password", optional=True)},
            ]
        elif callee in SANDBOXES:
            env += [
                {"name": f"EVENTSHOP_{env_key(callee)}_URL", "valueFrom": config_ref(f"{callee}-url")},
                {"name": f"EVENTSHOP_{env_key(callee)}_API_KEY",
                 "valueFrom": secret_ref(callee, "api-key", optional=True)},
            ]
        else:
            env.append({"name": f"EVENTSHOP_{env_key(callee)}_URL", "value": f"http://{resource_name(callee)}"})
    if process == "frontend":
        env += [
            {"name": "EVENTSHOP_FRONTEND_SECRET", "valueFrom": secret_ref("frontend", "session-key")},
            {"name": "EVENTSHOP_MAIL_URL", "valueFrom": config_ref("mail-url")},
        ]
    if process in SANDBOXES:
        env.append(sandbox_key(process))
    if process == CONSOLE:
        env += console_environment(sandboxes)
    return env


def sandbox_key(sandbox: str) -> Manifest:
    """Optional: without it the sandbox's fault switches (and the mail catcher's deleting) are off."""
    return {"name": sandbox_key_variable(sandbox), "valueFrom": secret_ref(SANDBOX_KEYS, sandbox, optional=True)}


def console_environment(sandboxes: bool) -> list[Manifest]:
    """The console asks every process (health, outboxes, orders) and the broker as the operator."""
    env: list[Manifest] = [
        {"name": "EVENTSHOP_NATS_URL", "valueFrom": config_ref("nats-url")},
        {"name": "EVENTSHOP_NATS_USER", "value": OPERATOR},
        {"name": "EVENTSHOP_NATS_PASSWORD", "valueFrom": secret_ref(f"nats-{OPERATOR}", "password")},
        {"name": "EVENTSHOP_CONSOLE_PASSWORD", "valueFrom": secret_ref(CONSOLE, "password")},
        {"name": "EVENTSHOP_CONSOLE_SECRET", "valueFrom": secret_ref(CONSOLE, "session-key")},
        {"name": "EVENTSHOP_CONSOLE_SANDBOXES", "value": str(sandboxes).lower()},
    ]
    env += [{"name": f"EVENTSHOP_{env_key(name)}_URL", "value": f"http://{resource_name(name)}"}
            for name in [*SERVICES, FRONTEND]]
    if sandboxes:
        env += [{"name": f"EVENTSHOP_{env_key(name)}_URL", "valueFrom": config_ref(f"{name}-url")}
                for name in SANDBOXES]
        env += [sandbox_key(name) for name in SANDBOXES]
    return env


def arguments(process: str) -> list[str]:
    if process in SERVICES:
        return ["serve", process, "--port", str(PORT)]
    if process in ("frontend", CONSOLE):
        return [process, "--port", str(PORT)]
    extra = ["--smtp-port", str(SMTP_PORT)] if process == "mail" else []
    return ["sandbox", process, "--port", str(PORT), "--data-dir", "/data", *extra]


def deployment(process: str, image: str, replicas: int, saga: Style = "choreography", sandboxes: bool = True
               ) -> Manifest:
    labels = {"app.kubernetes.io/name": process, "app.kubernetes.io/part-of": PART_OF}
    # services and the frontend tell live from ready; a sandbox has one /health
    ready, live = ("/health", "/health") if process in SANDBOXES else ("/health/ready", "/health/live")
    ports = [{"name": "http", "containerPort": PORT}]
    if process == "mail":
        ports.append({"name": "smtp", "containerPort": SMTP_PORT})
    container: Manifest = {
        "name": process,
        "image": image,
        "args": arguments(process),
        "ports": ports,
        "env": environment(process, saga, sandboxes),
        # a service may wait up to a minute for a forming cluster before it is ready
        "startupProbe": {"httpGet": {"path": live, "port": "http"}, "periodSeconds": 2, "failureThreshold": 45},
        "readinessProbe": {"httpGet": {"path": ready, "port": "http"}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": live, "port": "http"}, "periodSeconds": 10, "failureThreshold": 3},
        "resources": {"requests": {"cpu": "100m", "memory": "160Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
        "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    metadata: Manifest = {"labels": labels}
    if process in (*SERVICES, "frontend"):
        metadata["annotations"] = {"prometheus.io/scrape": "true", "prometheus.io/port": str(PORT),
                                   "prometheus.io/path": "/metrics"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": resource_name(process), "labels": labels},
        "spec": {
            # a sandbox keeps its state in one SQLite file, and the console its rates' samples and its sign-in
            # throttle in memory: one replica
            "replicas": 1 if process in (*SANDBOXES, CONSOLE) else replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": metadata,
                "spec": {
                    # SIGTERM: stop fetching, finish the message in hand, flush the outbox
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                    "containers": [container],
                    "volumes": [{"name": "data", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


def setup_job(image: str) -> Manifest:
    """Streams are created and updated as the operator (services may not): run once per release."""
    labels = {"app.kubernetes.io/name": "setup-broker", "app.kubernetes.io/part-of": PART_OF}
    container: Manifest = {
        "name": "setup-broker",
        "image": image,
        "args": ["setup-broker"],
        "env": [
            {"name": "EVENTSHOP_NATS_URL", "valueFrom": config_ref("nats-url")},
            {"name": "EVENTSHOP_STREAM_REPLICAS", "valueFrom": config_ref("stream-replicas")},
            {"name": "EVENTSHOP_NATS_USER", "value": OPERATOR},
            {"name": "EVENTSHOP_NATS_PASSWORD", "valueFrom": secret_ref(f"nats-{OPERATOR}", "password")},
        ],
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": resource_name("setup-broker"), "labels": labels},
        "spec": {"backoffLimit": 10, "template": {"metadata": {"labels": labels}, "spec": {
            "restartPolicy": "OnFailure",
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
            "containers": [container],
        }}},
    }


def service(process: str) -> Manifest:
    labels = {"app.kubernetes.io/name": process, "app.kubernetes.io/part-of": PART_OF}
    ports = [{"name": "http", "port": 80, "targetPort": "http"}]
    if process == "mail":
        ports.append({"name": "smtp", "port": SMTP_PORT, "targetPort": "smtp"})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": resource_name(process), "labels": labels},
        "spec": {"selector": labels, "ports": ports},
    }


def config_map(nats_url: str, stream_replicas: int, sandboxes: bool) -> Manifest:
    """Where the broker and the external systems are: the sandboxes, or `.invalid` hosts to replace."""
    def at(name: str) -> str:
        return resource_name(name) if sandboxes else f"{name}.invalid"

    data = {"nats-url": nats_url, "stream-replicas": str(stream_replicas),
            "smtp-host": at("mail"), "smtp-port": str(SMTP_PORT if sandboxes else 587),
            "smtp-start-tls": str(not sandboxes).lower(),
            "mail-url": f"http://{at('mail')}"}
    data |= {f"{name}-url": f"http://{at(name)}" for name in SANDBOXES if name != "mail"}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": PART_OF}, "data": data}


def processes(sandboxes: bool, console: bool = True) -> list[str]:
    return [*SERVICES, "frontend", *(SANDBOXES if sandboxes else ()), *((CONSOLE,) if console else ())]


def callers(process: str, saga: Style = "choreography") -> list[str]:
    """The processes whose calls `process` serves, by the registry (the event-driven style)."""
    return sorted({source for source in [*SERVICES, FRONTEND] if process in callees(source, saga)})


def network_policies(saga: Style = "choreography") -> list[Manifest]:
    """Deny every connection into the shop's pods but the registry's edges; the frontend takes the Ingress's."""
    part_of = {"app.kubernetes.io/part-of": PART_OF}
    documents: list[Manifest] = [{
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": resource_name("default-deny")},
        "spec": {"podSelector": {"matchLabels": part_of}, "policyTypes": ["Ingress"]},
    }]
    for process in [*SERVICES, FRONTEND, *SANDBOXES]:
        port = "smtp" if process == "mail" else "http"
        peers = [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": caller, **part_of}}}
                 for caller in callers(process, saga)]
        rule: Manifest = {"ports": [{"port": port}]}
        if process != FRONTEND:  # the frontend: from anywhere (the ingress controller), on its http port
            rule["from"] = peers
        if process != FRONTEND and not peers:
            continue  # nobody calls it: the default deny stands
        documents.append({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": resource_name(f"{process}-callers")},
            "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": process, **part_of}},
                     "policyTypes": ["Ingress"], "ingress": [rule]},
        })
    return documents


def console_policy() -> Manifest:
    """The console may ask every pod of the shop on its HTTP port (health, outboxes, orders, fault switches);
    nothing may reach the console itself but `kubectl port-forward`."""
    part_of = {"app.kubernetes.io/part-of": PART_OF}
    console = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": CONSOLE, **part_of}}}
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": resource_name("console-asks")},
        "spec": {"podSelector": {"matchLabels": part_of}, "policyTypes": ["Ingress"],
                 "ingress": [{"from": [console], "ports": [{"port": "http"}]}]},
    }


def ingress(host: str, tls_secret: str | None) -> Manifest:
    spec: Manifest = {"rules": [{"host": host, "http": {"paths": [{
        "path": "/", "pathType": "Prefix",
        "backend": {"service": {"name": resource_name(FRONTEND), "port": {"name": "http"}}}}]}}]}
    if tls_secret:
        spec["tls"] = [{"hosts": [host], "secretName": tls_secret}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": PART_OF}, "spec": spec}


def http_keys() -> list[Manifest]:
    """A Secret with the private key of each HTTP identity, the ConfigMap of public keys, the frontend's cookie
    secret, the console's password and cookie secret, and the sandboxes' operator keys."""
    import json
    import secrets

    private = generate_keys()
    documents: list[Manifest] = [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": resource_name(f"http-{name}")},
         "type": "Opaque", "stringData": {"private-key": key}}
        for name, key in private.items()
    ]
    documents.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": resource_name("http-public-keys")},
                      "data": {PUBLIC_KEYS: json.dumps(public_keys_of(private), indent=2) + "\n"}})
    documents.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": resource_name("frontend")},
                      "type": "Opaque", "stringData": {"session-key": secrets.token_urlsafe(32)}})
    documents.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": resource_name(CONSOLE)},
                      "type": "Opaque", "stringData": {"password": secrets.token_urlsafe(18),
                                                       "session-key": secrets.token_urlsafe(32)}})
    documents.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": resource_name(SANDBOX_KEYS)},
                      "type": "Opaque", "stringData": {name: secrets.token_urlsafe(32) for name in SANDBOXES}})
    return documents


def required_secrets() -> list[str]:
    """The `kubectl create secret` lines an operator runs first (values are placeholders)."""
    lines = ["eventshop deploy http-keys | kubectl apply -f -   # once; again to rotate (see docs/operations.md)"]
    lines += [
        f"kubectl create secret generic {resource_name(name + '-database')} "
        f"--from-literal=url=postgresql+asyncpg://<user>:<password>@<host>/eventshop_{name}"
        for name in SERVICES
    ]
    lines += [f"kubectl create secret generic {resource_name('nats-' + identity.name)} --from-literal=password=<random>"
              for identity in identities()]
    return lines


def manifests(image: str, nats_url: str, replicas: int, stream_replicas: int, sandboxes: bool,
              host: str = "shop.example.com", tls_secret: str | None = None,
              saga: Style = "choreography", console: bool = True) -> list[Manifest]:
    documents = [config_map(nats_url, stream_replicas, sandboxes), setup_job(image)]
    for process in processes(sandboxes, console):
        documents += [deployment(process, image, replicas, saga, sandboxes), service(process)]
    policies = [*network_policies(saga), *([console_policy()] if console else [])]
    return [*documents, *policies, ingress(host, tls_secret)]


class _PlainDumper(yaml.SafeDumper):
    """No anchors and aliases: each manifest reads on its own."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(documents: list[Manifest], sandboxes: bool = True) -> str:
    header = ["# eventshop on Kubernetes: generated by `eventshop deploy kubernetes`.",
              "# Create these secrets first (provider API keys and SMTP credentials are optional):",
              *(f"#   {line}" for line in required_secrets())]
    if not sandboxes:
        header.append("# Replace the .invalid provider and SMTP addresses in the ConfigMap with the real ones.")
    body = yaml.dump_all(documents, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False)
    return "\n".join(header) + "\n---\n" + body


def kubernetes(
    image: Annotated[str, typer.Option(help="the eventshop image (built from the Dockerfile)")] = "eventshop:latest",
    nats_url: Annotated[str, typer.Option(help="broker URL(s), comma-separated for a cluster")] = "nats://nats:4222",
    replicas: Annotated[int, typer.Option(help="processes per service and frontend", min=1, max=20)] = 2,
    stream_replicas: Annotated[int, typer.Option(help="JetStream replicas per stream", min=1, max=5)] = 3,
    sandboxes: Annotated[bool, typer.Option(help="also run the three sandboxes instead of real providers")] = True,
    host: Annotated[str, typer.Option(help="the shop's host name, for the frontend's Ingress")] = "shop.example.com",
    tls_secret: Annotated[str | None, typer.Option(help="a TLS Secret for the Ingress (cert-manager's, say)")] = None,
    saga: Annotated[str, typer.Option(help="choreography or orchestration: EVENTSHOP_SAGA for every process, and "
                                      "the calls the NetworkPolicies admit")] = "choreography",
    console: Annotated[bool, typer.Option(help="also run the operator console (it holds the operator key; reach it "
                                          "with kubectl port-forward)")] = True,
) -> None:
    """Print Kubernetes manifests: a Deployment and a Service per process (the operator console's too), one
    ConfigMap, NetworkPolicies that admit only the registry's calls (of the saga style) and the console's, and an
    Ingress for the frontend only."""
    style = saga_style("--saga", saga)
    documents = manifests(image, nats_url, replicas, stream_replicas, sandboxes, host, tls_secret, style, console)
    typer.echo(render(documents, sandboxes), nl=False)


def http_keys_command() -> None:
    """Print fresh HTTP keys as Kubernetes objects: a Secret per identity (services, frontend, operator), the
    ConfigMap of public keys, the frontend's cookie secret, the console's password and cookie secret, and the
    sandboxes' operator keys. Apply once; apply again to rotate."""
    typer.echo(f"# Generated by `eventshop deploy http-keys`: {len(IDENTITIES)} private keys. Keep the operator's\n"
               "# (eventshop-http-operator) for the CLI: EVENTSHOP_HTTP_KEY=<its private-key>. The console's\n"
               "# password: kubectl get secret eventshop-console -o jsonpath='{.data.password}' | base64 -d")
    typer.echo(yaml.dump_all(http_keys(), Dumper=_PlainDumper, sort_keys=False), nl=False)


def nats_config() -> None:
    """Print nats-server's authorization block: one user per service and the operator, permissions from the registry."""
    typer.echo("# Generated by `eventshop deploy nats-config`; include it in nats-server.conf. Each password is\n"
               "# read from the server's environment: give the server pod NATS_PASSWORD_<NAME> from the same\n"
               "# eventshop-nats-<name> secrets the services use. Serve TLS too (see docs/operations.md).")
    typer.echo(server_config(), nl=False)


app = typer.Typer(no_args_is_help=True, help="Generate deployment manifests.")
app.command()(kubernetes)
app.command("nats-config")(nats_config)
app.command("http-keys")(http_keys_command)
