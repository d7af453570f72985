"""Broker permissions derived from the registry: a service publishes to its own topic and pulls its own consumers."""

from __future__ import annotations

import pytest

from eventshop.contracts.registry import SERVICES, TOPICS, consumed_by
from eventshop.platform.broker_auth import identities, service_identity


def allows(patterns: tuple[str, ...], subject: str) -> bool:
    """NATS subject matching: `*` is one token, `>` one or more at the end."""
    def matches(pattern: list[str], tokens: list[str]) -> bool:
        for i, token in enumerate(pattern):
            if token == ">":
                return len(tokens) > i
            if i >= len(tokens) or token not in ("*", tokens[i]):
                return False
        return len(tokens) == len(pattern)

    return any(matches(p.split("."), subject.split(".")) for p in patterns)


@pytest.mark.parametrize("service", list(SERVICES))
def test_a_service_may_publish_events_only_to_its_own_topic(service: str) -> None:
    publish = service_identity(service).publish

    for topic in TOPICS:
        assert allows(publish, f"{topic}.PaymentProcessedEvent") == (topic == SERVICES[service].topic)
    assert allows(publish, f"deadletter.{service}.order.OrderProcessedEvent")
    assert not any(allows(publish, f"deadletter.{other}.x") for other in SERVICES if other != service)


@pytest.mark.parametrize("service", list(SERVICES))
def test_a_service_may_pull_and_ack_only_its_seed_subscriptions_and_may_not_change_streams(service: str) -> None:
    publish = service_identity(service).publish
    own = {f"{TOPICS[t].stream}.{service}--{t}" for t in consumed_by(service)}

    for topic in TOPICS.values():
        for consumer in (f"{topic.stream}.{other}--{topic.key}" for other in SERVICES):
            assert allows(publish, f"$JS.API.CONSUMER.MSG.NEXT.{consumer}") == (consumer in own)
            assert allows(publish, f"$JS.ACK.{consumer}.1.5.5.1700000000.0") == (consumer in own)
        for change in ("CREATE", "UPDATE", "DELETE", "PURGE"):
            assert not allows(publish, f"$JS.API.STREAM.{change}.{topic.stream}")
    assert service_identity(service).subscribe == (f"_INBOX_{service}.>",)


def test_only_the_operator_may_do_everything() -> None:
    assert [i.name for i in identities() if ">" in i.publish] == ["operator"]
