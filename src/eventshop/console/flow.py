"""The event flow drawn from the registry: per topic its publisher with its outbox backlog, and each
subscriber with its consumer's lag and redeliveries, from what `shopstatus.gather` found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eventshop.contracts.registry import PUBLICATIONS, SERVICES, TOPICS, display_name
from eventshop.platform.broker import consumer_specs


@dataclass(frozen=True)
class Reader:
    service: str
    consumer: str
    events: tuple[str, ...]
    figures: dict[str, Any]  # pending, ack_pending, redelivered, or error; empty when the broker did not answer

    @property
    def busy(self) -> bool:
        return bool(self.figures.get("error") or self.figures.get("pending") or self.figures.get("ack_pending")
                    or self.figures.get("redelivered"))


@dataclass(frozen=True)
class TopicFlow:
    key: str
    name: str
    stream: str
    publisher: str
    events: tuple[str, ...]
    outbox: dict[str, Any] | None  # the publisher's backlog and its oldest event's age, None when unknown
    readers: list[Reader] = field(default_factory=list)


def event_flow(report: dict[str, Any]) -> list[TopicFlow]:
    """Every topic in the registry's order of publications, with its readers in service order."""
    figures = {row["consumer"]: row for row in report.get("subscriptions") or []}
    outboxes = {row["service"]: row for row in report.get("outbox") or []}
    flows = []
    for publication in PUBLICATIONS:
        topic = TOPICS[publication.topic]
        readers = [Reader(spec.service, spec.durable, spec.events, figures.get(spec.durable, {}))
                   for service in SERVICES for spec in consumer_specs(service, max_deliver=1)
                   if spec.topic == topic.key]
        flows.append(TopicFlow(topic.key, topic.name, topic.stream, publication.service, publication.events,
                               outboxes.get(publication.service), readers))
    return flows


def service_name(key: str) -> str:
    return display_name(key)
