"""Every OpenAPI document is fuzzed with schemathesis against the running app, anonymously and with credentials:
no server errors, and every answer (errors included) has a status code, content type and body its schema declares.

The eight services and the three sandboxes run for real (uvicorn, the session's broker, SQLite files) in one
background event loop; schemathesis's requests then come from the test's own thread. Each operation gets a few
generated examples, so the module stays within about two minutes on a small CI machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis import APIOperation, CheckContext, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from eventshop.platform.embedded_nats import EmbeddedNats, free_port
from eventshop.platform.runtime import Service
from eventshop.platform.settings import Settings
from eventshop.sandboxes.faults import FaultConfig
from eventshop.sandboxes.logistics_system.app import create_app as logistics_app
from eventshop.sandboxes.mail.app import run_mail
from eventshop.sandboxes.payment_system.app import create_app as payment_app
from eventshop.sandboxes.runner import bind, serve_sandbox
from eventshop.services.account.service import declare as account
from eventshop.services.cart.service import declare as cart
from eventshop.services.catalog.service import declare as catalog
from eventshop.services.inventory.service import declare as inventory
from eventshop.services.notification.service import declare as notification
from eventshop.services.order.service import declare as order
from eventshop.services.payment.service import declare as payment
from eventshop.services.shipping.service import declare as shipping
from tests.brokers import operator_login
from tests.conftest import purge_streams, running
from tests.credentials import as_operator, as_service

EXAMPLES_PER_OPERATION = 25
INVALID_PER_OPERATION = 10
START_SECONDS = 30.0
SANDBOX_KEY = "fuzz-sandbox-key"
SERVICES: dict[str, Callable[[], Service[Any]]] = {
    "account": account, "cart": cart, "catalog": catalog, "inventory": inventory, "notification": notification,
    "order": order, "payment": payment, "shipping": shipping}
# Valid requests (positive mode) must get no 5xx, only declared statuses and content types, bodies that match
# their schema (error bodies included), and no refusal as malformed (schema_states_the_limits, below).
# Invalid requests (negative mode, with credentials so that the data is what gets judged) must also be refused
# with a 4xx (negative_data_rejection). Left out: positive_data_acceptance (it counts a 404 for a generated id or
# a 409 from a domain rule as a failure; schema_states_the_limits is the part of it that holds here), the
# stateful checks (use_after_free, ensure_resource_availability: no OpenAPI links are declared), ignored_auth
# and missing_required_header (some endpoints are public on purpose; no header is a declared parameter),
# unsupported_method (405s are not the contract) and response_headers_conformance (no response declares headers).
MALFORMED = ("validation_error", "invalid_request")  # the services' and the sandboxes' code for a malformed request
# Fields whose refusal JSON Schema cannot state: `format: email` is all it has, and email-validator also refuses
# reserved domains such as example.test.
FORMAT_ONLY = {"email"}


@schemathesis.check
def schema_states_the_limits(ctx: CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """A request the document calls valid is not refused as malformed: the document states every limit the code
    checks (a domain rule may still refuse it, with its own code)."""
    if response.status_code != 422:
        return
    error = response.json().get("error", {})
    fields = {problem.get("field") for problem in error.get("details") or [] if isinstance(problem, dict)}
    if error.get("code") in MALFORMED and not (fields and fields <= FORMAT_ONLY):
        raise AssertionError(f"valid by the document, refused as {error['code']}: {error.get('message')}")


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          schema_states_the_limits]
INVALID_CHECKS = [not_a_server_error, negative_data_rejection, status_code_conformance, content_type_conformance,
                  response_schema_conformance]
# Endpoints served only to the services the registry names (platform/auth.py); the operator may call the rest.
SERVICE_ONLY = {("order", "POST", "/orders"): "cart", ("payment", "POST", "/payments/{order_id}/pay"): "order",
                ("payment", "POST", "/payments/{order_id}/void"): "order",
                ("payment", "POST", "/payments/{order_id}/refund"): "order",
                ("shipping", "POST", "/shipments"): "order", ("notification", "POST", "/notifications"): "order",
                ("inventory", "POST", "/reservations"): "order",
                ("inventory", "DELETE", "/reservations/{order_id}"): "order"}
ACCOUNT_CALLERS = {"/payment-data": "payment", "/address": "shipping", "/contact": "notification",
                   "/status": "cart"}


@dataclass
class Apps:
    urls: dict[str, str] = field(default_factory=dict)


class Background:
    """One event loop in a thread that serves every app until the module's tests are done."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzzed-apps", daemon=True)
        self.thread.start()
        self.stop = asyncio.Event()
        self.ready = threading.Event()
        self.future: Any = None

    def run(self, apps: Apps, settings: Settings, data_dir: Path) -> None:
        self.future = asyncio.run_coroutine_threadsafe(self._serve_all(apps, settings, data_dir), self.loop)
        while not self.ready.wait(0.05):
            if self.future.done():
                self.future.result()
                raise AssertionError("the apps stopped before they were ready")

    async def _serve_all(self, apps: Apps, settings: Settings, data_dir: Path) -> None:
        async with contextlib.AsyncExitStack() as stack:
            for name, app in {
                "payment-system": payment_app(data_dir / "payment-system", FaultConfig(), api_key=SANDBOX_KEY),
                "logistics-system": logistics_app(data_dir / "logistics-system", FaultConfig(), step_seconds=0.2,
                                                  api_key=SANDBOX_KEY),
            }.items():
                start = serve_sandbox(app, self._bind(apps, name), self.stop, handle_signals=False, graceful_seconds=1)
                await stack.enter_async_context(self._task(start, apps.urls[name]))
            web, smtp = self._bind(apps, "mail"), bind("127.0.0.1", 0, "the fuzzed SMTP server")
            await stack.enter_async_context(
                self._task(run_mail(data_dir / "mail", web, smtp, FaultConfig(), self.stop, handle_signals=False),
                           apps.urls["mail"]))
            ports = {name: free_port() for name in SERVICES}  # all known before any starts: they call each other
            apps.urls.update({name: f"http://127.0.0.1:{port}" for name, port in ports.items()})
            settings.service_urls.update(apps.urls)
            for name, declare in SERVICES.items():
                await stack.enter_async_context(running(declare(), settings, ports[name]))
            self.ready.set()
            await self.stop.wait()

    def _bind(self, apps: Apps, name: str) -> socket.socket:
        sock = bind("127.0.0.1", 0, f"the fuzzed {name}")
        apps.urls[name] = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return sock

    @contextlib.asynccontextmanager
    async def _task(self, start: Any, url: str) -> AsyncIterator[None]:
        task = asyncio.ensure_future(start)
        deadline = asyncio.get_running_loop().time() + START_SECONDS
        async with httpx.AsyncClient(timeout=1) as http:
            while True:
                if task.done():
                    task.result()
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"{url}/health")).status_code == 200:
                        break
                assert asyncio.get_running_loop().time() < deadline, f"{url} not healthy"
                await asyncio.sleep(0.02)
        try:
            yield
        finally:
            self.stop.set()
            await task

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        if self.future is not None:
            self.future.result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def apps(nats_server: EmbeddedNats, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apps]:
    data_dir = tmp_path_factory.mktemp("fuzz")
    settings = Settings(data_dir=data_dir, nats_url=nats_server.url, nats_secrets_dir=nats_server.secrets_dir,
                        retry_base_seconds=0.05, retry_max_seconds=0.5, max_deliveries=4, http_timeout_seconds=2.0,
                        dev_secrets=True)
    background = Background()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EVENTSHOP_PAYMENT_SYSTEM_API_KEY", SANDBOX_KEY)
        env.setenv("EVENTSHOP_LOGISTICS_SYSTEM_API_KEY", SANDBOX_KEY)
        asyncio.run_coroutine_threadsafe(purge_streams(nats_server.url, operator_login(nats_server)),
                                         background.loop).result(timeout=30)
        found = Apps()
        try:
            background.run(found, settings, data_dir)
            yield found
        finally:
            background.close()


def credentials(app: str, method: str, path: str) -> dict[str, str]:
    if app in ("payment-system", "logistics-system"):
        return {"Authorization": f"Bearer {SANDBOX_KEY}"}
    caller = SERVICE_ONLY.get((app, method, path))
    if app == "account" and path.startswith("/internal/"):
        caller = next(who for suffix, who in ACCOUNT_CALLERS.items() if path.endswith(suffix))
    return as_service(caller, app) if caller else as_operator(app)


def fuzz(app: str, url: str, headers_for: Callable[[str, str], dict[str, str]],
         mode: GenerationMode = GenerationMode.POSITIVE) -> list[str]:
    """Generated requests for each operation (valid ones, or invalid ones in negative mode); the failures found."""
    document = httpx.get(f"{url}/openapi.json", timeout=10).json()
    failures: list[str] = []
    for result in schemathesis.openapi.from_dict(document).get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"{app}: an operation schemathesis cannot read: {result.err()}")
            continue
        operation = result.ok()
        if operation.path.startswith("/admin"):
            continue  # the sandboxes' fault switches: fuzzing them would switch failures on for what follows
        try:
            fuzz_operation(operation, url, headers_for(operation.method.upper(), operation.path), mode)
        except hypothesis.errors.Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE, f"{operation.label}: no valid request can be generated"
            # no invalid request exists: no parameters, or only free strings
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{app} {operation.method.upper()} {operation.path}: {exc}")
    return failures


def fuzz_operation(operation: APIOperation, url: str, headers: dict[str, str], mode: GenerationMode) -> None:
    positive = mode == GenerationMode.POSITIVE
    examples, checks = (EXAMPLES_PER_OPERATION, CHECKS) if positive else (INVALID_PER_OPERATION, INVALID_CHECKS)

    @hypothesis.settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(case=operation.as_strategy(mode))
    def check(case: schemathesis.Case) -> None:
        # Redirects are not followed: the answer checked is the operation's own (the inbox's 303 after a form).
        case.call_and_validate(base_url=url, headers=headers, checks=checks, timeout=10, allow_redirects=False)

    check()


FUZZED = [(app, auth) for app in [*SERVICES, "payment-system", "logistics-system"]
          for auth in ("anonymous", "authenticated")]
FUZZED.append(("mail", "anonymous"))  # the inbox has no credentials to send


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("app", "auth"), FUZZED)
def test_fuzzed_requests_get_no_server_error_and_only_declared_answers(apps: Apps, app: str, auth: str) -> None:
    def headers_for(method: str, path: str) -> dict[str, str]:
        return credentials(app, method, path) if auth == "authenticated" else {}

    failures = fuzz(app, apps.urls[app], headers_for)
    assert not failures, "\n\n".join(failures)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("app", [*SERVICES, "payment-system", "logistics-system", "mail"])
def test_invalid_requests_are_refused_with_a_declared_error(apps: Apps, app: str) -> None:
    def headers_for(method: str, path: str) -> dict[str, str]:
        return {} if app == "mail" else credentials(app, method, path)

    failures = fuzz(app, apps.urls[app], headers_for, GenerationMode.NEGATIVE)
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("app", [*SERVICES, "payment-system", "logistics-system", "mail"])
def test_every_operation_declares_the_error_body_for_4xx_and_5xx(apps: Apps, app: str) -> None:
    document = httpx.get(f"{apps.urls[app]}/openapi.json", timeout=10).json()
    assert document["components"]["schemas"]["ErrorDetail"]["required"] == ["code", "message"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status in ("4XX", "5XX"):
                declared = operation["responses"][status]["content"]
                schemas = [media["schema"] for media in declared.values()]
                assert schemas == [{"$ref": "#/components/schemas/ErrorBody"}], f"{app} {method} {path} {status}"


def pydantic_keywords(schema: Any, where: str = "") -> Iterator[str]:
    """Where a schema holds pydantic's bound names (ge, le, gt, lt) instead of JSON Schema's: limits a client
    and schemathesis cannot see."""
    if isinstance(schema, dict):
        yield from (f"{where}/{key}" for key in ("ge", "le", "gt", "lt") if key in schema)
        for key, value in schema.items():
            yield from pydantic_keywords(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from pydantic_keywords(value, f"{where}/{index}")


@pytest.mark.parametrize("app", [*SERVICES, "payment-system", "logistics-system", "mail"])
def test_every_limit_is_stated_in_json_schema_terms(apps: Apps, app: str) -> None:
    document = httpx.get(f"{apps.urls[app]}/openapi.json", timeout=10).json()
    assert list(pydantic_keywords(document)) == []
