"""Test helpers to publish events as a service would and to watch what services publish."""

from __future__ import annotations

import json
from typing import Any

from nats.aio.client import Client as NATS

from eventshop.contracts.envelope import Envelope, Event, new_trace_parent
from eventshop.platform.broker import connect
from eventshop.platform.broker_auth import OPERATOR, login_for
from eventshop.platform.settings import Settings


async def broker(settings: Settings) -> NATS:
    """A connection to the broker the test's services use."""
    assert settings.nats_url, "tests always name their broker"
    return await connect(settings.nats_url, "test", login=login_for(settings, OPERATOR), persistent=False)


def envelope_of(event: Event, source: str = "eventshop/test", event_id: str | None = None) -> Envelope:
    fields: dict[str, Any] = {}
    if event_id:
        fields["id"] = event_id
    return Envelope(
        source=source,
        type=event.type_name(),
        subject=event.key() or None,
        correlationid=event.key() or None,
        traceparent=new_trace_parent(),
        data=json.loads(event.model_dump_json()),
        **fields,
    )


async def publish_event(nc: NATS, event: Event, event_id: str | None = None) -> Envelope:
    envelope = envelope_of(event, event_id=event_id)
    js = nc.jetstream()
    await js.publish(event.subject_name(), envelope.to_bytes(), headers={"Nats-Msg-Id": f"test:{envelope.id}"})
    return envelope


async def collect(nc: NATS, subject: str) -> list[dict[str, Any]]:
    """Subscribe (core NATS) and gather every envelope published on `subject` from now on."""
    seen: list[dict[str, Any]] = []

    async def on_message(msg: Any) -> None:
        seen.append(json.loads(msg.data))

    await nc.subscribe(subject, cb=on_message)
    await nc.flush()
    return seen


async def publish(nc: NATS, event: Event, event_id: str | None = None, copy: int = 0) -> str:
    """Publish as a relay would; `copy` > 0 gets past broker dedup to deliver the same event again."""
    envelope = envelope_of(event, event_id=event_id)
    await nc.jetstream().publish(event.subject_name(), envelope.to_bytes(),
                                 headers={"Nats-Msg-Id": f"{envelope.id}:{copy}"})
    return envelope.id
