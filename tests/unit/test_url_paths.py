"""Outgoing URLs: every path parameter is one quoted segment, whatever characters it holds."""

from __future__ import annotations

import httpx

from eventshop.platform.http import url_path


def test_a_path_parameter_with_slashes_queries_and_control_characters_stays_one_segment() -> None:
    path = url_path("internal", "accounts", "a/b?c#d\x00\n\x7f é", "address")
    assert path == "/internal/accounts/a%2Fb%3Fc%23d%00%0A%7F%20%C3%A9/address"
    request = httpx.Request("GET", "http://account" + path)
    assert request.url.raw_path == path.encode()
