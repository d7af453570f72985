"""The consumers' ack wait comes from the settings, within bounds the in-progress heartbeat can keep."""

import pytest

from eventshop.platform.broker import consumer_specs
from eventshop.platform.settings import InvalidSetting, Settings


def test_every_consumer_of_a_service_gets_the_configured_ack_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTSHOP_ACK_WAIT_SECONDS", "12")
    settings = Settings()
    specs = consumer_specs("payment", settings.max_deliveries, settings.saga, settings.ack_wait_seconds)
    assert specs and {spec.config().ack_wait for spec in specs} == {12.0}
    assert {spec.config().ack_wait for spec in consumer_specs("payment", 1)} == {30.0}  # the default


def test_an_ack_wait_too_short_for_the_heartbeat_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTSHOP_ACK_WAIT_SECONDS", "2")
    with pytest.raises(InvalidSetting, match=r"EVENTSHOP_ACK_WAIT_SECONDS='2': .* greater than or equal to 6"):
        Settings()
