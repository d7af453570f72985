"""Order pages: the history, one order, and its live status over Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from eventshop.frontend import sessions
from eventshop.frontend.clients import Unavailable
from eventshop.frontend.order_view import FINAL, LIVE_NOTE, customer_view, note
from eventshop.frontend.pages import backend, error_page, render, signin_redirect
from eventshop.platform.errors import DomainError, NotFound
from eventshop.platform.http import url_path

router = APIRouter()
PAGE_SIZE = 10
POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0
# The browser's EventSource reconnects by itself when a stream ends. Ending streams this often keeps a
# forgotten tab from holding one for ever, and bounds how long an open stream delays a graceful shutdown
# (uvicorn waits for running responses before it stops).
STREAM_LIMIT_SECONDS = 30.0
RECONNECT_MILLISECONDS = 2000
PAUSED = "Live updates are paused for a moment; they resume by themselves."
OrderId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


@router.get("/orders", response_class=HTMLResponse, response_model=None)
async def orders(request: Request, page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> HTMLResponse | RedirectResponse:
    who = sessions.customer(request)
    if who is None:
        return signin_redirect(request)
    unavailable: list[str] = []
    shop = backend(request)
    params = {"customer_id": who["id"], "page": page, "page_size": PAGE_SIZE}
    found = await shop.optional(shop.get("order", "/orders", params), unavailable)
    return render(request, "orders.html", orders=found["items"] if found else [], page=page,
                  more=bool(found and found["total"] > page * PAGE_SIZE), unavailable=unavailable)


async def owned_order(request: Request, customer_id: str, order_id: str) -> dict[str, Any] | None:
    """The order if it is this customer's; None if it does not exist or is someone else's. Raises Unavailable."""
    try:
        found: dict[str, Any] = await backend(request).get("order", url_path("orders", order_id))
    except NotFound:
        return None
    except DomainError as exc:
        if exc.status == 403:  # Order refuses another customer's order: to the shopper it does not exist
            return None
        raise
    return found if found.get("customer_id") == customer_id else None


@router.get("/orders/{order_id}", response_class=HTMLResponse, response_model=None)
async def order(request: Request, order_id: OrderId) -> HTMLResponse | RedirectResponse:
    who = sessions.customer(request)
    if who is None:
        return signin_redirect(request)
    try:
        found = await owned_order(request, who["id"], order_id)
    except Unavailable as exc:
        return render(request, "order.html", order=None, order_id=order_id, unavailable=[str(exc)])
    if found is None:
        return error_page(request, 404, "Order not found", "We could not find that order in your account.")
    return render(request, "order.html", order=found, order_id=order_id, view=customer_view(found),
                  final=found["status"] in FINAL)


@router.get("/orders/{order_id}/events")
async def order_events(request: Request, order_id: OrderId) -> Response:
    """Server-Sent Events: `order` with the live fields whenever they change, `end` once shipped or cancelled."""
    who = sessions.customer(request)
    if who is None:
        return Response("sign in first", status_code=401, media_type="text/plain")
    try:
        first = await owned_order(request, who["id"], order_id)
    except Unavailable:
        first = None  # the stream keeps asking until the Order service answers again
    else:
        if first is None:
            return Response("no such order", status_code=404, media_type="text/plain")
    return StreamingResponse(_order_stream(request, who["id"], order_id, first), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n"


async def _order_stream(request: Request, customer_id: str, order_id: str,
                        found: dict[str, Any] | None) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STREAM_LIMIT_SECONDS
    yield f"retry: {RECONNECT_MILLISECONDS}\n\n"
    sent: dict[str, Any] | None = None
    quiet_since, was_down = loop.time(), False
    while True:
        if found is not None:
            live = {"id": found.get("id"), **customer_view(found)}
            if live != sent:
                sent, quiet_since = live, loop.time()
                yield _event("order", live)
            if found["status"] in FINAL:
                yield _event("end", {"status": found["status"], "note": note(found["status"])})
                return
        if loop.time() > deadline:
            return
        if loop.time() - quiet_since > HEARTBEAT_SECONDS:
            quiet_since = loop.time()
            yield ": still watching\n\n"
        await asyncio.sleep(POLL_SECONDS)
        if await request.is_disconnected():
            return
        try:
            found = await owned_order(request, customer_id, order_id)
        except Unavailable:
            found = None
            if not was_down:
                yield _event("unavailable", {"message": PAUSED})
            was_down = True
            continue
        if found is None:
            yield _event("end", {"status": None})
            return
        if was_down:
            was_down = False
            yield _event("available", {"note": LIVE_NOTE})
