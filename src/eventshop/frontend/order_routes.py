"""Order pages: history, one order with a live timeline over Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from eventshop.frontend import sessions
from eventshop.frontend.clients import Unavailable
from eventshop.frontend.pages import backend, optional, render, signin_redirect
from eventshop.platform.errors import DomainError

router = APIRouter()
FINAL = {"shipped", "cancelled"}
POLL_SECONDS = 0.5
STREAM_LIMIT_SECONDS = 300


@router.get("/orders", response_class=HTMLResponse, response_model=None)
async def orders(request: Request, page: Annotated[int, Query(ge=1)] = 1) -> HTMLResponse | RedirectResponse:
    who = sessions.customer(request)
    if who is None:
        return signin_redirect(request)
    unavailable: list[str] = []
    found = await optional(backend(request).get("order", "/orders", {"customer_id": who["id"], "page": page}),
                           unavailable)
    return render(request, "orders.html", orders=found["items"] if found else [], page=page,
                  more=bool(found and found["total"] > page * found["page_size"]), unavailable=unavailable)


async def _owned_order(request: Request, order_id: str) -> dict[str, Any] | None:
    who = sessions.customer(request)
    found: dict[str, Any] = await backend(request).get("order", f"/orders/{order_id}")
    return found if who and found["customer_id"] == who["id"] else None


@router.get("/orders/{order_id}", response_class=HTMLResponse, response_model=None)
async def order(request: Request, order_id: str) -> HTMLResponse | RedirectResponse:
    if sessions.customer(request) is None:
        return signin_redirect(request)
    try:
        found = await _owned_order(request, order_id)
    except Unavailable as exc:
        return render(request, "order.html", order=None, unavailable=[str(exc)])
    except DomainError:
        found = None
    if found is None:
        return render(request, "error.html", status=404, title="Order not found",
                      message="We could not find that order in your account.")
    return render(request, "order.html", order=found, final=found["status"] in FINAL)


@router.get("/orders/{order_id}/events")
async def order_events(request: Request, order_id: str) -> Response:
    """Server-Sent Events: the order as JSON each time it changes, until it is shipped or cancelled."""
    if sessions.customer(request) is None:
        return Response(status_code=401)

    async def stream() -> AsyncIterator[str]:
        last = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_LIMIT_SECONDS
        while loop.time() < deadline and not await request.is_disconnected():
            try:
                found = await _owned_order(request, order_id)
            except (Unavailable, DomainError):
                found = None
                yield ": order service unavailable, retrying\n\n"
            if found is not None:
                snapshot = json.dumps({k: found[k] for k in
                                       ("status", "reason", "carrier", "tracking_number", "timeline")})
                if snapshot != last:
                    last = snapshot
                    yield f"event: order\ndata: {snapshot}\n\n"
                if found["status"] in FINAL:
                    yield "event: end\ndata: {}\n\n"
                    return
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
