"""Payment rules: when to charge, void or refund, and how account replicas accept updates."""

from __future__ import annotations

from enum import StrEnum


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    VOIDED = "voided"
    REFUNDED = "refunded"

    @property
    def final(self) -> bool:
        return self is not PaymentStatus.PENDING


DECLINE_REASONS = frozenset({"card_declined", "insufficient_funds", "expired_card", "invalid_payment_method"})


def may_charge(status: PaymentStatus | None) -> bool:
    """Only a payment that is not final yet is charged: a redelivered event charges nothing."""
    return status is None or status is PaymentStatus.PENDING


def may_void(status: PaymentStatus | None) -> bool:
    return status is None or status is PaymentStatus.PENDING


def refund_decision(status: PaymentStatus | None) -> str:
    """'refund', 'wait' (the charge has not happened yet) or 'nothing'."""
    if status is PaymentStatus.SUCCEEDED:
        return "refund"
    if status is None or status is PaymentStatus.PENDING:
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
