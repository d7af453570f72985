"""The dead-letter stream: park a message with its error, list, show, replay and purge them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from eventshop.platform.broker import DEAD_LETTER_PREFIX, DEAD_LETTER_STREAM

H_SUBJECT = "Eventshop-Original-Subject"
H_CONSUMER = "Eventshop-Consumer"
H_ERROR = "Eventshop-Error"
H_DELIVERIES = "Eventshop-Deliveries"
H_SEQUENCE = "Eventshop-Original-Sequence"


@dataclass(frozen=True)
class DeadLetter:
    sequence: int
    subject: str
    consumer: str
    error: str
    deliveries: int
    time: datetime | None
    payload: bytes

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


def _one_line(text: str, limit: int = 500) -> str:
    return " ".join(text.split())[:limit]


async def park(js: JetStreamContext, msg: Msg, consumer: str, error: str) -> None:
    """Copy a message into the dead-letter stream with why it failed. Raises if not stored."""
    meta = msg.metadata
    service = consumer.split("--")[0]
    await js.publish(
        f"{DEAD_LETTER_PREFIX}.{service}.{msg.subject}",
        msg.data,
        headers={
            H_SUBJECT: msg.subject,
            H_CONSUMER: consumer,
            H_ERROR: _one_line(error) or "unknown error",
            H_DELIVERIES: str(meta.num_delivered),
            H_SEQUENCE: str(meta.sequence.stream),
            "Nats-Msg-Id": f"dlq:{consumer}:{meta.sequence.stream}",
        },
    )


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


def _to_dead_letter(seq: int, headers: dict[str, str], data: bytes, time: datetime | None) -> DeadLetter:
    return DeadLetter(
        sequence=seq,
        subject=headers.get(H_SUBJECT, "?"),
        consumer=headers.get(H_CONSUMER, "?"),
        error=headers.get(H_ERROR, ""),
        deliveries=int(headers.get(H_DELIVERIES, "0") or 0),
        time=time,
        payload=data,
    )


async def replay(js: JetStreamContext, sequence: int) -> DeadLetter:
    """Publish the message again on its original subject; remove it only once that is acked."""
    letter = await get_dead_letter(js, sequence)
    await js.publish(
        letter.subject,
        letter.payload,
        headers={"Nats-Msg-Id": f"replay:{letter.event_id or 'raw'}:{sequence}"},
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
