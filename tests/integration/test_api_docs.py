"""/docs and /redoc render with no network: every script and style they load comes from the process itself."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from eventshop.cli.loading import load_service
from eventshop.platform.runtime import ServiceRuntime
from eventshop.platform.settings import Settings
from eventshop.sandboxes.logistics_system.app import create_app as logistics_app
from eventshop.sandboxes.payment_system.app import create_app as payment_app


def apps(tmp_path: Path) -> dict[str, Any]:
    settings = Settings(data_dir=tmp_path, nats_url="nats://127.0.0.1:1", dev_secrets=True)
    return {"catalog service": ServiceRuntime(load_service("catalog"), settings).app(),
            "payment-system sandbox": payment_app(tmp_path / "payment"),
            "logistics-system sandbox": logistics_app(tmp_path / "logistics")}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
@pytest.mark.parametrize("name", ["catalog service", "payment-system sandbox", "logistics-system sandbox"])
async def test_api_docs_load_every_asset_from_the_process_itself(name: str, page: str, tmp_path: Path) -> None:
    (tmp_path / "payment").mkdir()
    (tmp_path / "logistics").mkdir()
    app = apps(tmp_path)[name]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop") as http:
        html = (await http.get(page)).text
        referenced = re.findall(r"""(?:src|href|spec-url)=["']([^"']+)["']|url: ?["']([^"']+)["']""", html)
        urls = [src or url for src, url in referenced]
        assert len(urls) >= 2, html
        assert all(url.startswith("/") for url in urls), urls  # no CDN, no other host
        for url in urls:
            response = await http.get(url)
            assert response.status_code == 200, url
            assert len(response.content) > 100, url
        assert "/openapi.json" in urls
