"""The interactive API docs work without the internet: every asset comes from the shim."""

from __future__ import annotations

import re

import httpx
import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_every_asset_from_the_shim(
    http: httpx.AsyncClient, page: str
) -> None:
    response = await http.get(page)
    assert response.status_code == 200
    html = response.text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert any(asset.endswith(".js") for asset in assets), html
    # No CDN: every script, style sheet and icon is a path on this server, and it answers
    for asset in assets:
        assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
        fetched = await http.get(asset)
        assert fetched.status_code == 200 and fetched.content, asset
    assert "/openapi.json" in html
