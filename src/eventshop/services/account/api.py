"""Account REST API: public account endpoints and the internal data the registry lets others ask for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, EmailStr, Field

from eventshop.platform.auth import (
    callers_of_request,
    client_address,
    customer_of_path,
    keyring_of,
    services_or_operator,
)
from eventshop.platform.identity import CUSTOMER_TOKEN_SECONDS, CUSTOMERS
from eventshop.platform.runtime import context_of
from eventshop.services.account import signin, usecases
from eventshop.services.account.domain import MAX_PASSWORD, MIN_PASSWORD, MIN_PASSWORD_SCORE, Address
from eventshop.services.account.tables import Account
from eventshop.services.account.usecases import AccountChanges, AccountContext, AccountData, NewAccount

router = APIRouter(tags=["accounts"])
Ctx = Annotated[AccountContext, Depends(context_of)]
SessionId = Annotated[str, Path(min_length=1, max_length=100)]
POLICY = (f"{MIN_PASSWORD} to {MAX_PASSWORD} characters, and not guessable: the zxcvbn strength estimate must be "
          f"{MIN_PASSWORD_SCORE} or more (of 4), judged with the account's email and name. A refusal is 422 "
          "`weak_password` with the estimator's reason as the message and `details.field` = `password`.")


def new_password(description: str = POLICY, default: Any = ...) -> Any:
    # Checked by the domain rule (code weak_password), not by pydantic; the schema states the same bounds.
    return Field(default, min_length=1, max_length=MAX_PASSWORD, description=description,
                 json_schema_extra={"minLength": MIN_PASSWORD})


ADDRESS_RULE = ("A country that does not exist, or a postcode not in its country's format, is refused with 422 "
                "`invalid_address` and `details.field` = `address.country` or `address.postcode`.")


class AddressBody(BaseModel):
    street: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postcode: str = Field(min_length=1, max_length=20,
                          description="Checked against its country's format for the EU countries, GB, US, CH and NO; "
                                      "stored upper-cased with single spaces. " + ADDRESS_RULE)
    country: str = Field(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$",
                         description="ISO 3166-1 alpha-2 code of a country (stored upper-cased). " + ADDRESS_RULE)

    def value(self) -> Address:
        return Address(self.street.strip(), self.city.strip(), self.postcode.strip(), self.country.upper())


class CreateAccount(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    password: str = new_password()
    address: AddressBody
    payment_token: str = Field(min_length=1, max_length=64)


class UpdateAccount(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = Field(
        default=None, description="A new email (stored lower-case, as at sign-up): needs `current_password` "
                                  "(422 `wrong_current_password`); 409 `email_taken` when another account has it.")
    address: AddressBody | None = None
    payment_token: str | None = Field(default=None, min_length=1, max_length=64)
    password: str | None = new_password(POLICY + " Ends every session of the account but `keep_session_id`.",
                                         None)
    current_password: str | None = Field(
        default=None, min_length=1, max_length=MAX_PASSWORD,
        description="When given, it must be the account's password (422 `wrong_current_password`); required "
                    "with a new `email`.")
    keep_session_id: str | None = Field(default=None, min_length=1, max_length=100,
                                        description="The session that changes the password: it stays signed in.")


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
    def of(cls, a: Account | AccountData) -> AccountView:
        return cls(id=a.id, name=a.name, email=a.email, status=a.status, payment_token=a.payment_token,
                   address=AddressBody(street=a.street, city=a.city, postcode=a.postcode, country=a.country),
                   revision=a.revision, created_at=a.created_at, updated_at=a.updated_at)


class SessionView(BaseModel):
    account_id: str
    name: str
    email: str
    token: str = Field(description="The customer's bearer token for every customer resource (account, cart, "
                                   "orders, payments, shipments, notifications): signed by Account, subject the "
                                   "account id, valid for `token_expires_at`; ask again for a fresh one.")
    token_expires_at: datetime


class OpenedSession(SessionView):
    session_id: str = Field(description="Secret: the frontend keeps it in the customer's cookie; Account keeps "
                                        "only its digest.")


class LiveSessionView(SessionView):
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


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


@router.post("/sessions", response_model=OpenedSession,
             responses={401: {"description": "invalid_credentials"}, 403: {"description": "account_deactivated"},
                        429: {"description": "too_many_attempts, with a Retry-After header"}})
async def sign_in(ctx: Ctx, body: SignIn, request: Request) -> OpenedSession:
    """Check a customer's credentials and open a server-side session.

    Throttled per email and per client address (the `X-Forwarded-For` of an internal caller, else the peer).
    """
    opened = await signin.sign_in(ctx, body.email, body.password, client_address(request))
    a = opened.account
    return OpenedSession(account_id=a.id, name=a.name, email=a.email, session_id=opened.session_id,
                         **customer_token(request, a.id))


def customer_token(request: Request, account_id: str) -> dict[str, Any]:
    """A fresh customer token (platform/identity.py) for the account."""
    token = keyring_of(request).mint(CUSTOMERS, subject=account_id, kind="customer", seconds=CUSTOMER_TOKEN_SECONDS)
    return {"token": token, "token_expires_at": datetime.now(UTC) + timedelta(seconds=CUSTOMER_TOKEN_SECONDS)}


FRONTEND_OR_OPERATOR = [Depends(services_or_operator("frontend"))]
CUSTOMER_OR_OPERATOR = [Depends(customer_of_path())]


@router.get("/sessions/{session_id}", response_model=LiveSessionView, dependencies=FRONTEND_OR_OPERATOR,
            responses={404: {"description": "session_ended: signed out, expired, revoked or unknown"}})
async def check_session(ctx: Ctx, session_id: SessionId, request: Request) -> LiveSessionView:
    """Is this session still live, and whose is it (the frontend asks on each page, with a short cache); with a
    fresh customer token."""
    live = await signin.check_session(ctx, session_id)
    a, s = live.account, live.session
    return LiveSessionView(account_id=a.id, name=a.name, email=a.email, created_at=s.created_at,
                           last_seen_at=s.last_seen_at, expires_at=s.expires_at, **customer_token(request, a.id))


@router.delete("/sessions/{session_id}", status_code=204, dependencies=FRONTEND_OR_OPERATOR)
async def end_session(ctx: Ctx, session_id: SessionId) -> Response:
    """Sign-out: revoke the session (idempotent)."""
    await signin.end_session(ctx, session_id)
    return Response(status_code=204)


@router.get("/accounts/{account_id}", response_model=AccountView, dependencies=CUSTOMER_OR_OPERATOR)
async def get_account(ctx: Ctx, account_id: str) -> AccountView:
    return AccountView.of(await usecases.get_account(ctx, account_id))


@router.patch("/accounts/{account_id}", response_model=AccountView, dependencies=CUSTOMER_OR_OPERATOR)
async def update_account(ctx: Ctx, account_id: str, body: UpdateAccount) -> AccountView:
    changes = AccountChanges(body.name, body.address.value() if body.address else None, body.payment_token,
                             body.password, body.current_password, body.keep_session_id,
                             str(body.email) if body.email is not None else None)
    return AccountView.of(await usecases.update_account(ctx, account_id, changes))


@router.post("/accounts/{account_id}/deactivate", response_model=AccountView, dependencies=CUSTOMER_OR_OPERATOR)
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
