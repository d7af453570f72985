"""The console's rates: two samples of cumulative counts make a rate over the window; the flow's figures."""

from __future__ import annotations

from typing import Any

import pytest

from eventshop.console.flow import consumer_key, counts_of, event_flow, figures_of, rate_text, stream_key
from eventshop.console.rates import Rates, RateSampler


def test_the_first_sample_has_no_rate_and_the_second_one_divides_the_change_by_the_time_between() -> None:
    sampler = RateSampler()

    first = sampler.add({"stream:ORDER": 100, "consumer:payment--order": 40}, at=1000.0)
    second = sampler.add({"stream:ORDER": 130, "consumer:payment--order": 40}, at=1010.0)

    assert first.over_seconds is None and first.of("stream:ORDER") is None
    assert second.over_seconds == 10.0
    assert second.of("stream:ORDER") == pytest.approx(3.0)
    assert second.of("consumer:payment--order") == 0.0


def test_a_rate_covers_about_the_window_not_only_the_last_refresh() -> None:
    sampler = RateSampler(window_seconds=30.0)
    for second in range(0, 61, 5):  # a page refreshing every 5 s, 2 messages a second until 40 s, then none
        rates = sampler.add({"c": 2 * min(second, 40)}, at=float(second))

    assert rates.over_seconds == pytest.approx(30.0)
    assert rates.of("c") == pytest.approx((80 - 60) / 30)
    assert len(sampler.samples) <= 8


def test_samples_closer_than_the_minimum_span_are_kept_but_not_used_as_the_baseline() -> None:
    sampler = RateSampler(min_span_seconds=1.0)
    sampler.add({"c": 0}, at=0.0)

    close = sampler.add({"c": 5}, at=0.2)
    later = sampler.add({"c": 10}, at=2.0)

    assert close.over_seconds is None
    assert later.over_seconds == 2.0 and later.of("c") == 5.0


def test_after_a_long_pause_the_old_sample_is_no_baseline_and_the_next_look_has_a_rate_again() -> None:
    sampler = RateSampler(window_seconds=30.0, max_span_seconds=300.0)
    sampler.add({"c": 0}, at=0.0)

    stale = sampler.add({"c": 9000}, at=3600.0)
    fresh = sampler.add({"c": 9050}, at=3605.0)

    assert stale.over_seconds is None and stale.of("c") is None
    assert fresh.over_seconds == 5.0 and fresh.of("c") == 10.0


def test_a_count_that_went_down_or_is_new_has_no_rate() -> None:
    sampler = RateSampler()
    sampler.add({"recreated": 500, "kept": 1}, at=0.0)

    rates = sampler.add({"recreated": 3, "kept": 1, "new": 7}, at=10.0)

    assert rates.of("recreated") is None and rates.of("new") is None and rates.of("kept") == 0.0


@pytest.mark.parametrize(("per_second", "text"), [(None, "…"), (0.0, "0/s"), (0.03, "<0.1/s"), (0.44, "0.4/s"),
                                                  (9.96, "10/s"), (12.4, "12/s")])
def test_rates_read_at_a_glance(per_second: float | None, text: str) -> None:
    assert rate_text(per_second) == text


def report() -> dict[str, Any]:
    """What `shopstatus.survey` found: the payment topic's stream and two of its readers, one of them behind."""
    return {
        "subscriptions": [
            {"consumer": "order--payment", "stream": "PAYMENT", "pending": 0, "ack_pending": 0, "redelivered": 0,
             "delivered": 60},
            {"consumer": "shipping--payment", "stream": "PAYMENT", "pending": 4, "ack_pending": 1, "redelivered": 2,
             "delivered": 20},
            {"consumer": "notification--payment", "stream": "PAYMENT", "error": "NotFoundError"},
        ],
        "streams": [{"stream": "PAYMENT", "messages": 70, "last_sequence": 70}],
        "outbox": [{"service": "payment", "backlog": 3, "oldest_age_seconds": 65.0}],
        "broker_error": None,
    }


def test_the_flow_shows_the_publish_rate_the_outbox_and_each_readers_rate_lag_and_redeliveries() -> None:
    sampler = RateSampler()
    before = report()
    before["streams"][0]["last_sequence"] = 40
    before["subscriptions"][0]["delivered"] = 30
    sampler.add(counts_of(before), at=0.0)
    rates = sampler.add(counts_of(report()), at=10.0)

    [payment] = [flow for flow in event_flow(report(), rates, "choreography") if flow.key == "payment"]
    figures = figures_of([payment], rates)

    counts = counts_of(report())
    assert counts[stream_key("PAYMENT")] == 70 and counts[consumer_key("order--payment")] == 60
    assert figures["payment:published"] == {"text": "3.0/s", "busy": False}
    assert figures["payment:outbox"] == {"text": "outbox 3 waiting, oldest 1m05s", "busy": True}
    assert figures["order--payment:rate"] == {"text": "3.0/s", "busy": False}
    assert figures["order--payment:lag"] == {"text": "0", "busy": False}
    assert figures["shipping--payment:rate"] == {"text": "0/s", "busy": False}
    assert figures["shipping--payment:lag"] == {"text": "5", "busy": True}
    assert figures["shipping--payment:lag-detail"] == {"text": "4 waiting, 1 unacked", "busy": False}
    assert figures["order--payment:lag-detail"]["text"] == ""
    assert figures["shipping--payment:redelivered"] == {"text": "2", "busy": True}
    assert figures["notification--payment:error"] == {"text": "NotFoundError", "busy": True}
    assert figures["window"]["text"] == "Rates (messages per second) over the last 10 s."


def test_without_the_broker_the_flow_still_shows_every_topic_and_reader_with_unknown_figures() -> None:
    flows = event_flow({"subscriptions": None, "streams": None, "outbox": [], "broker_error": "down"},
                       Rates(None), "choreography")
    figures = figures_of(flows, Rates(None))

    assert {flow.key for flow in flows} == {"shopping-cart", "inventory", "payment", "order", "shipping", "account"}
    assert figures["payment:published"]["text"] == "?" and figures["payment:outbox"]["text"] == "outbox unknown"
    assert figures["order--payment:lag"]["text"] == "?"
    assert figures["window"]["text"] == "Rates (messages per second) from the next refresh on."
