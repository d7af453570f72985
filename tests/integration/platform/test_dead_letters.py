"""Poison messages: topic streams bound a message's size, dead-letter copies fit, any bytes survive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nats.js.errors import APIError

from eventshop.platform import deadletters
from eventshop.platform.broker import TOPICS, ensure_streams, topic_message_limit
from eventshop.platform.db import Incoming
from tests.conftest import eventually
from tests.integration.platform.conftest import Backend
from tests.integration.platform.test_consumers import harness, processed, record_effect
from tests.integration.publishing import envelope_of

MSG_ID = "Nats-Msg-Id"


def largest_message(limit: int, subject_event: Any, msg_id: str) -> bytes:
    """A valid envelope whose data fails its schema, padded so data and headers are exactly `limit`."""
    envelope = envelope_of(subject_event)
    envelope.data["padding"] = ""
    envelope.data.pop("customer_id")
    bare = envelope.to_bytes()
    headers = deadletters.headers_size({MSG_ID: msg_id})
    envelope.data["padding"] = "x" * (limit - len(bare) - headers)
    data = envelope.to_bytes()
    assert len(data) + headers == limit
    return data


async def test_a_topic_stream_refuses_a_message_too_large_to_replay_and_the_connection_stays_up(
    backend: Backend, tmp_path: Path
) -> None:
    async with harness(backend, tmp_path) as h:
        limit = topic_message_limit(h.nc.max_payload)
        info = await h.js.stream_info(TOPICS["order"].stream)
        assert info.config.max_msg_size == limit < h.nc.max_payload
        too_large = largest_message(limit + 1, processed("o-big"), "too-large")
        with pytest.raises(APIError, match="maximum"):
            await h.js.publish("order.OrderProcessedEvent", too_large, headers={MSG_ID: "too-large"})
        assert h.nc.is_connected
        await h.js.publish("order.OrderProcessedEvent", envelope_of(processed()).to_bytes())


async def test_the_largest_accepted_message_is_parked_whole_within_the_limit_while_the_next_order_is_handled(
    backend: Backend, tmp_path: Path
) -> None:
    async with harness(backend, tmp_path) as h:
        await deadletters.purge(h.js)
        data = largest_message(topic_message_limit(h.nc.max_payload), processed("o-huge"), "largest")
        await h.js.publish("order.OrderProcessedEvent", data, headers={MSG_ID: "largest"})
        handled: list[str] = []

        async def record(incoming: Incoming[Any]) -> None:
            handled.append(incoming.event.order_id)

        await h.publish(processed("o-after"))
        async with h.worker(record):
            [letter] = await eventually(lambda: deadletters.list_dead_letters(h.js), message="parked")
            await eventually(lambda: handled == ["o-after"], message="the next order handled")
            assert h.nc.is_connected
        raw = await h.js.get_msg(deadletters.DEAD_LETTER_STREAM, seq=letter.sequence)
        assert len(raw.data or b"") + deadletters.headers_size(raw.headers or {}) <= h.nc.max_payload
        assert not letter.reference and letter.payload == data and "fails its schema" in letter.error


async def test_a_message_stored_before_the_limit_is_parked_by_reference_and_shown_from_its_stream(
    backend: Backend, tmp_path: Path
) -> None:
    async with harness(backend, tmp_path) as h:
        await deadletters.purge(h.js)
        stream = TOPICS["order"].stream
        config = (await h.js.stream_info(stream)).config
        config.max_msg_size = -1  # as streams were made before they had a limit
        await h.js.update_stream(config)
        data = largest_message(1_048_276 + deadletters.headers_size({MSG_ID: "old"}), processed("o-old"), "old")
        await h.js.publish("order.OrderProcessedEvent", data, headers={MSG_ID: "old"})
        await ensure_streams(h.js, backend.replicas)

        async with h.worker(lambda i: record_effect(h.db, i)):
            [letter] = await eventually(lambda: deadletters.list_dead_letters(h.js), message="parked")
            assert h.nc.is_connected
        raw = await h.js.get_msg(deadletters.DEAD_LETTER_STREAM, seq=letter.sequence)
        assert len(raw.data or b"") + deadletters.headers_size(raw.headers or {}) <= h.nc.max_payload
        assert letter.reference and letter.stream == stream and letter.original_size == len(data) == 1_048_276
        assert len(letter.payload) == deadletters.PREVIEW_BYTES and data.startswith(letter.payload)
        assert await deadletters.original_payload(h.js, letter) == data
        with pytest.raises(APIError, match="maximum"):  # the stream now refuses it, and says so
            await deadletters.replay(h.js, letter.sequence)

        await h.js.delete_msg(stream, letter.original_sequence)
        with pytest.raises(deadletters.OriginalGone, match="no longer stored"):
            await deadletters.original_payload(h.js, letter)


async def test_any_text_in_an_error_survives_the_headers(backend: Backend, tmp_path: Path) -> None:
    async with harness(backend, tmp_path) as h:
        await deadletters.purge(h.js)
        reason = "Zahlung für Bestellung «ø» abgelehnt \x00\x07 [bold]☃[/] =?utf-8?b?AA==?= " + "é" * 2000

        async def refuse(incoming: Incoming[Any]) -> None:
            raise ValueError(reason)

        await h.publish(processed("o-text"))
        async with h.worker(refuse):
            [letter] = await eventually(lambda: deadletters.list_dead_letters(h.js), message="parked")
        assert not letter.reference
        assert letter.error.startswith("failed ")
        assert ("; last error ValueError: Zahlung für Bestellung «ø» abgelehnt \x00\x07 [bold]☃[/] =?utf-8?b?AA==?= éé"
                in letter.error)
        assert len(letter.error.encode()) < deadletters.ERROR_LIMIT


def test_header_text_is_ascii_on_the_wire_and_the_same_text_when_read() -> None:
    for text in ["plain", "ünï", "\x00\x1b[31m", "=?utf-8?b?AA==?=", "a\r\nb", "☃" * 600]:
        encoded = deadletters.encode_header(text)
        assert encoded.isascii() and encoded.isprintable() and len(encoded) <= deadletters.ERROR_LIMIT
        decoded = deadletters.header_text(encoded)
        assert " ".join(text.split()).startswith(decoded) and decoded
