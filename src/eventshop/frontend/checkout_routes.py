"""Checkout: the review page (items, address, card, total) and placing the order, with price changes shown
before they are paid."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from eventshop.frontend import sessions
from eventshop.frontend.account_routes import COUNTRIES
from eventshop.frontend.clients import Unavailable
from eventshop.frontend.pages import backend, could_not, form_of, message_of, redirect, render
from eventshop.platform.errors import DomainError, NotFound
from eventshop.platform.http import url_path

router = APIRouter()
PRICE_CHANGED = "Some prices changed since you added these products. Check the new total, then check out again " \
                "to confirm."
EMPTY = "Your cart is empty. Add a product before checking out."
COUNTRY_NAMES = dict(COUNTRIES)
SANDBOX_NOTE = re.compile(r"\s*\([^)]*\)$")  # "Visa ending 0002 (declined)": what the sandbox will do, not the card


def please_sign_in(request: Request) -> RedirectResponse:
    sessions.flash(request, "Please sign in or create an account to check out; your cart is kept.")
    return redirect("/signin?next=/checkout")


def card_label(cards: list[dict[str, str]], token: str) -> str:
    """The card as the shopper chose it ("Visa ending 4242"), never the token."""
    label = next((card["label"] for card in cards if card["token"] == token), None)
    return SANDBOX_NOTE.sub("", label) if label else "The card saved in your account"


@router.get("/checkout", response_class=HTMLResponse, response_model=None)
async def review(request: Request) -> HTMLResponse | RedirectResponse:
    who = sessions.customer(request)
    if who is None:
        return please_sign_in(request)
    shop = backend(request)
    unavailable: list[str] = []
    cart = await shop.optional(shop.get("cart", url_path("carts", who["id"])), unavailable)
    if cart is not None:
        sessions.set_cart_count(request, cart)
        if not cart["lines"]:
            sessions.flash(request, EMPTY, "error")
            return redirect("/cart")
    try:
        account = await shop.optional(shop.get("account", url_path("accounts", who["id"])), unavailable)
    except NotFound:
        sessions.sign_out(request)
        return please_sign_in(request)
    card = card_label(await shop.test_cards(), account["payment_token"]) if account else None
    country = COUNTRY_NAMES.get(account["address"]["country"], account["address"]["country"]) if account else None
    return render(request, "review.html", cart=cart, account=account, card=card, country=country,
                  unavailable=unavailable)


@router.post("/checkout", response_class=HTMLResponse, response_model=None)
async def place_order(request: Request) -> HTMLResponse | RedirectResponse:
    form = await form_of(request)
    who = sessions.customer(request)
    if who is None:
        return please_sign_in(request)
    body: dict[str, Any] = {}
    if form.get("expected_total", "").isdigit():
        body["expected_total"] = int(form["expected_total"])
    if form.get("cart_id"):
        body["cart_id"] = form["cart_id"]  # a retry after a lost answer gets the same order back
    try:
        done = await backend(request).send("cart", "POST", url_path("carts", who['id'], "checkout"), body)
    except DomainError as exc:
        if exc.code == "price_changed":
            return await _prices_changed(request, who["id"], exc)
        sessions.flash(request, EMPTY if exc.code == "empty_cart" else message_of(exc), "error")
        return redirect("/cart")
    except Unavailable:
        sessions.flash(request, could_not("place your order", kept="your cart is kept"), "error")
        return redirect("/cart")
    sessions.set_cart_count(request, None)
    return redirect(f"/orders/{done['order_id']}")


async def _prices_changed(request: Request, customer_id: str, exc: DomainError) -> HTMLResponse:
    """The re-priced cart with what changed; checking out again accepts the new prices."""
    details = exc.details if isinstance(exc.details, dict) else {}
    unavailable: list[str] = []
    found = details if isinstance(details.get("lines"), list) else \
        await backend(request).optional(backend(request).get("cart", url_path("carts", customer_id)), unavailable)
    names = {line["product_id"]: line["name"] for line in (found or {}).get("lines", [])}
    changes = [{**change, "name": names.get(change["product_id"], change["product_id"])}
               for change in details.get("price_changes", [])]
    return render(request, "cart.html", status=409, cart=found, price_changes=changes,
                  problem=PRICE_CHANGED, unavailable=unavailable)
