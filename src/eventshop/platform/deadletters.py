"""The dead-letter stream: park a message with its error, list, show, replay and purge them.

A copy is never larger than what the connection can carry: a message too large to copy whole with its
headers is parked as a reference (its stream and sequence) plus a preview of its first bytes, and `show`
and `replay` read the original from its stream. Header values are one line of ASCII: other text is sent
as an RFC 2047 encoded word and decoded when read, so any error text survives the trip.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.header import decode_header as header_chunks
from typing import Any

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from eventshop.platform.broker import DEAD_LETTER_PREFIX, DEAD_LETTER_STREAM

H_SUBJECT = "Eventshop-Original-Subject"
H_CONSUMER = "Eventshop-Consumer"
H_ERROR = "Eventshop-Error"
H_DELIVERIES = "Eventshop-Deliveries"
H_SEQUENCE = "Eventshop-Original-Sequence"
H_STREAM = "Eventshop-Original-Stream"
H_SIZE = "Eventshop-Original-Size"
H_COPY = "Eventshop-Copy"
WHOLE, REFERENCE = "whole", "reference"

ERROR_LIMIT = 1000  # bytes of the error header, encoded
PREVIEW_BYTES = 2048  # of a message parked by reference
HEADER_SLACK = 64  # rounding in the server's size accounting, with room to spare
_ENCODED_WORD = re.compile(r"=\?utf-8\?b\?([A-Za-z0-9+/=]*)\?=", re.IGNORECASE)
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")


class OriginalGone(LookupError):
    """A dead letter parked by reference whose original message its stream no longer holds."""


@dataclass(frozen=True)
class DeadLetter:
    sequence: int
    subject: str
    consumer: str
    error: str
    deliveries: int
    time: datetime | None
    payload: bytes  # the whole message, or only its first bytes when parked by reference
    stream: str = ""
    original_sequence: int = 0
    original_size: int = 0
    reference: bool = False

    @property
    def event_id(self) -> str | None:
        return self._envelope_field("id")

    @property
    def event_type(self) -> str | None:
        return self._envelope_field("type")

    def _envelope_field(self, name: str) -> str | None:
        try:
            value = json.loads(self.payload).get(name)
        except (ValueError, AttributeError):
            return None
        return str(value) if value is not None else None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def encode_header(text: str, limit: int = ERROR_LIMIT) -> str:
    """One line of printable ASCII at most `limit` long: as is if it already is, else an encoded word."""
    text = _one_line(text)
    if _PRINTABLE_ASCII.fullmatch(text) and not _ENCODED_WORD.search(text):
        return text[:limit]
    raw = text.encode("utf-8", "replace")[: (limit - 12) * 3 // 4]
    raw = raw.decode("utf-8", "ignore").encode()  # no multi-byte character cut in half
    return f"=?utf-8?b?{base64.b64encode(raw).decode()}?="


def header_text(value: Any) -> str:
    """The text of a header value as read back: a str, an email Header (raw 8-bit bytes) or an encoded word."""
    if isinstance(value, Header):
        text = "".join(
            chunk.decode("utf-8" if charset in (None, "unknown-8bit") else charset, "replace")
            if isinstance(chunk, bytes) else chunk
            for chunk, charset in _decode_chunks(value)
        )
    else:
        text = str(value)
    text = text.encode("utf-8", "surrogateescape" if _only_escapes(text) else "replace").decode("utf-8", "replace")

    def decoded(match: re.Match[str]) -> str:
        try:
            return base64.b64decode(match.group(1), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return match.group(0)

    return _ENCODED_WORD.sub(decoded, text)


def _decode_chunks(value: Header) -> list[tuple[bytes | str, str | None]]:
    try:
        return list(header_chunks(value))
    except Exception:  # whatever the email parser made of raw bytes, it is still shown
        return [(str(value), None)]


def _only_escapes(text: str) -> bool:
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)


def headers_size(headers: dict[str, str]) -> int:
    """Bytes the headers add to a message: `NATS/1.0`, one `key: value` line each, a blank line."""
    return len(b"NATS/1.0\r\n") + sum(len(k) + len(v.encode()) + 4 for k, v in headers.items()) + 2


async def park(js: JetStreamContext, msg: Msg, consumer: str, error: str) -> None:
    """Copy a message into the dead-letter stream with why it failed. Raises if not stored."""
    meta = msg.metadata
    service = consumer.split("--")[0]
    headers = {
        H_SUBJECT: encode_header(msg.subject, 512),
        H_CONSUMER: encode_header(consumer, 256),
        H_ERROR: encode_header(error) or "unknown error",
        H_DELIVERIES: str(meta.num_delivered),
        H_STREAM: meta.stream,
        H_SEQUENCE: str(meta.sequence.stream),
        H_SIZE: str(len(msg.data)),
        H_COPY: REFERENCE,
        "Nats-Msg-Id": f"dlq:{consumer}:{meta.sequence.stream}",
    }
    room = js._nc.max_payload - headers_size(headers) - HEADER_SLACK
    whole = len(msg.data) <= room
    headers[H_COPY] = WHOLE if whole else REFERENCE
    data = msg.data if whole else msg.data[: min(PREVIEW_BYTES, max(room, 0))]
    await js.publish(f"{DEAD_LETTER_PREFIX}.{service}.{msg.subject}", data, headers=headers)


async def list_dead_letters(js: JetStreamContext, limit: int = 1000) -> list[DeadLetter]:
    info = await js.stream_info(DEAD_LETTER_STREAM)
    letters: list[DeadLetter] = []
    seq = info.state.first_seq
    while seq and seq <= info.state.last_seq and len(letters) < limit:
        try:
            raw = await js.get_msg(DEAD_LETTER_STREAM, seq=seq, next=True, subject=f"{DEAD_LETTER_PREFIX}.>")
        except NotFoundError:
            break
        assert raw.seq is not None
        letters.append(_to_dead_letter(raw.seq, raw.headers or {}, raw.data or b"", raw.time))
        seq = raw.seq + 1
    return letters


async def get_dead_letter(js: JetStreamContext, sequence: int) -> DeadLetter:
    raw = await js.get_msg(DEAD_LETTER_STREAM, seq=sequence)
    return _to_dead_letter(sequence, raw.headers or {}, raw.data or b"", raw.time)


def _number(value: Any) -> int:
    try:
        return int(header_text(value))
    except ValueError:
        return 0


def _to_dead_letter(seq: int, headers: dict[str, Any], data: bytes, time: datetime | None) -> DeadLetter:
    def text(name: str, default: str = "") -> str:
        return header_text(headers[name]) if name in headers else default

    return DeadLetter(
        sequence=seq,
        subject=text(H_SUBJECT, "?"),
        consumer=text(H_CONSUMER, "?"),
        error=text(H_ERROR),
        deliveries=_number(headers.get(H_DELIVERIES, "0")),
        time=time,
        payload=data,
        stream=text(H_STREAM),
        original_sequence=_number(headers.get(H_SEQUENCE, "0")),
        original_size=_number(headers.get(H_SIZE, str(len(data)))),
        reference=text(H_COPY) == REFERENCE,
    )


async def original_payload(js: JetStreamContext, letter: DeadLetter) -> bytes:
    """The parked message's bytes: the copy itself, or the original read back from its stream."""
    if not letter.reference:
        return letter.payload
    try:
        raw = await js.get_msg(letter.stream, seq=letter.original_sequence)
    except NotFoundError:
        raise OriginalGone(
            f"the original ({letter.stream} sequence {letter.original_sequence}) is no longer stored; "
            f"only its first {len(letter.payload)} bytes are kept"
        ) from None
    return raw.data or b""


async def replay(js: JetStreamContext, sequence: int) -> DeadLetter:
    """Publish the message again on its original subject; remove it only once that is acked."""
    letter = await get_dead_letter(js, sequence)
    payload = await original_payload(js, letter)
    event_id = DeadLetter(**{**letter.__dict__, "payload": payload}).event_id
    await js.publish(
        letter.subject,
        payload,
        headers={"Nats-Msg-Id": f"replay:{event_id or 'raw'}:{sequence}"},
    )
    await js.delete_msg(DEAD_LETTER_STREAM, sequence)
    return letter


async def purge(js: JetStreamContext, sequence: int | None = None) -> int:
    if sequence is not None:
        await js.delete_msg(DEAD_LETTER_STREAM, sequence)
        return 1
    before = (await js.stream_info(DEAD_LETTER_STREAM)).state.messages
    await js.purge_stream(DEAD_LETTER_STREAM)
    return int(before)
