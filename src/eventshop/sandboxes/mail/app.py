"""The mail catcher's web inbox and JSON API, and `run_mail` that serves SMTP and HTTP in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from html import escape
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from eventshop.sandboxes.errors import sandbox_error
from eventshop.sandboxes.faults import FaultConfig, current_faults
from eventshop.sandboxes.mail.catcher import CatchAll, start_smtp
from eventshop.sandboxes.mail.inbox import inbox_page, message_page, page
from eventshop.sandboxes.mail.store import MailStore
from eventshop.sandboxes.operator import OperatorKey, bearer
from eventshop.sandboxes.runner import serve_sandbox
from eventshop.sandboxes.sandbox_app import new_sandbox_app

DESCRIPTION = """An SMTP mail catcher: every message sent to its SMTP port is kept and shown here.
JSON API for tests under /api; the web inbox at /."""
HTML_BODY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"
DELETING = "deleting messages"


def create_app(data_dir: Path, faults: FaultConfig | None = None, operator_key: str | None = None
               ) -> tuple[FastAPI, CatchAll]:
    """The web app and the SMTP handler, sharing one store (closed by `handler.store.close()`) and one
    fault configuration. `operator_key` allows deleting messages (`DELETE /api/messages`, "Delete all") and
    switching faults at run time."""
    store = MailStore(data_dir / "mail.sqlite3")
    operator = OperatorKey("mail", operator_key)
    app = new_sandbox_app("mail", "Email System (sandbox mail catcher)", DESCRIPTION,
                          faults or FaultConfig.from_env("mail"), ("/api/",), operator_key=operator)
    handler = CatchAll(store, lambda: current_faults(app))

    @app.get("/api/messages", tags=["api"])
    async def api_messages(
        to: Annotated[str | None, Query(description="part of a recipient address")] = None,
        subject: Annotated[str | None, Query(description="part of the subject")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[dict[str, Any]]:
        """Newest first."""
        return store.find(to, subject, limit)

    @app.get("/api/messages/{message_id}", tags=["api"])
    async def api_message(message_id: str) -> JSONResponse:
        found = store.get(message_id)
        return JSONResponse(found) if found else sandbox_error(404, "message_not_found", f"no message {message_id}")

    @app.get("/api/messages/{message_id}/raw", tags=["api"])
    async def api_raw(message_id: str) -> Response:
        raw = store.raw(message_id)
        if raw is None:
            return sandbox_error(404, "message_not_found", f"no message {message_id}")
        return Response(raw, media_type="message/rfc822")

    @app.delete("/api/messages", tags=["api"], response_model=None)
    async def api_clear(authorization: Annotated[str | None, Header(include_in_schema=False)] = None
                        ) -> dict[str, int] | JSONResponse:
        """Delete every message: the operator's, with `Authorization: Bearer <operator key>`."""
        refused = operator.refusal(bearer(authorization), DELETING, "deleting_disabled")
        return sandbox_error(*refused) if refused else {"deleted": store.clear()}

    @app.get("/", response_class=HTMLResponse, tags=["inbox"])
    async def inbox(to: Annotated[str | None, Query()] = None) -> HTMLResponse:
        """`?to=` is the customer's own view; without it, every message and the operator's "Delete all"."""
        return inbox_page(store.find(to), to, operator.allowed)

    @app.post("/clear", tags=["inbox"], status_code=303, response_class=HTMLResponse, response_model=None)
    async def clear(request: Request) -> Response:
        """The operator view's "Delete all": a form with the field `operator_key`."""
        form = parse_qs((await request.body())[:4096].decode(errors="replace"))
        refused = operator.refusal(next(iter(form.get("operator_key", [])), None), DELETING, "deleting_disabled")
        if refused:
            return page("Not deleted", f"<p>Nothing was deleted: {escape(refused[2])}.</p><p><a href='/'>Back</a></p>",
                        status=refused[0])
        store.clear()
        return RedirectResponse("/", status_code=303)

    @app.get("/messages/{message_id}", response_class=HTMLResponse, tags=["inbox"])
    async def read(message_id: str) -> HTMLResponse:
        found = store.get(message_id)
        return message_page(found) if found else page("Not found", "<p>No such message.</p>", status=404)

    @app.get("/messages/{message_id}/html", response_class=HTMLResponse, tags=["inbox"])
    async def read_html(message_id: str) -> HTMLResponse:
        """The HTML body alone, for the sandboxed frame: no scripts, no remote content."""
        found = store.get(message_id)
        headers = {"Content-Security-Policy": HTML_BODY_POLICY, "X-Content-Type-Options": "nosniff"}
        return HTMLResponse(found["html"] if found else "", status_code=200 if found else 404, headers=headers)

    @app.get("/messages/{message_id}/raw", response_class=PlainTextResponse, tags=["inbox"])
    async def read_raw(message_id: str) -> PlainTextResponse:
        raw = store.raw(message_id)
        return PlainTextResponse(raw.decode(errors="replace") if raw is not None else "no such message",
                                 status_code=200 if raw is not None else 404)

    return app, handler


async def run_mail(
    data_dir: Path,
    web: socket.socket,
    smtp: socket.socket,
    faults: FaultConfig | None = None,
    stop: asyncio.Event | None = None,
    *,
    handle_signals: bool = True,
    operator_key: str | None = None,
) -> None:
    """Serve SMTP and the web inbox on bound sockets in one event loop until stopped."""
    app, handler = create_app(data_dir, faults, operator_key)
    server = await start_smtp(handler, smtp)
    try:
        await serve_sandbox(app, web, stop, handle_signals=handle_signals)
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), timeout=2)
        handler.store.close()
