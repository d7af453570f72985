"""Notification REST API: a customer's notifications, and the orchestrated "Notify Customer"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from eventshop.contracts.values import MAX_ID, MAX_PAGE
from eventshop.platform.auth import CustomerOrOperator, callers_of_request, require_customer
from eventshop.platform.runtime import context_of
from eventshop.services.notification import usecases
from eventshop.services.notification.usecases import NotificationContext

router = APIRouter(tags=["notifications"])
Ctx = Annotated[NotificationContext, Depends(context_of)]


class NotificationView(BaseModel):
    id: int
    customer_id: str
    order_id: str | None
    event_type: str
    event_id: str | None
    channel: str
    recipient: str | None
    subject: str | None
    why: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationView]
    page: int
    page_size: int
    total: int


class NotifyCustomer(BaseModel):
    customer_id: str = Field(min_length=1, max_length=MAX_ID)
    order_id: str = Field(min_length=1, max_length=MAX_ID)
    subject: str = Field(min_length=1, max_length=300)
    message: str = Field(min_length=1, max_length=4000)


@router.get("/notifications", response_model=NotificationPage)
async def list_notifications(
    ctx: Ctx,
    principal: CustomerOrOperator,
    customer_id: Annotated[str, Query(min_length=1)],
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> NotificationPage:
    """What the shop told (or chose not to tell) a customer, newest first."""
    require_customer(principal, customer_id)
    rows, total = await usecases.list_notifications(ctx, customer_id, page, page_size)
    items = [NotificationView.model_validate(r, from_attributes=True) for r in rows]
    return NotificationPage(items=items, page=page, page_size=page_size, total=total)


@router.post("/notifications", response_model=NotificationView, status_code=201,
             dependencies=[Depends(callers_of_request("notification", "Notify Customer"))])
async def notify_customer(ctx: Ctx, body: NotifyCustomer) -> NotificationView:
    """Orchestrated style: Order asks to notify the customer."""
    row = await usecases.notify_customer(ctx, body.customer_id, body.order_id, body.subject, body.message)
    return NotificationView.model_validate(row, from_attributes=True)
