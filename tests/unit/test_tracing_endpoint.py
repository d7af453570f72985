"""Where spans go: EVENTSHOP_OTLP_ENDPOINT first, else the standard OTEL_EXPORTER_OTLP_ENDPOINT, else nowhere."""

from __future__ import annotations

import pytest

from eventshop.platform.settings import Settings
from eventshop.platform.tracing import endpoint_of


def test_no_endpoint_means_no_export(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVENTSHOP_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)

    assert endpoint_of(Settings()) is None


def test_a_base_url_gets_the_traces_path_and_a_full_one_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")
    monkeypatch.delenv("EVENTSHOP_OTLP_ENDPOINT", raising=False)
    assert endpoint_of(Settings()) == "http://collector:4318/v1/traces"

    monkeypatch.setenv("EVENTSHOP_OTLP_ENDPOINT", "https://traces.example/v1/traces")
    assert endpoint_of(Settings()) == "https://traces.example/v1/traces"  # the shop's own setting wins
