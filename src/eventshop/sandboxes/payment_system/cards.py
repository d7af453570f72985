"""Test payment-method tokens and what each one does when charged."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TestCard:
    token: str
    label: str
    outcome: str  # succeeded | declined | timeout
    failure_code: str | None = None
    failure_message: str | None = None


TEST_CARDS: dict[str, TestCard] = {
    card.token: card
    for card in (
        TestCard("tok_visa", "Visa ending 4242 (succeeds)", "succeeded"),
        TestCard("tok_mastercard", "Mastercard ending 4444 (succeeds)", "succeeded"),
        TestCard("tok_declined", "Visa ending 0002 (declined)", "declined", "card_declined", "The card was declined."),
        TestCard(
            "tok_insufficient_funds",
            "Visa ending 9995 (insufficient funds)",
            "declined",
            "insufficient_funds",
            "The card has insufficient funds.",
        ),
        TestCard("tok_expired", "Visa ending 0069 (expired)", "declined", "expired_card", "The card has expired."),
        TestCard("tok_timeout", "Visa ending 0119 (answers too late, then succeeds)", "timeout"),
    )
}
