"""Each process that `eventshop up` starts loads only what it uses (measured RSS: docs/operations.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")

# What the process does before it serves: the CLI resolves its command, then it builds its app.
ENTRY = {
    "serve order": """
load_command("serve")
from eventshop.cli.loading import load_service
from eventshop.platform.runtime import ServiceRuntime
ServiceRuntime(load_service("order"), Settings(nats_url="nats://127.0.0.1:1", dev_secrets=True)).app()
from eventshop.platform.tracing import configure_tracing
configure_tracing("order", Settings())
from eventshop.platform.serving import server_config
server_config(lambda scope, receive, send: None, "127.0.0.1", 1, 5).load()
""",
    "serve notification": """
load_command("serve")
from eventshop.cli.loading import load_service
from eventshop.platform.runtime import ServiceRuntime
ServiceRuntime(load_service("notification"), Settings(nats_url="nats://127.0.0.1:1", dev_secrets=True)).app()
""",
    "frontend": """
load_command("frontend")
from eventshop.frontend.app import create_app
create_app(Settings(dev_secrets=True))
from eventshop.platform.tracing import configure_tracing
configure_tracing("frontend", Settings())
""",
    "console": """
load_command("console")
from eventshop.console.app import create_app
from eventshop.console.signin import ConsoleSettings
create_app(Settings(dev_secrets=True), ConsoleSettings(password="a console password", secret="a cookie secret"))
""",
    "sandbox mail": """
load_command("sandbox")
from eventshop.sandboxes.mail.app import run_mail
""",
    "sandbox payment-system": """
load_command("sandbox")
from eventshop.sandboxes.payment_system.app import create_app
""",
}
# Without an OTLP endpoint, tracing loads nothing (the SDK and its exporter cost about 8 MiB per process).
UNTRACED = ["opentelemetry.sdk", "opentelemetry.exporter", "google.protobuf", "requests"]
# uvicorn's code reloader and WebSocket protocols: no process reloads code or serves WebSockets.
UNSERVED = ["watchfiles", "websockets"]
NOT_USED = {
    "serve order": [*UNTRACED, *UNSERVED, "httpx", "jinja2", "alembic", "mako", "rich", "pygments", "yaml",
                    "eventshop.frontend", "eventshop.sandboxes", "eventshop.services.cart",
                    "eventshop.services.payment"],
    # Jinja2 comes with the first email (services/notification/email_bodies.py).
    "serve notification": [*UNTRACED, *UNSERVED, "httpx", "jinja2", "alembic", "rich", "eventshop.frontend",
                           "eventshop.sandboxes", "eventshop.services.order", "eventshop.services.payment"],
    # The frontend's calls go over aiohttp (ServiceClient, the test cards' public endpoint): no httpx.
    "frontend": [*UNTRACED, *UNSERVED, "sqlalchemy", "alembic", "nats", "rich", "httpx", "eventshop.services",
                 "eventshop.sandboxes"],
    "console": [*UNTRACED, *UNSERVED, "sqlalchemy", "alembic", "rich", "eventshop.services", "eventshop.sandboxes",
                "eventshop.frontend"],
    # A sandbox reads only its operator key (a shared secret): no token signing, so no cryptography or PyJWT.
    "sandbox mail": [*UNSERVED, "sqlalchemy", "alembic", "nats", "jinja2", "rich", "cryptography", "jwt",
                     "eventshop.services", "eventshop.frontend", "eventshop.sandboxes.payment_system"],
    "sandbox payment-system": [*UNSERVED, "sqlalchemy", "alembic", "nats", "jinja2", "rich", "cryptography", "jwt",
                               "eventshop.services", "eventshop.frontend", "eventshop.sandboxes.mail"],
}


def modules_after(steps: str, tmp_path: Path) -> set[str]:
    # Modules blocked in cli/main.py stand in sys.modules as None: not loaded.
    program = "import json, sys\nfrom eventshop.cli.main import load_command\n" \
              "from eventshop.platform.settings import Settings\n" + steps + \
              "\nprint(json.dumps(sorted(k for k, v in sys.modules.items() if v is not None)))"
    env = {**os.environ, "PYTHONPATH": SRC, "EVENTSHOP_DATA_DIR": str(tmp_path)}
    for tracing in ("EVENTSHOP_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        env.pop(tracing, None)
    result = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


@pytest.mark.parametrize("process", sorted(ENTRY))
def test_process_does_not_import_what_it_does_not_use(process: str, tmp_path: Path) -> None:
    loaded = modules_after(ENTRY[process], tmp_path)

    leaked = [name for name in NOT_USED[process] if any(m == name or m.startswith(name + ".") for m in loaded)]

    assert leaked == [], f"{process} imports {leaked}"


def test_cli_entry_point_imports_no_command_module(tmp_path: Path) -> None:
    loaded = modules_after("", tmp_path)

    assert not any(m.startswith(("eventshop.cli.up", "eventshop.cli.serve", "sqlalchemy", "fastapi")) for m in loaded)
