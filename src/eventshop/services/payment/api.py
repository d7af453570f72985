"""Payment REST API: a payment per order, and the orchestrated style's "Payment for Order"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from eventshop.contracts.values import MAX_AMOUNT, MAX_ID, OrderLine, WholeNumber
from eventshop.platform.auth import CustomerOrOperator, callers_of_request, require_customer
from eventshop.platform.errors import Conflict, NotReady
from eventshop.platform.runtime import context_of
from eventshop.services.payment import usecases
from eventshop.services.payment.store import PaymentRecord
from eventshop.services.payment.usecases import OrderToPay, PaymentContext

router = APIRouter(tags=["payments"])
Ctx = Annotated[PaymentContext, Depends(context_of)]


class HistoryItem(BaseModel):
    at: datetime
    status: str
    detail: str


class PaymentView(BaseModel):
    order_id: str
    customer_id: str
    status: str
    amount: int
    currency: str
    provider_payment_id: str | None
    failure_reason: str | None
    refunded_amount: int
    updated_at: datetime
    history: list[HistoryItem] = []

    @classmethod
    def of(cls, payment: PaymentRecord, history: list[Any]) -> PaymentView:
        view = cls.model_validate(payment, from_attributes=True)
        view.history = [HistoryItem.model_validate(h, from_attributes=True) for h in history]
        return view


class PayForOrder(BaseModel):
    customer_id: str = Field(min_length=1, max_length=MAX_ID)
    amount: WholeNumber = Field(gt=0, le=MAX_AMOUNT)
    currency: str = Field(min_length=3, max_length=3)
    lines: list[OrderLine] = []


@router.get("/payments/{order_id}", response_model=PaymentView)
async def get_payment(ctx: Ctx, order_id: str, principal: CustomerOrOperator) -> PaymentView:
    view = PaymentView.of(*await usecases.get_payment(ctx, order_id))
    require_customer(principal, view.customer_id)
    return view


@router.post("/payments/{order_id}/pay", response_model=PaymentView,
             dependencies=[Depends(callers_of_request("payment", "Payment for Order"))])
async def pay_for_order(ctx: Ctx, order_id: str, body: PayForOrder) -> PaymentView:
    """Orchestrated style: Order asks for the charge (same rule as InventoryProcessedEvent)."""
    order = OrderToPay(order_id, body.customer_id, body.amount, body.currency, body.lines)
    await usecases.charge_payment(ctx, order)
    return PaymentView.of(*await usecases.get_payment(ctx, order_id))


@router.post("/payments/{order_id}/void", response_model=PaymentView,
             dependencies=[Depends(callers_of_request("payment", "Payment for Order"))])
async def void_for_order(ctx: Ctx, order_id: str, body: PayForOrder) -> PaymentView:
    """Orchestrated style: the order's stock is short, nothing is charged (same rule as InventoryOutOfStockEvent)."""
    await usecases.void_payment(ctx, OrderToPay(order_id, body.customer_id, body.amount, body.currency))
    return PaymentView.of(*await usecases.get_payment(ctx, order_id))


@router.post("/payments/{order_id}/refund", response_model=PaymentView,
             dependencies=[Depends(callers_of_request("payment", "Payment for Order"))])
async def refund_for_order(ctx: Ctx, order_id: str) -> PaymentView:
    """Orchestrated style: the order could not ship, the charge goes back (same rule as ShippingFailedEvent)."""
    try:
        await usecases.refund_payment(ctx, order_id)
    except NotReady as exc:
        raise Conflict(str(exc), code="payment_not_settled") from exc
    return PaymentView.of(*await usecases.get_payment(ctx, order_id))
