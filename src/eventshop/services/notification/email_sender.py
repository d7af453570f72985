"""Adapter to the Email System ("Send Email"): real SMTP via aiosmtplib, configurable for a real provider."""

from __future__ import annotations

import asyncio
import contextlib
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid, parseaddr

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


class EmailSender:
    """Sends over one SMTP connection kept open between emails (opened on first use, reopened when dropped).

    Emails are sent concurrently by handlers and the retry job; a lock lets one use the connection at a time.
    """

    def __init__(self, settings: SmtpSettings | None = None) -> None:
        self.settings = settings or SmtpSettings()
        self._smtp: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    @property
    def _envelope_sender(self) -> str:
        return parseaddr(self.settings.sender)[1] or self.settings.sender

    def compose(self, to: str, subject: str, text: str, html: str | None) -> Message:
        """A multipart/alternative message: plain text first, HTML as the preferred alternative.

        Built with the compat32 MIME classes and sent as bytes: the modern `EmailMessage` policy parses and
        refolds every header, which made composing an email cost more than sending it.
        """
        message: Message
        if html:
            message = MIMEMultipart("alternative")
            message.attach(MIMEText(text, "plain", "utf-8"))
            message.attach(MIMEText(html, "html", "utf-8"))
        else:
            message = MIMEText(text, "plain", "utf-8")
        message["From"] = self.settings.sender
        message["To"] = to
        message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="eventshop.local")
        return message

    async def send(self, to: str, subject: str, text: str, html: str | None = None) -> str:
        """Send one message; its Message-ID. Raises EmailNotSent on any refusal, timeout or connection failure."""
        message = self.compose(to, subject, text, html)
        s = self.settings
        async with self._lock:
            with external_call("smtp", "send_email") as call:
                try:
                    await self._send_reconnecting(to, message.as_bytes())
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
        return str(message["Message-ID"])

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
