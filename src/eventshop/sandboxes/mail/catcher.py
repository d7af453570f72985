"""The SMTP side of the mail catcher: accepts every message and stores it, unless faults say otherwise."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from eventshop.sandboxes.faults import FaultConfig
from eventshop.sandboxes.mail.store import MailStore

log = logging.getLogger(__name__)
OUTAGE_REPLY = "421 4.3.2 Service not available (outage injected by the sandbox), try again later"
ERROR_REPLY = "451 4.3.0 Temporary local problem (injected by the sandbox), try again later"
# compat32 keeps headers as strings; the modern policy's header objects made parsing most of a message's cost.
PARSER = BytesParser(policy=policy.compat32)


def bodies(message: Message) -> tuple[str, str]:
    """The first plain-text and HTML bodies that are not attachments, empty where a part is missing."""
    found = {"plain": "", "html": ""}
    for part in message.walk():
        subtype = part.get_content_subtype()
        if (part.get_content_maintype() != "text" or found.get(subtype) != ""
                or part.get_content_disposition() == "attachment"):
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            try:
                found[subtype] = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
            except LookupError:  # a charset Python does not know
                found[subtype] = payload.decode("utf-8", errors="replace")
    return found["plain"], found["html"]


def header_text(message: Message, name: str) -> str:
    """A header as a person reads it: unfolded, raw UTF-8 and RFC 2047 encoded words decoded ("" when absent)."""
    value = next((value for key, value in message.raw_items() if key.lower() == name.lower()), None)
    if value is None:
        return ""
    # The parser keeps bytes beyond ASCII as surrogates: back to bytes, read as UTF-8.
    unfolded = value.encode("ascii", "surrogateescape").decode("utf-8", "replace").replace("\r\n", "").replace("\n", "")
    try:
        return str(make_header(decode_header(unfolded)))
    except (HeaderParseError, LookupError, UnicodeError):
        return unfolded


def accept_any_login(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth: Any) -> AuthResult:
    """AUTH is optional here and any credentials pass; only the user name is kept, never the password."""
    user = auth.login.decode(errors="replace") if isinstance(auth, LoginPassword) else mechanism
    return AuthResult(success=True, auth_data=user)


class CatchAll:
    """aiosmtpd handler: store each message; answer with temporary failures when faults are on."""

    def __init__(self, store: MailStore, faults: Callable[[], FaultConfig]) -> None:
        self.store = store
        self.faults = faults  # read per command, so the admin endpoint takes effect at once

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if self.faults().outage:
            return OUTAGE_REPLY
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        faults = self.faults()
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        failure = faults.failure()
        if failure is not None:
            return OUTAGE_REPLY if failure[1] == "outage" else ERROR_REPLY
        raw = envelope.original_content or (envelope.content if isinstance(envelope.content, bytes) else b"")
        parsed = PARSER.parsebytes(raw)
        text, html = bodies(parsed)
        record: dict[str, Any] = {
            "id": uuid.uuid4().hex[:16],
            "received": datetime.now(UTC).isoformat(),
            "sender": header_text(parsed, "From") or envelope.mail_from or "",
            "envelope_from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "subject": header_text(parsed, "Subject"),
            "message_id": header_text(parsed, "Message-ID") or None,
            "text": text,
            "html": html,
            "size": len(raw),
            "authenticated_as": session.auth_data if isinstance(session.auth_data, str) else None,
        }
        self.store.add(record, raw)
        log.info("caught message %s for %s", record["id"], ", ".join(record["to"]))
        return f"250 2.0.0 Message accepted for delivery as {record['id']}"


async def start_smtp(handler: CatchAll, sock: socket.socket) -> asyncio.Server:
    """Serve SMTP on an already bound socket in the running event loop."""

    def protocol() -> SMTP:
        return SMTP(handler, hostname="eventshop-mail", ident="eventshop mail catcher",
                    authenticator=accept_any_login, auth_require_tls=False)

    return await asyncio.get_running_loop().create_server(protocol, sock=sock)
