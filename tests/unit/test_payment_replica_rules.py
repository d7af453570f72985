"""Payment's replica rules for the payment token it caches from Account."""

from __future__ import annotations

from eventshop.services.payment.domain import may_cache_token, token_outdated


def test_a_later_token_change_outdates_the_cached_token_even_when_it_arrives_late() -> None:
    assert token_outdated(token_revision=3, incoming_revision=4, changed=["payment_token"])
    assert not token_outdated(token_revision=3, incoming_revision=3, changed=["payment_token"])
    assert not token_outdated(token_revision=3, incoming_revision=5, changed=["name", "address"])
    assert not token_outdated(token_revision=None, incoming_revision=5, changed=["payment_token"])


def test_a_token_is_cached_only_if_no_account_event_arrived_while_it_was_asked_for() -> None:
    assert may_cache_token(revision_asked_at=2, revision_now=2)
    assert may_cache_token(revision_asked_at=None, revision_now=None)
    assert not may_cache_token(revision_asked_at=2, revision_now=3)
    assert not may_cache_token(revision_asked_at=None, revision_now=1)
