"""The processes and their health (what `eventshop status` shows) and the event flow with its backlogs."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from eventshop.console.flow import event_flow, service_name
from eventshop.console.pages import render
from eventshop.console.signin import signed_in
from eventshop.platform.settings import Settings
from eventshop.platform.shopstatus import gather, running_state

router = APIRouter(dependencies=[Depends(signed_in)])


async def shop_report(request: Request) -> dict[str, Any]:
    """`eventshop status`'s figures, gathered off the event loop (a frozen process costs one timeout)."""
    settings: Settings = request.app.state.settings
    return await asyncio.to_thread(gather, settings, running_state(settings))


@router.get("/", response_class=HTMLResponse)
async def processes(request: Request) -> HTMLResponse:
    report = await shop_report(request)
    return render(request, "processes.html", report=report, title="Processes")


@router.get("/flow", response_class=HTMLResponse)
async def flow(request: Request) -> HTMLResponse:
    report = await shop_report(request)
    return render(request, "flow.html", report=report, flows=event_flow(report), name=service_name,
                  title="Event flow")
