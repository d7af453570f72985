"""Account REST API: public account endpoints and the internal data the registry lets others ask for."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, EmailStr, Field

from eventshop.platform.auth import callers_of_request
from eventshop.platform.runtime import context_of
from eventshop.services.account import usecases
from eventshop.services.account.domain import Address
from eventshop.services.account.tables import Account
from eventshop.services.account.usecases import AccountChanges, AccountContext, NewAccount

router = APIRouter(tags=["accounts"])
Ctx = Annotated[AccountContext, Depends(context_of)]


class AddressBody(BaseModel):
    street: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postcode: str = Field(min_length=1, max_length=20)
    country: str = Field(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$")

    def value(self) -> Address:
        return Address(self.street.strip(), self.city.strip(), self.postcode.strip(), self.country.upper())


class CreateAccount(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    password: str = Field(min_length=1, max_length=200)
    address: AddressBody
    payment_token: str = Field(min_length=1, max_length=64)


class UpdateAccount(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: AddressBody | None = None
    payment_token: str | None = Field(default=None, min_length=1, max_length=64)
    password: str | None = Field(default=None, min_length=1, max_length=200)


class Deactivate(BaseModel):
    reason: str | None = Field(default=None, max_length=200)


class SignIn(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=200)


class AccountView(BaseModel):
    id: str
    name: str
    email: str
    status: str
    address: AddressBody
    payment_token: str
    revision: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, a: Account) -> AccountView:
        return cls(id=a.id, name=a.name, email=a.email, status=a.status, payment_token=a.payment_token,
                   address=AddressBody(street=a.street, city=a.city, postcode=a.postcode, country=a.country),
                   revision=a.revision, created_at=a.created_at, updated_at=a.updated_at)


class SessionView(BaseModel):
    account_id: str
    name: str
    email: str


class PaymentData(BaseModel):
    account_id: str
    status: str
    payment_token: str


class AddressView(BaseModel):
    account_id: str
    name: str
    address: AddressBody


class AccountStatusView(BaseModel):
    account_id: str
    status: str


class Contact(BaseModel):
    account_id: str
    name: str
    email: str
    status: str
    revision: int


@router.post("/accounts", response_model=AccountView, status_code=201)
async def create_account(ctx: Ctx, body: CreateAccount) -> AccountView:
    new = NewAccount(body.name, str(body.email), body.password, body.address.value(), body.payment_token)
    return AccountView.of(await usecases.create_account(ctx, new))


@router.post("/sessions", response_model=SessionView)
async def sign_in(ctx: Ctx, body: SignIn) -> SessionView:
    """Check a customer's credentials (the frontend keeps the session)."""
    account = await usecases.sign_in(ctx, body.email, body.password)
    return SessionView(account_id=account.id, name=account.name, email=account.email)


@router.get("/accounts/{account_id}", response_model=AccountView)
async def get_account(ctx: Ctx, account_id: str) -> AccountView:
    return AccountView.of(await usecases.get_account(ctx, account_id))


@router.patch("/accounts/{account_id}", response_model=AccountView)
async def update_account(ctx: Ctx, account_id: str, body: UpdateAccount) -> AccountView:
    changes = AccountChanges(body.name, body.address.value() if body.address else None, body.payment_token,
                             body.password)
    return AccountView.of(await usecases.update_account(ctx, account_id, changes))


@router.post("/accounts/{account_id}/deactivate", response_model=AccountView)
async def deactivate_account(ctx: Ctx, account_id: str, body: Deactivate) -> AccountView:
    return AccountView.of(await usecases.deactivate_account(ctx, account_id, body.reason))


@router.get("/internal/accounts/{account_id}/payment-data", response_model=PaymentData,
            dependencies=[Depends(callers_of_request("account", "Payment Data"))])
async def payment_data(ctx: Ctx, account_id: str) -> PaymentData:
    """Payment Service's "Payment Data"."""
    a = await usecases.get_account(ctx, account_id)
    return PaymentData(account_id=a.id, status=a.status, payment_token=a.payment_token)


@router.get("/internal/accounts/{account_id}/address", response_model=AddressView,
            dependencies=[Depends(callers_of_request("account", "Account Address"))])
async def address(ctx: Ctx, account_id: str) -> AddressView:
    """Shipping Service's "Account Address"."""
    a = await usecases.get_account(ctx, account_id)
    return AddressView(account_id=a.id, name=a.name,
                       address=AddressBody(street=a.street, city=a.city, postcode=a.postcode, country=a.country))


@router.get("/internal/accounts/{account_id}/contact", response_model=Contact,
            dependencies=[Depends(callers_of_request("account", "Email for Account"))])
async def contact(ctx: Ctx, account_id: str) -> Contact:
    """Notification Service's "Email for Account"."""
    a = await usecases.get_account(ctx, account_id)
    return Contact(account_id=a.id, name=a.name, email=a.email, status=a.status, revision=a.revision)


@router.get("/internal/accounts/{account_id}/status", response_model=AccountStatusView,
            dependencies=[Depends(callers_of_request("account", "Account Status"))])
async def account_status(ctx: Ctx, account_id: str) -> AccountStatusView:
    """Shopping Cart's "Account Status" (a declared addition): may this customer check out?"""
    a = await usecases.get_account(ctx, account_id)
    return AccountStatusView(account_id=a.id, status=a.status)
