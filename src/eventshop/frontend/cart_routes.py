"""The cart: add, change and remove lines, the customer's (Cart API) or, before signing in, the guest's."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from eventshop.frontend import guest_cart, sessions
from eventshop.frontend.clients import Unavailable
from eventshop.frontend.guest_cart import quantity_in
from eventshop.frontend.pages import (
    MAX_QUANTITY,
    backend,
    could_not,
    form_of,
    message_of,
    quantity_of,
    redirect,
    render,
)
from eventshop.platform.errors import DomainError, NotFound
from eventshop.platform.http import url_path

router = APIRouter()
PRODUCT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def stock_problem(product: dict[str, Any], wanted: int) -> str | None:
    """Why `wanted` of this product cannot be ordered now, or None; unknown availability is not refused."""
    availability = product.get("availability") or {}
    available = availability.get("available")
    if availability.get("status") == "out_of_stock" or (available is not None and available <= 0):
        return f"{product['name']} is out of stock."
    if available is not None and wanted > available:
        return f"Only {available} of {product['name']} can be ordered right now."
    return None


@router.get("/cart", response_class=HTMLResponse, response_model=None)
async def cart(request: Request) -> HTMLResponse | RedirectResponse:
    who = sessions.customer(request)
    unavailable: list[str] = []
    if who is None:
        found = await guest_cart.priced(request, unavailable)
        return render(request, "cart.html", cart=found, guest=True, price_changes=[], unavailable=unavailable)
    if chosen := guest_cart.lines(request):  # left over from a sign-in while a service was down
        await guest_cart.merge(request, who["id"], chosen)
    found = await backend(request).optional(backend(request).get("cart", url_path("carts", who['id'])), unavailable)
    if found is not None:
        sessions.set_cart_count(request, found)
    return render(request, "cart.html", cart=found, price_changes=[], unavailable=unavailable)


@router.post("/cart/add")
async def add_to_cart(request: Request) -> RedirectResponse:
    form = await form_of(request)
    product_id = form.get("product_id", "")
    if not PRODUCT_ID.fullmatch(product_id):
        return redirect("/")
    back = url_path("products", product_id)
    who = sessions.customer(request)
    quantity = quantity_of(form.get("quantity"))
    if not quantity:
        sessions.flash(request, f"Choose a quantity from 1 to {MAX_QUANTITY}.", "error")
        return redirect(back)
    shop = backend(request)
    try:
        product = await shop.get("catalog", url_path("products", product_id))
        already = guest_cart.lines(request).get(product_id, 0) if who is None else \
            quantity_in(await shop.get("cart", url_path("carts", who['id'])), product_id)
        if problem := stock_problem(product, quantity + already):
            extra = f" You already have {already} in your cart." if already else ""
            sessions.flash(request, problem + extra, "error")
            return redirect(back)
        if who is None:
            return _added_for_guest(request, product, quantity)
        found = await shop.send("cart", "POST", url_path("carts", who['id'], "lines"),
                                {"product_id": product_id, "quantity": quantity})
    except NotFound:
        sessions.flash(request, "That product is no longer in the catalog.", "error")
        return redirect("/")
    except Unavailable:
        sessions.flash(request, could_not("add this to your cart"), "error")
        return redirect(back)
    except DomainError as exc:
        sessions.flash(request, message_of(exc), "error")
        return redirect(back)
    sessions.set_cart_count(request, found)
    sessions.flash(request, f"Added {product['name']} (quantity {quantity}) to your cart.")
    return redirect("/cart")


def _added_for_guest(request: Request, product: dict[str, Any], quantity: int) -> RedirectResponse:
    if problem := guest_cart.add(request, str(product["id"]), quantity):
        sessions.flash(request, problem, "error")
        return redirect(url_path("products", product["id"]))
    sessions.flash(request, f"Added {product['name']} (quantity {quantity}) to your cart. Sign in or create an "
                            "account to check out; your cart is kept.")
    return redirect("/cart")


@router.post("/cart/update")
async def update_line(request: Request) -> RedirectResponse:
    form = await form_of(request)
    who = sessions.customer(request)
    product_id, quantity = form.get("product_id", ""), quantity_of(form.get("quantity"))
    if not PRODUCT_ID.fullmatch(product_id):
        return redirect("/cart")
    if quantity is None:
        sessions.flash(request, f"Choose a quantity from 0 to {MAX_QUANTITY}.", "error")
        return redirect("/cart")
    shop = backend(request)
    try:
        if quantity > 0:
            product = await _product_if_known(request, product_id)
            if product is not None and (problem := stock_problem(product, quantity)):
                sessions.flash(request, problem, "error")
                return redirect("/cart")
        if who is None:
            return _changed_for_guest(request, product_id, quantity)
        found = await shop.send("cart", "PUT", url_path("carts", who["id"], "lines", product_id),
                                {"quantity": quantity})
    except NotFound:
        sessions.flash(request, "That product is no longer in your cart.", "error")
        return redirect("/cart")
    except Unavailable:
        sessions.flash(request, could_not("change your cart"), "error")
        return redirect("/cart")
    except DomainError as exc:
        sessions.flash(request, message_of(exc), "error")
        return redirect("/cart")
    sessions.set_cart_count(request, found)
    sessions.flash(request, "Your cart is updated." if quantity else "The product is removed from your cart.")
    return redirect("/cart")


def _changed_for_guest(request: Request, product_id: str, quantity: int) -> RedirectResponse:
    if not guest_cart.change(request, product_id, quantity):
        sessions.flash(request, "That product is no longer in your cart.", "error")
    else:
        sessions.flash(request, "Your cart is updated." if quantity else "The product is removed from your cart.")
    return redirect("/cart")


async def _product_if_known(request: Request, product_id: str) -> dict[str, Any] | None:
    # A catalog that is down does not block a change: the order saga reserves stock anyway.
    try:
        found: dict[str, Any] = await backend(request).get("catalog", url_path("products", product_id))
    except (Unavailable, DomainError):
        return None
    return found


@router.post("/cart/remove")
async def remove_line(request: Request) -> RedirectResponse:
    form = await form_of(request)
    who = sessions.customer(request)
    product_id = form.get("product_id", "")
    if not PRODUCT_ID.fullmatch(product_id):
        return redirect("/cart")
    if who is None:
        return _changed_for_guest(request, product_id, 0)
    try:
        found = await backend(request).send("cart", "DELETE", url_path("carts", who['id'], "lines", product_id))
    except Unavailable:
        sessions.flash(request, could_not("change your cart"), "error")
        return redirect("/cart")
    except DomainError as exc:
        sessions.flash(request, message_of(exc), "error")
        return redirect("/cart")
    sessions.set_cart_count(request, found)
    sessions.flash(request, "The product is removed from your cart.")
    return redirect("/cart")
