"""The shop's pages: catalog, product, cart and checkout, sign-up and sign-in, account, orders."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from eventshop.frontend import sessions
from eventshop.frontend.clients import Unavailable
from eventshop.frontend.pages import backend, form_of, optional, redirect, render, signin_redirect
from eventshop.platform.errors import DomainError

router = APIRouter()
PAGE_SIZE = 12


@router.get("/", response_class=HTMLResponse)
async def catalog(request: Request, q: Annotated[str, Query(max_length=100)] = "",
                  page: Annotated[int, Query(ge=1)] = 1) -> HTMLResponse:
    unavailable: list[str] = []
    params = {"q": q or None, "page": page, "page_size": PAGE_SIZE}
    found = await optional(backend(request).get("catalog", "/products", {k: v for k, v in params.items() if v}),
                           unavailable)
    pages = max(1, -(-found["total"] // PAGE_SIZE)) if found else 1
    return render(request, "catalog.html", products=found["items"] if found else [], q=q, page=page, pages=pages,
                  unavailable=unavailable)


@router.get("/products/{product_id}", response_class=HTMLResponse)
async def product(request: Request, product_id: str) -> HTMLResponse:
    try:
        found = await backend(request).get("catalog", f"/products/{product_id}")
    except Unavailable as exc:
        return render(request, "product.html", product=None, unavailable=[str(exc)])
    except DomainError:
        return render(request, "error.html", status=404, title="Product not found",
                      message="We could not find that product.")
    return render(request, "product.html", product=found)


@router.get("/images/{product_id}.svg")
async def image(request: Request, product_id: str) -> Response:
    svg = await backend(request).image(product_id)
    if svg is None:
        return Response(status_code=404)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=3600"})


async def _cart_count(request: Request, cart: dict[str, Any] | None) -> None:
    request.session["cart_count"] = sum(line["quantity"] for line in cart["lines"]) if cart else 0


@router.post("/cart/add")
async def add_to_cart(request: Request) -> RedirectResponse:
    form = await form_of(request)
    who = sessions.customer(request)
    product_id = str(form.get("product_id", ""))
    if who is None:
        return signin_redirect_to(request, f"/products/{product_id}")
    try:
        quantity = int(form.get("quantity", 1))
        found = await backend(request).get("catalog", f"/products/{product_id}")
        available = (found.get("availability") or {}).get("available")
        if available is not None and quantity > available:
            sessions.flash(request, f"Only {available} of {found['name']} can be ordered right now.", "error")
            return redirect(f"/products/{product_id}")
        cart = await backend(request).send("cart", "POST", f"/carts/{who['id']}/lines",
                                           {"product_id": product_id, "quantity": quantity})
    except ValueError:
        sessions.flash(request, "Quantity must be a whole number.", "error")
        return redirect(f"/products/{product_id}")
    except (Unavailable, DomainError) as exc:
        sessions.flash(request, _message(exc), "error")
        return redirect(f"/products/{product_id}")
    await _cart_count(request, cart)
    sessions.flash(request, f"Added {found['name']} to your cart.")
    return redirect("/cart")


def signin_redirect_to(request: Request, back: str) -> RedirectResponse:
    sessions.flash(request, "Please sign in first.")
    return redirect(f"/signin?next={back}")


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, DomainError) else str(exc)


@router.get("/cart", response_class=HTMLResponse, response_model=None)
async def cart(request: Request) -> HTMLResponse | RedirectResponse:
    who = sessions.customer(request)
    if who is None:
        return signin_redirect(request)
    unavailable: list[str] = []
    found = await optional(backend(request).get("cart", f"/carts/{who['id']}"), unavailable)
    await _cart_count(request, found)
    return render(request, "cart.html", cart=found, unavailable=unavailable)


@router.post("/cart/update")
async def update_cart(request: Request) -> RedirectResponse:
    form = await form_of(request)
    who = sessions.customer(request)
    if who is None:
        return signin_redirect(request)
    product_id = str(form.get("product_id", ""))
    try:
        quantity = 0 if "remove" in form else int(form.get("quantity", 0))
        found = await backend(request).send("cart", "PUT", f"/carts/{who['id']}/lines/{product_id}",
                                            {"quantity": quantity})
        await _cart_count(request, found)
    except ValueError:
        sessions.flash(request, "Quantity must be a whole number.", "error")
    except (Unavailable, DomainError) as exc:
        sessions.flash(request, _message(exc), "error")
    return redirect("/cart")


@router.post("/checkout")
async def checkout(request: Request) -> RedirectResponse:
    form = await form_of(request)
    who = sessions.customer(request)
    if who is None:
        return signin_redirect(request)
    expected = form.get("expected_total")
    body = {"expected_total": int(expected)} if expected else {}
    try:
        done = await backend(request).send("cart", "POST", f"/carts/{who['id']}/checkout", body)
    except DomainError as exc:
        if exc.code == "price_changed":
            sessions.flash(request, "Some prices changed since you added the items. Please check the new "
                                    "total and check out again.", "error")
        else:
            sessions.flash(request, exc.message, "error")
        return redirect("/cart")
    except Unavailable as exc:
        sessions.flash(request, f"{exc}. Your cart is kept; please try again shortly.", "error")
        return redirect("/cart")
    request.session["cart_count"] = 0
    return redirect(f"/orders/{done['order_id']}")
