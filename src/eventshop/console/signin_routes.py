"""Sign-in and sign-out pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from eventshop.console import signin
from eventshop.console.pages import redirect, render

router = APIRouter()


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request, next: Annotated[str, Query(max_length=2000)] = "/") -> HTMLResponse:
    return render(request, "signin.html", next=signin.safe_next(next), error="", title="Sign in")


@router.post("/signin", response_model=None)
async def sign_in(request: Request, password: Annotated[str, Form(max_length=1000)] = "",
                  next: Annotated[str, Form(max_length=2000)] = "/") -> HTMLResponse | RedirectResponse:
    if signin.sign_in(request, password):
        return redirect(signin.safe_next(next))
    return render(request, "signin.html", status=401, next=signin.safe_next(next),
                  error="That is not the console password.", title="Sign in")


@router.post("/signout")
async def sign_out(request: Request) -> RedirectResponse:
    signin.sign_out(request)
    return redirect("/signin")
