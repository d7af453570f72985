"""Dead letters as `eventshop dlq` has them: the list, one letter with its error and payload, replay, purge."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from nats.js.errors import NotFoundError

from eventshop.console.calls import Unanswered
from eventshop.console.pages import calls, error_page, redirect, render
from eventshop.console.signin import flash, signed_in
from eventshop.platform import deadletters

router = APIRouter(prefix="/dead-letters", dependencies=[Depends(signed_in)])
SHOW_BYTES = 20_000  # of a payload shown on a letter's page
Sequence = Annotated[int, Path(ge=1, le=2**63 - 1)]
NOT_FOUND = "No such dead letter: it was replayed or purged, or the number is wrong."


@router.get("", response_class=HTMLResponse)
async def list_letters(request: Request) -> HTMLResponse:
    try:
        async with calls(request).broker() as js:
            letters = await deadletters.list_dead_letters(js)
    except (Unanswered, NotFoundError) as exc:
        return render(request, "dead_letters.html", letters=[], unavailable=[str(exc) or "no dead-letter stream"],
                      title="Dead letters")
    return render(request, "dead_letters.html", letters=letters, title="Dead letters")


@router.get("/{sequence}", response_class=HTMLResponse)
async def show_letter(request: Request, sequence: Sequence) -> HTMLResponse:
    gone = ""
    try:
        async with calls(request).broker() as js:
            letter = await deadletters.get_dead_letter(js, sequence)
            try:
                payload = await deadletters.original_payload(js, letter)
            except deadletters.OriginalGone as exc:
                payload, gone = letter.payload, str(exc)
    except NotFoundError:
        return error_page(request, 404, "Dead letter not found", NOT_FOUND)
    except Unanswered as exc:
        return error_page(request, 503, "The broker did not answer", str(exc))
    return render(request, "dead_letter.html", letter=letter, payload=readable(payload), size=len(payload),
                  shown_bytes=SHOW_BYTES, gone=gone, title=f"Dead letter {sequence}")


def readable(payload: bytes) -> str:
    """JSON indented, anything else as text with undecodable bytes escaped; at most SHOW_BYTES of it."""
    head = payload[:SHOW_BYTES]
    try:
        return json.dumps(json.loads(head), indent=2, ensure_ascii=False)
    except (ValueError, UnicodeDecodeError):
        return head.decode("utf-8", "backslashreplace")


@router.post("/{sequence}/replay")
async def replay_letter(request: Request, sequence: Sequence) -> RedirectResponse:
    try:
        async with calls(request).broker() as js:
            letter = await deadletters.replay(js, sequence)
    except NotFoundError:
        flash(request, NOT_FOUND, "error")
    except (Unanswered, deadletters.OriginalGone) as exc:
        flash(request, f"Not replayed: {exc}", "error")
    else:
        flash(request, f"Replayed dead letter {sequence} on {letter.subject}.")
    return redirect("/dead-letters")


@router.post("/{sequence}/purge")
async def purge_letter(request: Request, sequence: Sequence) -> RedirectResponse:
    try:
        async with calls(request).broker() as js:
            removed = await deadletters.purge(js, sequence)
    except NotFoundError:
        removed = 0
    except Unanswered as exc:
        flash(request, f"Not purged: {exc}", "error")
        return redirect("/dead-letters")
    flash(request, f"Purged dead letter {sequence}." if removed else NOT_FOUND, "info" if removed else "error")
    return redirect("/dead-letters")


@router.post("/replay-all")
async def replay_all(request: Request) -> RedirectResponse:
    replayed: list[int] = []
    try:
        async with calls(request).broker() as js:
            for letter in await deadletters.list_dead_letters(js):
                await deadletters.replay(js, letter.sequence)
                replayed.append(letter.sequence)
    except (Unanswered, NotFoundError, deadletters.OriginalGone) as exc:
        flash(request, f"Stopped after {len(replayed)} replayed: {exc or 'no dead-letter stream'}", "error")
    else:
        flash(request, f"Replayed {len(replayed)} dead letter(s).")
    return redirect("/dead-letters")


@router.post("/purge-all")
async def purge_all(request: Request, confirm: Annotated[str, Form()] = "") -> RedirectResponse:
    if confirm != "yes":
        flash(request, "Nothing purged: tick the box to confirm deleting every dead letter.", "error")
        return redirect("/dead-letters")
    try:
        async with calls(request).broker() as js:
            removed = await deadletters.purge(js)
    except (Unanswered, NotFoundError) as exc:
        flash(request, f"Not purged: {exc or 'no dead-letter stream'}", "error")
    else:
        flash(request, f"Purged {removed} dead letter(s).")
    return redirect("/dead-letters")
