"""The mail catcher's web inbox and JSON API, and `run_mail` that serves SMTP and HTTP in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from html import escape
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from eventshop.sandboxes.errors import sandbox_error
from eventshop.sandboxes.faults import FaultConfig, current_faults
from eventshop.sandboxes.mail.catcher import CatchAll, start_smtp
from eventshop.sandboxes.mail.store import MailStore
from eventshop.sandboxes.runner import serve_sandbox
from eventshop.sandboxes.sandbox_app import new_sandbox_app

DESCRIPTION = """An SMTP mail catcher: every message sent to its SMTP port is kept and shown here.
JSON API for tests under /api; the web inbox at /."""
STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1f2430}
header{background:#1f2430;color:#fff;padding:12px 20px;display:flex;justify-content:space-between}
header a{color:#fff;text-decoration:none;font-weight:600}main{max-width:1000px;margin:20px auto;padding:0 16px}
form{display:inline}input{padding:8px;border:1px solid #c9ccd3;border-radius:6px;width:260px}
button{padding:8px 14px;border-radius:6px;border:0;background:#3454d1;color:#fff;cursor:pointer}
button.quiet{background:#8a90a0}.bar{display:flex;justify-content:space-between;margin-bottom:16px}
table{width:100%;border-collapse:collapse;background:#fff;border-radius:8px;overflow:hidden}
td,th{padding:10px;border-bottom:1px solid #eceef2;text-align:left;font-size:14px}a{color:#3454d1}
.meta{color:#666;font-size:14px}h1{font-size:22px}h2{font-size:16px;margin-top:24px}
iframe{width:100%;height:520px;border:1px solid #ddd;background:#fff;border-radius:8px}
pre{white-space:pre-wrap;background:#fff;padding:12px;border-radius:8px;border:1px solid #ddd}
"""
HTML_BODY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"


def page(title: str, body: str, status: int = 200, refresh: bool = False) -> HTMLResponse:
    meta = "<meta http-equiv=refresh content=10>" if refresh else ""
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width'>{meta}<title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><header><a href='/'>eventshop mail inbox</a>"
        f"<a href='/docs'>API</a></header><main>{body}</main></body></html>",
        status_code=status,
    )


def inbox_page(messages: list[dict[str, Any]], to: str | None) -> HTMLResponse:
    rows = "".join(
        f"<tr><td>{escape(m['from'])}</td><td>{escape(', '.join(m['to']))}</td>"
        f"<td><a href='/messages/{escape(m['id'])}'>{escape(m['subject'] or '(no subject)')}</a></td>"
        f"<td class=meta>{escape(m['received'][:19].replace('T', ' '))}</td></tr>"
        for m in messages
    )
    search = (f"<form method=get action='/'><label for=to>Recipient </label>"
              f"<input id=to name=to value='{escape(to or '')}' placeholder='part of an address'> "
              "<button>Search</button></form>")
    clear = "<form method=post action='/clear'><button class=quiet>Delete all</button></form>"
    table = (f"<table><tr><th>From</th><th>To</th><th>Subject</th><th>Received (UTC)</th></tr>{rows}</table>"
             if rows else f"<p>No messages{' for ' + escape(to) if to else ' yet'}.</p>")
    count = f"<p class=meta>{len(messages)} message{'s' if len(messages) != 1 else ''}, newest first</p>"
    return page("Mail inbox", f"<div class=bar>{search}{clear}</div>{count}{table}", refresh=True)


def message_page(m: dict[str, Any]) -> HTMLResponse:
    head = (f"<h1>{escape(m['subject'] or '(no subject)')}</h1><p class=meta>From {escape(m['from'])} to "
            f"{escape(', '.join(m['to']))}, received {escape(m['received'][:19].replace('T', ' '))} UTC · "
            f"<a href='/messages/{escape(m['id'])}/raw'>raw</a></p>")
    html_part = (f"<h2>HTML</h2><iframe sandbox src='/messages/{escape(m['id'])}/html' title='HTML body'></iframe>"
                 if m["html"] else "")
    text_part = f"<h2>Plain text</h2><pre>{escape(m['text'])}</pre>" if m["text"] else ""
    return page(m["subject"] or "Message", head + html_part + text_part)


def create_app(data_dir: Path, faults: FaultConfig | None = None) -> tuple[FastAPI, CatchAll]:
    """The web app and the SMTP handler, sharing one store (closed by `handler.store.close()`) and one
    fault configuration."""
    store = MailStore(data_dir / "mail.sqlite3")
    app = new_sandbox_app("mail", "Email System (sandbox mail catcher)", DESCRIPTION,
                          faults or FaultConfig.from_env("mail"), ("/api/",))
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

    @app.delete("/api/messages", tags=["api"])
    async def api_clear() -> dict[str, int]:
        return {"deleted": store.clear()}

    @app.get("/", response_class=HTMLResponse, tags=["inbox"])
    async def inbox(to: Annotated[str | None, Query()] = None) -> HTMLResponse:
        return inbox_page(store.find(to), to)

    @app.post("/clear", tags=["inbox"], status_code=303, response_class=RedirectResponse)
    async def clear() -> RedirectResponse:
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
) -> None:
    """Serve SMTP and the web inbox on bound sockets in one event loop until stopped."""
    app, handler = create_app(data_dir, faults)
    server = await start_smtp(handler, smtp)
    try:
        await serve_sandbox(app, web, stop, handle_signals=handle_signals)
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), timeout=2)
        handler.store.close()
