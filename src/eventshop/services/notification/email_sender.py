"""Adapter to the Email System ("Send Email"): real SMTP via aiosmtplib, configurable for a real provider."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
from email.header import Header
from email.utils import formataddr, formatdate, make_msgid, parseaddr

import aiosmtplib
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from eventshop.platform.instrumentation import external_call
from eventshop.platform.settings import EnvSettings, Settings


def _local_smtp_port() -> int:
    return Settings().port("smtp")


class SmtpSettings(EnvSettings):
    """EVENTSHOP_SMTP_*: where mail goes. The default is the local mail catcher (port base + 25)."""

    model_config = SettingsConfigDict(env_prefix="EVENTSHOP_SMTP_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default_factory=_local_smtp_port)
    username: str | None = None
    password: SecretStr | None = None
    use_tls: bool = False  # implicit TLS from the first byte, usually port 465
    start_tls: bool = False  # upgrade with STARTTLS, usually port 587
    sender: str = "eventshop <shop@eventshop.local>"
    timeout: float = 10.0


class EmailNotSent(Exception):
    """The SMTP server refused the message or could not be reached; the caller keeps it to retry.

    `temporary` is False only for a permanent refusal (a 5xx reply such as bad credentials).
    """

    def __init__(self, message: str, *, temporary: bool, smtp_code: int | None = None) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.smtp_code = smtp_code


def _address_header(address: str) -> str:
    """An address as it is; a display name that is not ASCII as an RFC 2047 encoded word."""
    if "\r" in address or "\n" in address:
        raise ValueError(f"an email address contains a line break: {address!r}")
    return address if address.isascii() else formataddr(parseaddr(address), charset="utf-8")


def _subject_header(subject: str) -> str:
    """Plain ASCII as it is; anything else (non-ASCII, a control character such as a line break, a line
    longer than a header may be) as RFC 2047 encoded words, which cannot break out of the header."""
    if subject.isascii() and subject.isprintable() and len(subject) <= 900:
        return subject
    return Header(subject, "utf-8").encode(linesep="\r\n")


def _text_part(subtype: str, body: str) -> bytes:
    """One text part's headers, a blank line, and its body in base64 lines of 76 characters."""
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    return head.encode() + base64.encodebytes(body.encode()).replace(b"\n", b"\r\n")


class EmailSender:
    """Sends over one SMTP connection kept open between emails (opened on first use, reopened when dropped).

    Emails are sent concurrently by handlers and the retry job; a lock lets one use the connection at a time.
    """

    def __init__(self, settings: SmtpSettings | None = None) -> None:
        self.settings = settings or SmtpSettings()
        self._envelope_sender = parseaddr(self.settings.sender)[1] or self.settings.sender
        self._smtp: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    def compose(self, to: str, subject: str, text: str, html: str | None) -> tuple[str, bytes]:
        """The Message-ID and bytes of a multipart/alternative message: plain text first, HTML the preferred
        alternative; without HTML, the plain text alone. Each body is UTF-8 in base64.

        Written directly rather than through the email package, whose generator (a regex compiled per
        boundary, every header refolded) cost more than the SMTP exchange; the result is the same MIME.
        """
        message_id = make_msgid(domain="eventshop.local")
        headers = [f"From: {_address_header(self.settings.sender)}", f"To: {_address_header(to)}",
                   f"Subject: {_subject_header(subject)}",
                   f"Date: {formatdate(localtime=False)}", f"Message-ID: {message_id}", "MIME-Version: 1.0"]
        if html:
            boundary = f"=_{secrets.token_hex(16)}"  # "=_" cannot occur in base64, so no body contains it
            body = (f"--{boundary}\r\n".encode() + _text_part("plain", text) + f"--{boundary}\r\n".encode()
                    + _text_part("html", html) + f"--{boundary}--\r\n".encode())
            headers.append(f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"')
            return message_id, "\r\n".join(headers).encode() + b"\r\n\r\n" + body
        return message_id, "\r\n".join(headers).encode() + b"\r\n" + _text_part("plain", text)

    async def send(self, to: str, subject: str, text: str, html: str | None = None) -> str:
        """Send one message; its Message-ID. Raises EmailNotSent on any refusal, timeout or connection failure."""
        message_id, raw = self.compose(to, subject, text, html)
        s = self.settings
        async with self._lock:
            with external_call("smtp", "send_email") as call:
                try:
                    await self._send_reconnecting(to, raw)
                except aiosmtplib.SMTPResponseException as exc:
                    self._drop()
                    call.outcome = "refused" if 500 <= exc.code < 600 else "failed"
                    raise EmailNotSent(f"SMTP server {s.host}:{s.port} answered {exc.code} {exc.message}",
                                       temporary=not 500 <= exc.code < 600, smtp_code=exc.code) from None
                except aiosmtplib.SMTPRecipientsRefused as exc:
                    self._drop()
                    codes = [refusal.code for refusal in exc.recipients]
                    reply = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
                    temporary = any(code < 500 for code in codes)
                    call.outcome = "failed" if temporary else "refused"
                    raise EmailNotSent(f"SMTP server {s.host}:{s.port} refused the recipient: {reply}",
                                       temporary=temporary, smtp_code=codes[0] if codes else None) from None
                except (aiosmtplib.SMTPException, OSError) as exc:
                    self._drop()
                    call.outcome = "timeout" if isinstance(exc, TimeoutError) else "unreachable"
                    raise EmailNotSent(f"SMTP server {s.host}:{s.port} unreachable or not answering: "
                                       f"{type(exc).__name__}: {exc}", temporary=True) from None
        return message_id

    async def _send_reconnecting(self, to: str, raw: bytes) -> None:
        """A connection kept open may have been dropped by the server meanwhile: reconnect once and resend."""
        reused = self._smtp is not None and self._smtp.is_connected
        smtp = await self._connection()
        try:
            await smtp.sendmail(self._envelope_sender, [to], raw)
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
            self._drop()
            if not reused:
                raise
            await (await self._connection()).sendmail(self._envelope_sender, [to], raw)

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._smtp is None or not self._smtp.is_connected:
            s = self.settings
            smtp = aiosmtplib.SMTP(
                hostname=s.host,
                port=s.port,
                username=s.username,
                password=s.password.get_secret_value() if s.password else None,
                use_tls=s.use_tls,
                start_tls=s.start_tls,
                timeout=s.timeout,
            )
            await smtp.connect()
            self._smtp = smtp
        return self._smtp

    def _drop(self) -> None:
        """Forget the connection after a failure: its state is unknown, the next send opens a new one."""
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    async def aclose(self) -> None:
        """Say QUIT and close the connection (at shutdown)."""
        async with self._lock:
            if self._smtp is not None and self._smtp.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await self._smtp.quit()
            self._drop()
