"""Orders by status and age, a search by order or customer id, and one page per order with its whole story and
the waterfall of its traces."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from eventshop.console.calls import Unanswered
from eventshop.console.pages import calls, error_page, redirect, render
from eventshop.console.signin import signed_in
from eventshop.console.story import order_story
from eventshop.console.waterfall import RecordedSpan, Waterfall, waterfall
from eventshop.contracts.registry import SERVICES
from eventshop.platform.identity import FRONTEND

router = APIRouter(prefix="/orders", dependencies=[Depends(signed_in)])
STATUSES = ("created", "processing", "paid", "shipped", "cancelled")
PAGE_SIZE = 50
Id = Annotated[str, Path(min_length=1, max_length=64)]
RECORDING = (FRONTEND, *SERVICES)  # the processes that keep their recent spans (GET /ops/traces/{trace_id})
TRACE_SECONDS = 2.0  # a process that does not answer by then is a notice, not a slow page
MAX_TRACES = 4


@router.get("", response_class=HTMLResponse, response_model=None)
async def list_orders(
    request: Request,
    q: Annotated[str, Query(max_length=64, description="an order id or a customer id")] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    older_than_minutes: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse | RedirectResponse:
    """An order id goes straight to its page; anything else searched for is a customer id."""
    q = q.strip()
    form = {"q": q, "status": status, "older_than_minutes": older_than_minutes.strip()}
    problems = []
    if status and status not in STATUSES:
        problems.append(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    minutes = _minutes(form["older_than_minutes"])
    if minutes is None and form["older_than_minutes"]:
        problems.append("the age is a number of minutes greater than 0, e.g. 10 or 0.5")
    if problems:
        return render(request, "orders.html", status=400, form=form, statuses=STATUSES, found=None,
                      problems=problems, title="Orders")
    try:
        if q and await calls(request).get("order", "orders", q) is not None:
            return redirect(f"/orders/{q}")
        found = await calls(request).get("order", "orders", customer_id=q or None, status=status or None,
                                         older_than=minutes * 60 if minutes else None, page=page,
                                         page_size=PAGE_SIZE)
    except Unanswered as exc:
        return render(request, "orders.html", form=form, statuses=STATUSES, found=None, unavailable=[str(exc)],
                      title="Orders")
    return render(request, "orders.html", form=form, statuses=STATUSES, found=found, page=page,
                  pages=max(1, -(-found["total"] // PAGE_SIZE)), title="Orders")


def _minutes(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if 0 < value <= 10 * 366 * 24 * 60 else None


@router.get("/{order_id}", response_class=HTMLResponse)
async def show_order(request: Request, order_id: Id) -> HTMLResponse:
    """The order's timeline, its payment and refunds, its shipment and the emails sent, merged in time order."""
    try:
        order = await calls(request).get("order", "orders", order_id)
    except Unanswered as exc:
        return error_page(request, 503, "The Order service did not answer", str(exc))
    if order is None:
        return error_page(request, 404, "Order not found", f"There is no order {order_id}.")
    (parts, unavailable), (traces, trace_notices) = await asyncio.gather(_parts(request, order),
                                                                         _traces(request, order))
    return render(request, "order.html", order=order, story=order_story(order, **parts), unavailable=unavailable,
                  traces=traces, trace_notices=trace_notices, title=f"Order {order_id}", **parts)


async def _parts(request: Request, order: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Payment, shipment and notifications of one order, asked together; one that does not answer is a notice."""
    operator = calls(request)
    names = ("payment", "shipment", "notifications")
    answers = await asyncio.gather(operator.get("payment", "payments", order["id"]),
                                   operator.get("shipping", "shipments", order["id"]),
                                   _notifications(request, order), return_exceptions=True)
    found: dict[str, Any] = {"payment": None, "shipment": None, "notifications": []}
    unavailable = []
    for name, answer in zip(names, answers, strict=True):
        if isinstance(answer, Unanswered):
            unavailable.append(f"No {name} shown: {answer}")
        elif isinstance(answer, BaseException):
            raise answer
        else:
            found[name] = answer
    return found, unavailable


async def _notifications(request: Request, order: dict[str, Any]) -> list[dict[str, Any]]:
    """The customer's notifications about this order (the newest 100 of theirs are looked through)."""
    page = await calls(request).get("notification", "notifications", customer_id=order["customer_id"],
                                    page_size=100)
    return [item for item in (page or {"items": []})["items"] if item.get("order_id") == order["id"]]


async def _traces(request: Request, order: dict[str, Any]) -> tuple[list[tuple[str, Waterfall | None]], list[str]]:
    """The traces the order's timeline names (the checkout's first), each from the spans every process still
    holds, asked all at once; what a process could not tell is a notice."""
    trace_ids = list(dict.fromkeys(item["trace_id"] for item in order.get("timeline", []) if item.get("trace_id")))
    if not trace_ids:
        return [], ["The order's timeline names no trace (it was placed while the shop traced nothing)."]
    shown = trace_ids[:MAX_TRACES]
    asked = [(name, trace_id) for trace_id in shown for name in RECORDING]
    answers = await asyncio.gather(*(calls(request).get(name, "ops", "traces", trace_id, timeout=TRACE_SECONDS)
                                     for name, trace_id in asked), return_exceptions=True)
    spans: dict[str, list[RecordedSpan]] = {trace_id: [] for trace_id in shown}
    notices: dict[str, str] = {}  # by process: one notice each, whatever the number of traces
    for (name, trace_id), answer in zip(asked, answers, strict=True):
        if isinstance(answer, Unanswered):
            notices[name] = f"No spans from {name}: {answer}"
        elif isinstance(answer, BaseException):
            raise answer
        elif answer is None:
            notices[name] = f"No spans from {name}: it serves no recent traces (an older version)"
        elif not answer["recording"]:
            notices[name] = f"No spans from {name}: it records none (EVENTSHOP_TRACE_RECORDING=false)"
        else:
            spans[trace_id] += [RecordedSpan.of(name, served) for served in answer["spans"]]
    if len(trace_ids) > len(shown):
        notices[""] = f"{len(trace_ids) - len(shown)} later trace(s) of this order not shown"
    return [(trace_id, waterfall(trace_id, spans[trace_id])) for trace_id in shown], list(notices.values())
