"""An AsyncAPI 3.0 document generated from the registry and the event models."""

from __future__ import annotations

from typing import Any

from eventshop.contracts.envelope import Envelope
from eventshop.contracts.events import ALL_EVENTS
from eventshop.contracts.registry import PUBLICATIONS, SUBSCRIPTIONS, TOPICS, display_name


def asyncapi_document(version: str = "0.1.0") -> dict[str, Any]:
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for name, model in sorted(ALL_EVENTS.items()):
        messages[name] = {
            "name": name,
            "title": name,
            "summary": (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else name,
            "contentType": "application/cloudevents+json",
            "headers": {"type": "object", "properties": {"Nats-Msg-Id": {"type": "string"}}},
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEventsEnvelope"},
                    {"type": "object", "properties": {"type": {"const": name}, "data": model.model_json_schema()}},
                ]
            },
            "x-version": model.version,
        }
        channels[name] = {
            "address": model.subject_name(),
            "title": f"{TOPICS[model.topic].name}: {name}",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "x-stream": TOPICS[model.topic].stream,
        }
    operations: dict[str, Any] = {}
    for pub in PUBLICATIONS:
        for event in pub.events:
            operations[f"{pub.service}-publishes-{event}"] = {
                "action": "send",
                "title": f"{display_name(pub.service)} publishes {event}",
                "channel": {"$ref": f"#/channels/{event}"},
            }
    for sub in SUBSCRIPTIONS:
        for event in sub.events:
            operations[f"{sub.service}-consumes-{event}"] = {
                "action": "receive",
                "title": f"{display_name(sub.service)} consumes {event}",
                "channel": {"$ref": f"#/channels/{event}"},
                "x-durable-consumer": f"{sub.service}--{sub.topic}",
            }
    envelope_schema = Envelope.model_json_schema()
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "eventshop",
            "version": version,
            "description": "Events of the eventshop online shop. One JetStream stream per topic; "
            "subjects are <topic>.<EventType>; payloads are CloudEvents 1.0 in structured JSON mode.",
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {"local": {"host": "127.0.0.1:8422", "protocol": "nats", "description": "eventshop up"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": {"CloudEventsEnvelope": envelope_schema}},
    }
