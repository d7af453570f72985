"""The order state machine, by table and by property: any event sequence ends consistent."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from eventshop.services.order.domain import SAGA_EVENTS, Emit, OrderStatus, Outcome, decide

S = OrderStatus


def test_happy_path_goes_created_processing_paid_shipped() -> None:
    status = S.CREATED
    for event, expected in [
        ("ShoppingCartOrderedEvent", S.PROCESSING),
        ("PaymentProcessedEvent", S.PAID),
        ("ShippingProcessedEvent", S.SHIPPED),
    ]:
        decision = decide(status, event)
        assert decision.outcome is Outcome.APPLY and decision.transition is not None
        status = decision.transition.target
        assert status is expected


def test_failed_payment_cancels_and_announces_it() -> None:
    decision = decide(S.PROCESSING, "PaymentFailedEvent")
    assert decision.transition is not None
    assert decision.transition.target is S.CANCELLED
    assert decision.transition.emit is Emit.CANCELLED


def test_shipping_failure_after_payment_cancels() -> None:
    decision = decide(S.PAID, "ShippingFailedEvent")
    assert decision.transition is not None and decision.transition.target is S.CANCELLED


def test_payment_result_for_an_unknown_order_is_early_not_lost() -> None:
    assert decide(None, "PaymentProcessedEvent").outcome is Outcome.EARLY
    assert decide(S.CREATED, "PaymentFailedEvent").outcome is Outcome.EARLY


def test_events_after_a_final_state_are_ignored() -> None:
    for final in (S.SHIPPED, S.CANCELLED):
        for event in SAGA_EVENTS:
            assert decide(final, event).outcome is Outcome.IGNORE


def test_a_second_cart_event_does_not_process_twice() -> None:
    assert decide(S.PROCESSING, "ShoppingCartOrderedEvent").outcome is Outcome.IGNORE


def run(events: list[str]) -> tuple[OrderStatus, list[Emit]]:
    status = S.CREATED
    emitted: list[Emit] = []
    for event in events:
        decision = decide(status, event)
        if decision.outcome is Outcome.APPLY:
            assert decision.transition is not None
            status = decision.transition.target
            if decision.transition.emit is not Emit.NONE:
                emitted.append(decision.transition.emit)
    return status, emitted


@given(st.lists(st.sampled_from(sorted(SAGA_EVENTS)), max_size=12))
def test_any_sequence_emits_each_announcement_at_most_once(events: list[str]) -> None:
    status, emitted = run(events)
    assert emitted.count(Emit.PROCESSED) <= 1
    assert emitted.count(Emit.CANCELLED) <= 1
    if Emit.CANCELLED in emitted:
        assert status is S.CANCELLED


@given(st.permutations(["PaymentProcessedEvent", "ShippingProcessedEvent"]), st.integers(0, 3))
def test_duplicates_and_reordering_of_a_successful_saga_still_end_shipped(order: list[str], dups: int) -> None:
    events = ["ShoppingCartOrderedEvent", *order, *order[:1] * dups, "ShoppingCartOrderedEvent"]
    status, emitted = run(events)
    assert status is S.SHIPPED
    assert emitted == [Emit.PROCESSED]


@given(st.lists(st.sampled_from(sorted(SAGA_EVENTS)), max_size=12))
def test_a_final_state_never_changes(events: list[str]) -> None:
    status, _ = run(events)
    if status.final:
        for event in SAGA_EVENTS:
            assert decide(status, event).outcome is Outcome.IGNORE
