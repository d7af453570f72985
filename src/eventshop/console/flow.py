"""The event flow drawn from the registry, with live figures on every arrow: per topic its publisher, that
service's outbox backlog and the topic's publish rate, and each subscriber with its delivery rate, its lag
(pending + unacknowledged) and its redeliveries, from what `shopstatus.survey` found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eventshop.console.pages import duration
from eventshop.console.rates import Rates
from eventshop.contracts.registry import PUBLICATIONS, SERVICES, TOPICS, Style, display_name
from eventshop.platform.broker import consumer_specs


@dataclass(frozen=True)
class Figure:
    """One figure as the page shows it; `busy` ones (a backlog, a redelivery, an error) are in red."""

    text: str
    busy: bool = False


def rate_text(per_second: float | None) -> str:
    """`0/s`, `<0.1/s` (some, but fewer than one in ten seconds), `0.4/s`, `12/s`; `…` while there is nothing to
    compare with yet."""
    if per_second is None:
        return "…"
    if per_second == 0:
        return "0/s"
    if per_second < 0.05:
        return "<0.1/s"
    return f"{per_second:.1f}/s" if per_second < 9.95 else f"{per_second:.0f}/s"


def stream_key(stream: str) -> str:
    return f"stream:{stream}"


def consumer_key(consumer: str) -> str:
    return f"consumer:{consumer}"


def counts_of(report: dict[str, Any]) -> dict[str, int]:
    """The cumulative counts rates are made of: each stream's last sequence, each consumer's deliveries."""
    counts = {stream_key(row["stream"]): row["last_sequence"]
              for row in report.get("streams") or [] if "last_sequence" in row}
    counts |= {consumer_key(row["consumer"]): row["delivered"]
               for row in report.get("subscriptions") or [] if "delivered" in row}
    return counts


@dataclass(frozen=True)
class Reader:
    service: str
    consumer: str
    events: tuple[str, ...]
    figures: dict[str, Any]  # pending, ack_pending, redelivered, delivered, or error; empty: the broker did not answer
    per_second: float | None = None

    def shown(self) -> dict[str, Figure]:
        """The row's cells: deliveries per second, lag (and what it is made of), redeliveries; or the error, or
        unknown."""
        if self.figures.get("error"):
            return {"error": Figure(str(self.figures["error"]), busy=True)}
        if not self.figures:
            return {"rate": Figure("?"), "lag": Figure("?"), "lag-detail": Figure(""), "redelivered": Figure("?")}
        pending, unacked = self.figures["pending"], self.figures["ack_pending"]
        lag = pending + unacked
        return {"rate": Figure(rate_text(self.per_second)),
                "lag": Figure(str(lag), busy=bool(lag)),
                "lag-detail": Figure(f"{pending} waiting, {unacked} unacked" if lag else ""),
                "redelivered": Figure(str(self.figures["redelivered"]), busy=bool(self.figures["redelivered"]))}


@dataclass(frozen=True)
class TopicFlow:
    key: str
    name: str
    stream: str
    publisher: str
    events: tuple[str, ...]
    outbox: dict[str, Any] | None  # the publisher's backlog and its oldest event's age, None when unknown
    published: dict[str, Any] | None  # the stream's figures, None when the broker did not answer
    per_second: float | None = None
    readers: list[Reader] = field(default_factory=list)

    def shown(self) -> dict[str, Figure]:
        """The publisher's arrow: its outbox and the topic's publish rate."""
        if self.outbox is None:
            outbox = Figure("outbox unknown")
        elif self.outbox["backlog"]:
            waiting = f"outbox {self.outbox['backlog']} waiting, oldest {duration(self.outbox['oldest_age_seconds'])}"
            outbox = Figure(waiting, busy=True)
        else:
            outbox = Figure("outbox empty")
        if self.published is None:
            published = Figure("?")
        elif self.published.get("error"):
            published = Figure(str(self.published["error"]), busy=True)
        else:
            published = Figure(rate_text(self.per_second))
        return {"outbox": outbox, "published": published}


def event_flow(report: dict[str, Any], rates: Rates, style: Style) -> list[TopicFlow]:
    """Every topic in the registry's order of publications, with its readers (in the shop's saga style) in
    service order."""
    figures = {row["consumer"]: row for row in report.get("subscriptions") or []}
    outboxes = {row["service"]: row for row in report.get("outbox") or []}
    streams = {row["stream"]: row for row in report.get("streams") or []}
    flows = []
    for publication in PUBLICATIONS:
        topic = TOPICS[publication.topic]
        readers = [Reader(spec.service, spec.durable, spec.events, figures.get(spec.durable, {}),
                          rates.of(consumer_key(spec.durable)))
                   for service in SERVICES for spec in consumer_specs(service, max_deliver=1, style=style)
                   if spec.topic == topic.key]
        flows.append(TopicFlow(topic.key, topic.name, topic.stream, publication.service, publication.events,
                               outboxes.get(publication.service), streams.get(topic.stream),
                               rates.of(stream_key(topic.stream)), readers))
    return flows


def window_text(rates: Rates) -> str:
    if rates.over_seconds is None:
        return "Rates (messages per second) from the next refresh on."
    return f"Rates (messages per second) over the last {rates.over_seconds:.0f} s."


def figures_of(flows: list[TopicFlow], rates: Rates) -> dict[str, dict[str, Any]]:
    """Every figure of the page by the id its element carries (`data-figure`), for the page's refresh."""
    found = {"window": Figure(window_text(rates))}
    found |= {f"{flow.key}:{name}": figure for flow in flows for name, figure in flow.shown().items()}
    found |= {f"{reader.consumer}:{name}": figure
              for flow in flows for reader in flow.readers for name, figure in reader.shown().items()}
    return {key: {"text": figure.text, "busy": figure.busy} for key, figure in found.items()}


def service_name(key: str) -> str:
    return display_name(key)
