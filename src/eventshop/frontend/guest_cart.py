"""The cart of a shopper who has not signed in: product ids and quantities in the signed session cookie, priced
from Catalog whenever it is shown, and added to the customer's own cart (Cart API) at sign-in or sign-up."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from eventshop.frontend import sessions
from eventshop.frontend.clients import Backend, Unavailable
from eventshop.frontend.pages import MAX_QUANTITY, backend, could_not, message_of
from eventshop.platform.errors import DomainError, NotFound
from eventshop.platform.http import url_path

KEY = "guest_cart"
# The cookie holds at most about 4 kB: 20 product ids of up to 64 characters fit with room to spare.
MAX_LINES = 20
GONE = "A product you chose is no longer in the catalog, so it is not in your cart."


def lines(request: Request) -> dict[str, int]:
    """Product id -> quantity, as the cookie has them (only well-formed entries)."""
    found = request.session.get(KEY)
    if not isinstance(found, dict):
        return {}
    return {str(pid): int(qty) for pid, qty in found.items() if isinstance(qty, int) and 0 < qty <= MAX_QUANTITY}


def keep(request: Request, chosen: dict[str, int]) -> None:
    """Store the lines (none: the key goes) and, for a guest, the count the header shows."""
    if chosen:
        request.session[KEY] = chosen
    else:
        request.session.pop(KEY, None)
    if sessions.customer(request) is None:
        request.session["cart_count"] = sum(chosen.values())


def add(request: Request, product_id: str, quantity: int) -> str | None:
    """Add to the guest's cart; why not, or None when added."""
    chosen = lines(request)
    if product_id not in chosen and len(chosen) >= MAX_LINES:
        return f"Your cart holds up to {MAX_LINES} different products before you sign in. Sign in to add more."
    if chosen.get(product_id, 0) + quantity > MAX_QUANTITY:
        return f"A cart holds at most {MAX_QUANTITY} of a product. You already have {chosen[product_id]}."
    keep(request, {**chosen, product_id: chosen.get(product_id, 0) + quantity})
    return None


def change(request: Request, product_id: str, quantity: int) -> bool:
    """Set a line's quantity (0 removes it); False when the product is not in the guest's cart."""
    chosen = lines(request)
    if product_id not in chosen:
        return False
    keep(request, {pid: qty for pid, qty in {**chosen, product_id: quantity}.items() if qty > 0})
    return True


async def priced(request: Request, unavailable: list[str]) -> dict[str, Any] | None:
    """The guest's cart in the shape of a Cart API cart, names and prices from Catalog; products no longer in the
    catalog are dropped (and said so). None when Catalog does not answer."""
    chosen, shown, gone = lines(request), [], False
    shop = backend(request)
    for product_id, quantity in chosen.items():
        try:
            product = await shop.get("catalog", url_path("products", product_id), {"availability": "false"})
        except NotFound:
            gone = True
            continue
        except Unavailable as exc:
            unavailable.append(str(exc))
            return None
        shown.append({"product_id": product_id, "sku": product["sku"], "name": product["name"], "quantity": quantity,
                      "unit_price": product["price"], "currency": product["currency"],
                      "line_total": quantity * int(product["price"])})
    if gone:
        sessions.flash(request, GONE, "error")
        keep(request, {line["product_id"]: line["quantity"] for line in shown})
    return {"id": None, "lines": shown, "total": sum(line["line_total"] for line in shown),
            "currency": shown[0]["currency"] if shown else "EUR"}


def quantity_to_add(in_cart: int, chosen: int, available: int | None) -> int:
    """How many to add to a line that has `in_cart`: the sum, within the cart's maximum per line and, when the
    catalog knows it, what can be ordered now (never taking away what the cart already has)."""
    target = min(in_cart + chosen, MAX_QUANTITY)
    if available is not None:
        target = min(target, max(available, in_cart))
    return max(target - in_cart, 0)


async def merge(request: Request, customer_id: str, chosen: dict[str, int]) -> None:
    """Add the lines a guest chose to the signed-in customer's cart, each message as a flash. Lines that could
    not be added because a service is down stay in the cookie and are tried again on the cart page."""
    if not chosen:
        return
    shop = backend(request)
    added, left = 0, dict(chosen)
    try:
        cart = await shop.get("cart", url_path("carts", customer_id))
        for product_id, quantity in chosen.items():
            outcome = await _merge_line(shop, customer_id, cart, product_id, quantity)
            left.pop(product_id)
            if isinstance(outcome, str):
                sessions.flash(request, outcome, "error")
                continue
            cart, moved = outcome
            added += moved
            if moved < quantity:
                sessions.flash(request, f"Your cart now has {quantity_in(cart, product_id)} of "
                                        f"{_name_in(cart, product_id)}, the most that can be ordered.")
    except Unavailable:
        sessions.flash(request, could_not("add the products you chose to your cart",
                                          kept="they are kept and added when you open your cart"), "error")
        cart = None
    keep(request, left)
    if cart is not None and not left:
        sessions.set_cart_count(request, cart)
    if added:
        sessions.flash(request, "The products you chose before signing in are in your cart.")


async def _merge_line(shop: Backend, customer_id: str, cart: dict[str, Any], product_id: str,
                      quantity: int) -> tuple[dict[str, Any], int] | str:
    """The cart after adding one line and how many were added, or why it was skipped. Raises Unavailable."""
    try:
        product = await shop.get("catalog", url_path("products", product_id))
    except NotFound:
        return GONE
    availability = product.get("availability") or {}
    available = availability.get("available")
    if availability.get("status") == "out_of_stock" or (available is not None and available <= 0):
        return f"{product['name']} is out of stock, so it is not in your cart."
    moved = quantity_to_add(quantity_in(cart, product_id), quantity, available)
    if moved == 0:
        return cart, 0
    try:
        cart = await shop.send("cart", "POST", url_path("carts", customer_id, "lines"),
                               {"product_id": product_id, "quantity": moved})
    except NotFound:
        return GONE
    except DomainError as exc:
        return f"{product['name']} is not in your cart: {message_of(exc)}"
    return cart, moved


def quantity_in(cart: dict[str, Any] | None, product_id: str) -> int:
    if cart is None:
        return 0
    return sum(int(line["quantity"]) for line in cart.get("lines", []) if line["product_id"] == product_id)


def _name_in(cart: dict[str, Any], product_id: str) -> str:
    return next((str(line["name"]) for line in cart.get("lines", []) if line["product_id"] == product_id), "it")
