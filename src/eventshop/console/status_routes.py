"""The processes and their health (what `eventshop status` shows) and the event flow with its rates and
backlogs; `/flow.json` has the flow's figures for the page's own refresh."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from eventshop.console.flow import TopicFlow, counts_of, event_flow, figures_of, service_name, window_text
from eventshop.console.pages import calls, render
from eventshop.console.rates import Rates, RateSampler
from eventshop.console.signin import ConsoleSettings, signed_in
from eventshop.platform.identity import SANDBOXES
from eventshop.platform.settings import Settings
from eventshop.platform.shopstatus import running_state, survey

router = APIRouter(dependencies=[Depends(signed_in)])
REFRESH_SECONDS = 5  # the flow page's figures, by its script (or, without scripts, by reloading)


async def shop_report(request: Request) -> tuple[dict[str, Any], Rates]:
    """`eventshop status`'s figures, every process and the broker asked at once over the console's connections;
    each report is also a sample for the rates."""
    settings: Settings = request.app.state.settings
    console: ConsoleSettings = request.app.state.console
    report = await survey(settings, running_state(settings), calls(request).asking(),
                          leave_out=() if console.sandboxes else SANDBOXES)
    sampler: RateSampler = request.app.state.rates
    rates = sampler.add(counts_of(report), time.monotonic()) if report["broker_error"] is None else Rates(None)
    return report, rates


async def current_flow(request: Request) -> tuple[dict[str, Any], Rates, list[TopicFlow]]:
    report, rates = await shop_report(request)
    settings: Settings = request.app.state.settings
    return report, rates, event_flow(report, rates, settings.saga)


@router.get("/", response_class=HTMLResponse)
async def processes(request: Request) -> HTMLResponse:
    report, _ = await shop_report(request)
    return render(request, "processes.html", report=report, title="Processes")


@router.get("/flow", response_class=HTMLResponse)
async def flow(request: Request) -> HTMLResponse:
    report, rates, flows = await current_flow(request)
    return render(request, "flow.html", report=report, flows=flows, window=window_text(rates), name=service_name,
                  refresh_seconds=REFRESH_SECONDS, title="Event flow")


@router.get("/flow.json")
async def flow_figures(request: Request) -> dict[str, Any]:
    """What the flow page shows, by the `data-figure` id of each element: text and whether it is busy."""
    report, rates, flows = await current_flow(request)
    return {"over_seconds": rates.over_seconds, "broker_error": report["broker_error"],
            "figures": figures_of(flows, rates)}
