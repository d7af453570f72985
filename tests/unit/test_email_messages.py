"""Emails as bytes: what Notification composes and what the mail catcher reads back from any sender, no I/O."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from eventshop.sandboxes.mail.catcher import PARSER, bodies, header_text
from eventshop.services.notification.email_sender import EmailSender, SmtpSettings

SENDER = EmailSender(SmtpSettings(host="127.0.0.1", port=25))


def read_back(raw: bytes) -> tuple[str, str, str, str, str]:
    """From, Subject, Message-ID, plain text and HTML as the mail catcher stores them."""
    parsed = PARSER.parsebytes(raw)
    return (header_text(parsed, "From"), header_text(parsed, "Subject"), header_text(parsed, "Message-ID"),
            *bodies(parsed))


def test_an_email_is_multipart_alternative_with_utf8_text_then_html_and_its_message_id() -> None:
    message_id, raw = SENDER.compose("ada@example.com", "Order 1 confirmed", "Hello Ada,\n€12.50\n", "<p>€12.50</p>")
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage) and message.defects == []
    assert (message["From"], message["To"], message["Message-ID"]) == (
        "eventshop <shop@eventshop.local>", "ada@example.com", message_id)
    assert [(p.get_content_type(), p.get_content_charset()) for p in message.iter_parts()] == [
        ("text/plain", "utf-8"), ("text/html", "utf-8")]
    assert [p.get_content() for p in message.iter_parts()] == ["Hello Ada,\n€12.50\n", "<p>€12.50</p>"]
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78 and b"\n" not in raw.replace(b"\r\n", b"")


def test_an_email_without_html_is_the_plain_text_alone() -> None:
    _, raw = SENDER.compose("ada@example.com", "Hi", "Just text", None)
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage) and message.get_content_type() == "text/plain"
    assert message.get_content() == "Just text"


def test_a_subject_beyond_ascii_or_with_a_line_break_is_encoded_and_adds_no_header() -> None:
    for subject in ("Bestellung bestätigt: €12.50 " * 6, "Your order\r\nBcc: someone@example.com"):
        _, raw = SENDER.compose("ada@example.com", subject, "t", "<p>h</p>")
        message = message_from_bytes(raw, policy=policy.default)
        assert "Bcc" not in message and message.defects == []
        assert str(message["Subject"]).replace(" ", "") == subject.replace("\r\n", "").replace(" ", "")


def test_an_address_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        SENDER.compose("ada@example.com\r\nBcc: someone@example.com", "Hi", "t", None)


def test_the_catcher_reads_back_what_notification_sends() -> None:
    message_id, raw = SENDER.compose("ada@example.com", "Grüße, Ada", "Hello €", "<p>Hello €</p>")
    assert read_back(raw) == ("eventshop <shop@eventshop.local>", "Grüße, Ada", message_id, "Hello €",
                              "<p>Hello €</p>")


def test_the_catcher_reads_other_senders_mail_as_the_modern_email_parser_would() -> None:
    message = EmailMessage()
    message["From"], message["Subject"] = "Jörg <j@example.de>", "Grüße aus Köln, mit einem längeren Betreff äöü"
    message.set_content("Hallo Jörg\n", cte="quoted-printable")
    message.add_alternative("<p>Hallo Jörg</p>", subtype="html")
    message.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="invoice.pdf")
    assert read_back(message.as_bytes()) == ("Jörg <j@example.de>", "Grüße aus Köln, mit einem längeren Betreff äöü",
                                             "", "Hallo Jörg\n", "<p>Hallo Jörg</p>\n")

    raw_utf8 = ("From: x@example.com\r\nSubject: Café\r\nContent-Type: text/plain; charset=latin-1\r\n"
                "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + "Café".encode("latin-1")
    assert read_back(raw_utf8) == ("x@example.com", "Café", "", "Café", "")
