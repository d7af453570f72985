"""Adapter to the Email System ("Send Email"): real SMTP via aiosmtplib, configurable for a real provider."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SmtpSettings(BaseSettings):
    """EVENTSHOP_SMTP_*: where mail goes. The default is the local mail catcher."""

    model_config = SettingsConfigDict(env_prefix="EVENTSHOP_SMTP_", extra="ignore")

    host: str = "127.0.0.1"
    port: int | None = None  # None: the local mail catcher at the port base + 25
    username: str | None = None
    password: SecretStr | None = None
    use_tls: bool = False
    start_tls: bool = False
    sender: str = "eventshop <shop@eventshop.local>"
    timeout: float = 10.0


class EmailNotSent(Exception):
    """The SMTP server refused or could not be reached; the caller keeps the mail to retry."""


class EmailSender:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    async def send(self, to: str, subject: str, text: str, html: str) -> None:
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        s = self.settings
        try:
            await aiosmtplib.send(
                message,
                hostname=s.host,
                port=s.port or 8025,
                username=s.username,
                password=s.password.get_secret_value() if s.password else None,
                use_tls=s.use_tls,
                start_tls=s.start_tls,
                timeout=s.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise EmailNotSent(f"{type(exc).__name__}: {exc}") from exc
