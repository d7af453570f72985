"""The SMTP side of the mail catcher: accepts every message and stores it, unless faults say otherwise."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from eventshop.sandboxes.faults import FaultConfig
from eventshop.sandboxes.store import Store


def parts(message: EmailMessage) -> tuple[str, str]:
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part is not None else ""
    html = html_part.get_content() if html_part is not None else ""
    return str(text), str(html)


class CatchAll:
    """aiosmtpd handler: store each message; answer with a temporary failure when faults are on."""

    def __init__(self, store: Store, faults: Callable[[], FaultConfig]) -> None:
        self.store = store
        self.current_faults = faults  # read per message, so the admin endpoint takes effect at once

    @property
    def faults(self) -> FaultConfig:
        return self.current_faults()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.faults.outage:
            return "421 4.3.2 Service not available (outage injected by the sandbox)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        if self.faults.failure() is not None:
            return "451 4.3.0 Temporary failure (injected by the sandbox), try again later"
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        text, html = parts(message)
        record: dict[str, Any] = {
            "id": uuid.uuid4().hex[:12],
            "from": str(message.get("From", envelope.mail_from or "")),
            "to": [str(a) for a in envelope.rcpt_tos],
            "subject": str(message.get("Subject", "")),
            "text": text,
            "html": html,
            "received": datetime.now(UTC).isoformat(),
            "size": len(raw),
        }
        self.store.put("message", record["id"], record)
        return "250 Message accepted for delivery"


async def start_smtp(handler: CatchAll, host: str, port: int) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: SMTP(handler, hostname="eventshop-mail"), host=host, port=port)
