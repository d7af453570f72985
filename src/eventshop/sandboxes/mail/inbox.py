"""The mail catcher's web pages: the inbox and one message, readable on a phone.

Two views of the inbox: the customer's own link (`/?to=<address>`, from the shop's account page) lists their
messages only and offers no deleting; the operator view (`/`, every message) has "Delete all", which takes the
operator key the sandbox was started with.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi.responses import HTMLResponse

STYLE = """
*{box-sizing:border-box}body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1f2430}
header{background:#1f2430;color:#fff;padding:12px 16px;display:flex;flex-wrap:wrap;gap:8px;
justify-content:space-between}header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:1000px;margin:16px auto;padding:0 12px}a{color:#3454d1}
form{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:0}
input{font:inherit;padding:8px;border:1px solid #c9ccd3;border-radius:6px;min-width:0;flex:1 1 180px;max-width:320px}
button{font:inherit;padding:8px 14px;border-radius:6px;border:0;background:#3454d1;color:#fff;cursor:pointer}
button.danger{background:#b03a2e}.bar{display:flex;flex-wrap:wrap;gap:12px;justify-content:space-between;
margin-bottom:12px}.meta{color:#5d6475;font-size:14px}h1{font-size:22px;line-height:1.3;overflow-wrap:anywhere}
h2{font-size:16px;margin-top:24px}ul.messages{list-style:none;margin:0;padding:0;background:#fff;
border-radius:8px;border:1px solid #e3e6ec}ul.messages li{padding:10px 12px;border-bottom:1px solid #eceef2;
overflow-wrap:anywhere}ul.messages li:last-child{border-bottom:0}.subject{font-weight:600;display:block}
iframe{display:block;width:100%;height:70vh;min-height:420px;border:1px solid #ddd;background:#fff;
border-radius:8px}pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;padding:12px;border-radius:8px;
border:1px solid #ddd;font-size:14px}.when{white-space:nowrap}
"""
# The pages run no script at all; a message's HTML (in the frame's srcdoc, which inherits this policy) may use its
# inline styles and data: images but loads nothing from anywhere.
PAGE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; frame-src 'self'; "
               "form-action 'self'")
# The frame runs no script and has an origin of its own; a link in the email opens a new tab, outside the sandbox.
FRAME_SANDBOX = "allow-popups allow-popups-to-escape-sandbox"


def page(title: str, body: str, status: int = 200, refresh: bool = False) -> HTMLResponse:
    meta = "<meta http-equiv=refresh content=10>" if refresh else ""
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width, initial-scale=1'>{meta}<title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><header><a href='/'>eventshop mail inbox</a>"
        f"<a href='/docs'>API</a></header><main>{body}</main></body></html>",
        status_code=status, headers={"Content-Security-Policy": PAGE_POLICY, "Referrer-Policy": "no-referrer"},
    )


def _received(m: dict[str, Any]) -> str:
    return f"<span class=when>{escape(m['received'][:19].replace('T', ' '))} UTC</span>"


def _row(m: dict[str, Any]) -> str:
    return (f"<li data-testid=message><a class=subject href='/messages/{escape(m['id'])}'>"
            f"{escape(m['subject'] or '(no subject)')}</a><span class=meta>To {escape(', '.join(m['to']))} · "
            f"from {escape(m['from'])} · {_received(m)}</span></li>")


def delete_all_form(deleting_allowed: bool) -> str:
    if not deleting_allowed:
        return ("<p class='meta'>Deleting is off: start the sandbox with EVENTSHOP_MAIL_OPERATOR_KEY set to "
                "allow it.</p>")
    return ("<form method=post action='/clear' aria-label='Delete all messages'>"
            "<label for=operator_key>Operator key</label>"
            "<input id=operator_key name=operator_key type=password autocomplete=off required>"
            "<button class=danger>Delete all</button></form>")


def inbox_page(messages: list[dict[str, Any]], to: str | None, deleting_allowed: bool) -> HTMLResponse:
    """The customer's view when `to` is given (their link from the shop), else the operator's."""
    search = (f"<form method=get action='/' role=search><label for=to>Recipient</label>"
              f"<input id=to name=to value='{escape(to or '')}' placeholder='part of an address'>"
              "<button>Search</button></form>")
    tools = "" if to else delete_all_form(deleting_allowed)
    rows = "".join(_row(m) for m in messages)
    listing = (f"<ul class=messages>{rows}</ul>" if rows
               else f"<p>No messages{' for ' + escape(to) if to else ' yet'}.</p>")
    count = f"<p class=meta>{len(messages)} message{'s' if len(messages) != 1 else ''}, newest first</p>"
    return page("Mail inbox", f"<div class=bar>{search}{tools}</div>{count}{listing}", refresh=True)


def message_page(m: dict[str, Any]) -> HTMLResponse:
    """The HTML body in a sandboxed frame (srcdoc: no second request, no script), the plain text below it."""
    inbox = f"/?to={escape(m['to'][0])}" if m["to"] else "/"
    head = (f"<p><a href='{inbox}'>← Inbox</a></p><h1>{escape(m['subject'] or '(no subject)')}</h1>"
            f"<p class=meta>From {escape(m['from'])} to {escape(', '.join(m['to']))}, received {_received(m)} · "
            f"<a href='/messages/{escape(m['id'])}/raw'>raw</a></p>")
    html_part = ""
    if m["html"]:
        document = "<base target=_blank>" + m["html"]
        html_part = (f"<h2>HTML</h2><iframe sandbox='{FRAME_SANDBOX}' srcdoc=\"{escape(document, quote=True)}\" "
                     "title='HTML body' referrerpolicy=no-referrer></iframe>")
    text_part = f"<h2>Plain text</h2><pre data-testid=plain>{escape(m['text'])}</pre>" if m["text"] else ""
    return page(m["subject"] or "Message", head + html_part + text_part)
