"""Payment rules: when to charge, void or refund, and how account replicas accept updates."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PaymentStatus(StrEnum):
    PENDING = "pending"
    UNKNOWN = "unknown"  # charged or not, the provider has not said yet: the reconciler asks by idempotency key
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    VOIDED = "voided"
    REFUNDED = "refunded"

    @property
    def final(self) -> bool:
        return self not in (PaymentStatus.PENDING, PaymentStatus.UNKNOWN)


# Reconciliation of an unknown charge: the first look soon after, then capped exponential backoff.
FIRST_CHECK_SECONDS = 2.0
MAX_CHECK_INTERVAL_SECONDS = 60.0
# The provider says no charge with the order's key ever arrived: nothing was charged, the order fails.
NOT_CHARGED_REASON = "provider_unreachable"


def next_check_in(checks: int) -> float:
    """Seconds until the next look at an unknown charge, after `checks` looks so far."""
    return float(min(FIRST_CHECK_SECONDS * 2 ** checks, MAX_CHECK_INTERVAL_SECONDS))


class Reconciled(StrEnum):
    SUCCEEDED = "succeeded"  # publish PaymentProcessedEvent, as for a charge answered in time
    DECLINED = "declined"  # publish PaymentFailedEvent with the decline reason
    NOT_CHARGED = "not_charged"  # publish PaymentFailedEvent (provider_unreachable)
    STILL_UNKNOWN = "still_unknown"  # look again later
    OVERDUE = "overdue"  # still unknown past the budget: keep looking, slowly, and alert an operator


@dataclass(frozen=True)
class ReconcileStep:
    verdict: Reconciled
    next_check_in: float | None = None


def reconcile(provider_says: str, checks: int, unknown_for: float, budget: float) -> ReconcileStep:
    """What a look at the provider means for an unknown payment.

    `provider_says` is the adapter's outcome (succeeded, declined, absent, unknown). Only the provider's
    own word settles it: an unknown charge is never assumed failed, since money may have moved.
    """
    if provider_says == "succeeded":
        return ReconcileStep(Reconciled.SUCCEEDED)
    if provider_says == "declined":
        return ReconcileStep(Reconciled.DECLINED)
    if provider_says == "absent":
        return ReconcileStep(Reconciled.NOT_CHARGED)
    if unknown_for >= budget:
        return ReconcileStep(Reconciled.OVERDUE, MAX_CHECK_INTERVAL_SECONDS)
    return ReconcileStep(Reconciled.STILL_UNKNOWN, next_check_in(checks))


DECLINE_REASONS = frozenset({"card_declined", "insufficient_funds", "expired_card", "invalid_payment_method"})


def may_charge(status: PaymentStatus | None) -> bool:
    """Only a payment that is not final yet is charged: a redelivered event charges nothing."""
    return status is None or status is PaymentStatus.PENDING


def may_void(status: PaymentStatus | None) -> bool:
    return status is None or status is PaymentStatus.PENDING


def refund_decision(status: PaymentStatus | None) -> str:
    """'refund', 'wait' (the charge has not happened yet, or its outcome is unknown) or 'nothing'."""
    if status is PaymentStatus.SUCCEEDED:
        return "refund"
    if status is None or status in (PaymentStatus.PENDING, PaymentStatus.UNKNOWN):
        return "wait"
    return "nothing"


def decline_reason(failure_code: str | None) -> str:
    return failure_code if failure_code in DECLINE_REASONS else "card_declined"


def newer(stored_revision: int | None, incoming_revision: int) -> bool:
    """Account events may arrive out of order; only a higher revision changes the replica."""
    return stored_revision is None or incoming_revision > stored_revision


def token_outdated(token_revision: int | None, incoming_revision: int, changed: list[str]) -> bool:
    """A cached token is dropped when a later revision changed it, even if that event comes late."""
    return token_revision is not None and "payment_token" in changed and incoming_revision > token_revision


def may_cache_token(revision_asked_at: int | None, revision_now: int | None) -> bool:
    """A token asked of Account is kept only if no account event arrived meanwhile: it might predate it."""
    return revision_asked_at == revision_now
