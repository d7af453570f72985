"""The mail catcher's web inbox and JSON API, and `run_mail` that serves SMTP and HTTP together."""

from __future__ import annotations

import asyncio
import html
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from eventshop.platform.serving import serve_app
from eventshop.sandboxes.faults import FaultConfig, install_faults, sandbox_error
from eventshop.sandboxes.mail.catcher import CatchAll, start_smtp
from eventshop.sandboxes.store import Store

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1f2430}
header{background:#1f2430;color:#fff;padding:12px 20px}header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:960px;margin:20px auto;padding:0 16px}form{margin-bottom:16px}
input{padding:8px;border:1px solid #c9ccd3;border-radius:6px;width:260px}button{padding:8px 14px;border-radius:6px;
border:0;background:#3454d1;color:#fff}table{width:100%;border-collapse:collapse;background:#fff;border-radius:8px}
td,th{padding:10px;border-bottom:1px solid #eceef2;text-align:left;font-size:14px}a{color:#3454d1}
.meta{color:#666;font-size:14px}iframe{width:100%;height:520px;border:1px solid #ddd;background:#fff;border-radius:8px}
pre{white-space:pre-wrap;background:#fff;padding:12px;border-radius:8px;border:1px solid #ddd}
"""


def page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body><header>"
        f"<a href='/'>eventshop mail inbox</a></header><main>{body}</main></body></html>"
    )


def matches(message: dict[str, Any], to: str | None, subject: str | None) -> bool:
    if to and not any(to.lower() in r.lower() for r in message["to"]):
        return False
    return not (subject and subject.lower() not in message["subject"].lower())


def create_app(data_dir: Path, faults: FaultConfig | None = None) -> tuple[FastAPI, CatchAll]:
    store = Store(data_dir / "mail.sqlite3")
    app = FastAPI(title="Email System (sandbox mail catcher)", version="1")
    install_faults(app, faults or FaultConfig.from_env("mail"))
    handler = CatchAll(store, lambda: app.state.faults)

    def messages(to: str | None = None, subject: str | None = None) -> list[dict[str, Any]]:
        return [m for m in reversed(store.all("message")) if matches(m, to, subject)]

    @app.get("/api/messages")
    async def api_messages(to: str | None = Query(None), subject: str | None = Query(None)) -> list[dict[str, Any]]:
        return messages(to, subject)

    @app.get("/api/messages/{message_id}")
    async def api_message(message_id: str) -> JSONResponse:
        found = store.get("message", message_id)
        return JSONResponse(found) if found else sandbox_error(404, "message_not_found", f"no message {message_id}")

    @app.delete("/api/messages")
    async def api_clear() -> dict[str, str]:
        store.clear("message")
        return {"status": "cleared"}

    @app.get("/", response_class=HTMLResponse)
    async def inbox(to: str | None = Query(None)) -> HTMLResponse:
        rows = "".join(
            f"<tr><td>{html.escape(', '.join(m['to']))}</td><td><a href='/messages/{m['id']}'>"
            f"{html.escape(m['subject'] or '(no subject)')}</a></td><td class=meta>{m['received'][:19]}</td></tr>"
            for m in messages(to)
        )
        search = (f"<form><label for=to>Recipient </label><input id=to name=to value='{html.escape(to or '')}'>"
                  " <button>Search</button></form>")
        table = f"<table><tr><th>To</th><th>Subject</th><th>Received</th></tr>{rows}</table>"
        return page("Mail inbox", search + (table if rows else "<p>No messages yet.</p>"))

    @app.get("/messages/{message_id}", response_class=HTMLResponse)
    async def read(message_id: str) -> HTMLResponse:
        m = store.get("message", message_id)
        if m is None:
            return page("Not found", "<p>No such message.</p>")
        head = (f"<h1>{html.escape(m['subject'])}</h1><p class=meta>From {html.escape(m['from'])} to "
                f"{html.escape(', '.join(m['to']))} at {m['received'][:19]}</p>")
        body = f"<iframe sandbox src='/messages/{message_id}/html' title='HTML body'></iframe>" if m["html"] else ""
        return page(m["subject"], head + body + f"<h2>Plain text</h2><pre>{html.escape(m['text'])}</pre>")

    @app.get("/messages/{message_id}/html")
    async def read_html(message_id: str) -> Response:
        m = store.get("message", message_id)
        return HTMLResponse(m["html"] if m else "", headers={"Content-Security-Policy": "default-src 'none'; "
                                                              "style-src 'unsafe-inline'; img-src data:"})

    return app, handler


async def run_mail(data_dir: Path, host: str, port: int, smtp_port: int, stop: asyncio.Event | None = None) -> None:
    """Serve SMTP and the web inbox in one event loop until stopped."""
    app, handler = create_app(data_dir)
    smtp = await start_smtp(handler, host, smtp_port)
    try:
        await serve_app(app, host, port, stop)
    finally:
        smtp.close()
        await smtp.wait_closed()
