"""Test payment-method tokens and what charging each does.

tok_visa, tok_mastercard: succeed. tok_declined: 402 card_declined. tok_insufficient_funds: 402
insufficient_funds. tok_expired: 402 expired_card. tok_timeout: answers only after the timeout delay
(EVENTSHOP_PAYMENT_SYSTEM_TIMEOUT_SECONDS, 30 s), then succeeds. Any other token: 400 invalid_payment_method.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    SUCCEEDS = "succeeds"
    DECLINED = "declined"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class TestCard:
    __test__ = False  # not a pytest test class, despite the name

    token: str
    brand: str
    last4: str
    outcome: Outcome
    description: str
    failure_code: str | None = None
    failure_message: str | None = None

    @property
    def label(self) -> str:
        """What a shop shows when offering this card."""
        return f"{self.brand.title()} ending {self.last4} ({self.description})"

    def as_json(self) -> dict[str, str | None]:
        return {"token": self.token, "label": self.label, "description": self.description, "brand": self.brand,
                "last4": self.last4, "outcome": self.outcome.value, "failure_code": self.failure_code}


TEST_CARDS: dict[str, TestCard] = {
    card.token: card
    for card in (
        TestCard("tok_visa", "visa", "4242", Outcome.SUCCEEDS, "succeeds"),
        TestCard("tok_mastercard", "mastercard", "4444", Outcome.SUCCEEDS, "succeeds"),
        TestCard("tok_declined", "visa", "0002", Outcome.DECLINED, "declined", "card_declined",
                 "The card was declined."),
        TestCard("tok_insufficient_funds", "visa", "9995", Outcome.DECLINED, "insufficient funds",
                 "insufficient_funds", "The card has insufficient funds."),
        TestCard("tok_expired", "visa", "0069", Outcome.DECLINED, "expired", "expired_card",
                 "The card has expired."),
        TestCard("tok_timeout", "visa", "0119", Outcome.TIMEOUT, "answers too late, then succeeds"),
    )
}
