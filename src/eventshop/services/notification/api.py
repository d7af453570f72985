"""Notification REST API: a customer's notifications, and the orchestrated "Notify Customer"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from pydantic import BaseModel, Field, ValidationError

from eventshop.contracts.events import ALL_EVENTS
from eventshop.contracts.values import MAX_ID, MAX_PAGE
from eventshop.platform.auth import CustomerOrOperator, callers_of_request, require_customer
from eventshop.platform.errors import Invalid
from eventshop.platform.runtime import context_of
from eventshop.services.notification import domain, usecases
from eventshop.services.notification.domain import Draft
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
    """Either what happened (`event_type` and `event`, worded as for the consumed event) or a subject and message."""

    customer_id: str = Field(min_length=1, max_length=MAX_ID)
    order_id: str = Field(min_length=1, max_length=MAX_ID)
    event_type: str | None = Field(default=None, max_length=100, description="an event type of the registry")
    event: dict[str, Any] | None = Field(default=None, description="that event's data")
    subject: str | None = Field(default=None, min_length=1, max_length=300)
    message: str | None = Field(default=None, min_length=1, max_length=4000)

    def draft(self) -> tuple[str, Draft]:
        """The record's kind and what to tell the customer; Invalid when the body says neither."""
        if self.event_type is not None:
            model = ALL_EVENTS.get(self.event_type)
            if model is None:
                raise Invalid(f"unknown event type {self.event_type!r}", code="unknown_event_type")
            try:
                return self.event_type, domain.draft_for(model.model_validate(self.event or {}))
            except ValidationError as exc:
                raise Invalid(f"event is not a valid {self.event_type}: {exc.errors()[0]['msg']}",
                              code="invalid_event") from None
        if self.subject is None or self.message is None:
            raise Invalid("give event_type and event, or subject and message", code="nothing_to_say")
        return "NotifyCustomer", Draft("notified by Order", self.subject, (self.message,),
                                       link=domain.order_page(self.order_id), link_text=domain.VIEW_ORDER)


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
async def notify_customer(
    ctx: Ctx, body: NotifyCustomer,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=64)] = None,
) -> NotificationView:
    """Orchestrated style: Order asks to notify the customer; a repeat with the same Idempotency-Key sends once."""
    kind, draft = body.draft()
    row = await usecases.notify_customer(ctx, body.customer_id, body.order_id, draft, kind, idempotency_key)
    return NotificationView.model_validate(row, from_attributes=True)
