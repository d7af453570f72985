"""The sandboxes' fault switches: each one's error rate, added latency and outage as it has them now, and a
form to change them, sent to the sandbox's admin API with its operator key (docs/external-systems.md)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from eventshop.console.calls import Unanswered, problem_of
from eventshop.console.pages import calls, redirect, render
from eventshop.console.signin import ConsoleSettings, flash, signed_in
from eventshop.platform.identity import SANDBOXES, sandbox_key_file, sandbox_key_variable, sandbox_operator_key
from eventshop.platform.settings import Settings

router = APIRouter(prefix="/faults", dependencies=[Depends(signed_in)])
TITLES = {"payment-system": "Payment System", "logistics-system": "Logistics System", "mail": "Email System"}
FAULTS_PATH = "/admin/faults"
Sandbox = Annotated[Literal["payment-system", "logistics-system", "mail"], Path()]
Field = Annotated[str, Form(max_length=40)]


@dataclass(frozen=True)
class Switches:
    """One sandbox's switches as it answered, or why they are unknown."""

    sandbox: str
    title: str
    faults: dict[str, Any] | None
    problem: str
    key_hint: str  # where the operator key comes from, when the console has none (changing is off then)


async def switches_of(request: Request, sandbox: str) -> Switches:
    settings: Settings = request.app.state.settings
    key_hint = "" if sandbox_operator_key(settings, sandbox) else (
        f"{sandbox_key_variable(sandbox)} or <http secrets>/{sandbox_key_file(sandbox)}")
    try:
        answer = await calls(request).sandbox(sandbox, "GET", FAULTS_PATH)
    except Unanswered as exc:
        return Switches(sandbox, TITLES[sandbox], None, str(exc), key_hint)
    if answer.status_code != 200:
        return Switches(sandbox, TITLES[sandbox], None, f"{sandbox} answered {answer.status_code}: "
                                                        f"{problem_of(answer)}", key_hint)
    return Switches(sandbox, TITLES[sandbox], answer.json(), "", key_hint)


async def page(request: Request, status: int = 200, problem: str = "", submitted: dict[str, Any] | None = None
               ) -> HTMLResponse:
    console: ConsoleSettings = request.app.state.console
    found = await asyncio.gather(*(switches_of(request, sandbox) for sandbox in SANDBOXES)) if console.sandboxes else []
    return render(request, "faults.html", status=status, sandboxes=found, problem=problem,
                  submitted=submitted or {}, summary=summary, title="Fault switches")


@router.get("", response_class=HTMLResponse)
async def show_switches(request: Request) -> HTMLResponse:
    return await page(request)


@router.post("/{sandbox}", response_model=None)
async def change_switches(request: Request, sandbox: Sandbox, error_rate: Field = "0", latency_ms: Field = "0",
                          outage: Field = "", clear: Field = "") -> HTMLResponse | RedirectResponse:
    """The form's values as the sandbox's PUT takes them; the sandbox checks them, and its refusal is shown."""
    title = TITLES[sandbox]
    wanted: dict[str, Any] = {} if clear else {
        "error_rate": error_rate.strip() or "0", "latency_ms": latency_ms.strip() or "0", "outage": outage == "on"}
    try:
        answer = await calls(request).sandbox(sandbox, "PUT", FAULTS_PATH, wanted)
    except Unanswered as exc:
        flash(request, f"{title}: not changed: {exc}", "error")
        return redirect("/faults")
    if answer.status_code != 200:
        status = answer.status_code if 400 <= answer.status_code < 500 else 502
        return await page(request, status, f"{title}: not changed: {problem_of(answer)}", {sandbox: wanted})
    flash(request, f"{title}: {summary(answer.json())}.")
    return redirect("/faults")


def summary(faults: dict[str, Any]) -> str:
    """`error rate 0.5, 200 ms added, outage`; `no faults`."""
    parts = []
    if faults.get("error_rate"):
        parts.append(f"error rate {faults['error_rate']:g}")
    if faults.get("latency_ms"):
        parts.append(f"{faults['latency_ms']} ms added")
    if faults.get("outage"):
        parts.append("outage")
    return ", ".join(parts) or "no faults"
