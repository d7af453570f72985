"""Payment's rules for a charge whose outcome is unknown: only the provider's word settles it."""

from __future__ import annotations

from eventshop.services.payment.domain import (
    MAX_CHECK_INTERVAL_SECONDS,
    PaymentStatus,
    Reconciled,
    may_charge,
    may_void,
    next_check_in,
    reconcile,
    refund_decision,
)


def test_an_unknown_payment_is_not_final_and_is_never_charged_voided_or_refunded_again() -> None:
    assert not PaymentStatus.UNKNOWN.final
    assert not may_charge(PaymentStatus.UNKNOWN)  # a redelivered reservation waits for the reconciler
    assert not may_void(PaymentStatus.UNKNOWN)
    assert refund_decision(PaymentStatus.UNKNOWN) == "wait"


def test_looks_at_an_unknown_charge_back_off_exponentially_up_to_a_cap() -> None:
    delays = [next_check_in(n) for n in range(8)]
    assert delays[:4] == [2.0, 4.0, 8.0, 16.0]
    assert delays == sorted(delays) and max(delays) == MAX_CHECK_INTERVAL_SECONDS


def test_the_providers_answer_settles_the_payment_whatever_the_time() -> None:
    assert reconcile("succeeded", 3, 5000, budget=900).verdict is Reconciled.SUCCEEDED
    assert reconcile("declined", 0, 1, budget=900).verdict is Reconciled.DECLINED
    assert reconcile("absent", 0, 1, budget=900).verdict is Reconciled.NOT_CHARGED


def test_no_answer_is_looked_at_again_and_past_the_budget_is_overdue_not_failed() -> None:
    within = reconcile("unknown", 2, 100, budget=900)
    assert (within.verdict, within.next_check_in) == (Reconciled.STILL_UNKNOWN, 8.0)
    past = reconcile("unknown", 20, 900, budget=900)
    assert (past.verdict, past.next_check_in) == (Reconciled.OVERDUE, MAX_CHECK_INTERVAL_SECONDS)
