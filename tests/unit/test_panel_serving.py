"""How the shim serves the built panel: each hashed asset precompressed by the request's
Accept-Encoding and cached for a year, the page revalidated, no source map at any URL."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from worker.resources import Resources
from worker.settings import Settings
from worker.shim.app import create_app
from worker.shim.panel import ASSET_CACHE, PANEL_CSP, accepted_encodings

SCRIPT = b"export const panel = 'the panel';\n" * 200
BROTLI = b"\x1b(stand-in brotli bytes: the shim sends the file as it is)"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A built panel as `npm run build` leaves it: the page, a script with its .br and .gz,
    a style without them (a build that found nothing to gain), and a stray source map."""
    (tmp_path / "index.html").write_text("<!doctype html><title>panel</title>")
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "index-abc123.js").write_bytes(SCRIPT)
    (assets / "index-abc123.js.br").write_bytes(BROTLI)
    (assets / "index-abc123.js.gz").write_bytes(gzip.compress(SCRIPT))
    (assets / "index-abc123.css").write_text("body { margin: 0 }")
    (assets / "index-abc123.js.map").write_text('{"sources": ["src/secret.ts"]}')
    return tmp_path


async def fetch(ui_dir: Path, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The answer to GET `path` (`accept_encoding="br"`: Accept-Encoding: br) and its bytes as
    sent (not decoded by the client)."""
    sent_headers = {name.replace("_", "-"): value for name, value in headers.items()}
    settings = Settings(jwt_secret="x" * 40, ui_dir=ui_dir)
    app = create_app(Resources(settings, *(cast(Any, None),) * 3), cast(Any, None))
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://shim") as client,
        client.stream("GET", path, headers=sent_headers) as response,
    ):
        return response, b"".join([chunk async for chunk in response.aiter_raw()])


@pytest.mark.parametrize(
    ("accept_encoding", "encodings"),
    [
        ("gzip, deflate, br, zstd", ["br", "gzip"]),  # what browsers send
        ("gzip", ["gzip"]),
        ("x-gzip", ["gzip"]),
        ("BR;Q=0.5, gzip;q=0.8", ["gzip", "br"]),
        ("br;q=0, gzip", ["gzip"]),
        ("*", ["br", "gzip"]),
        ("gzip;q=0, *;q=0.3", ["br"]),
        ("identity;q=1, br;q=0.5", []),  # the plain file is preferred
        ("br, identity;q=0.5", ["br"]),
        ("identity", []),
        ("", []),
        ("*;q=0", []),
        ("br;q=high, gzip;q=2", []),  # q-values that do not read accept nothing
        ("deflate, zstd", []),
    ],
)
def test_the_codings_accepted_are_read_with_their_q_values(
    accept_encoding: str, encodings: list[str]
) -> None:
    assert accepted_encodings(accept_encoding) == encodings


@pytest.mark.parametrize(
    ("accept_encoding", "coding", "sibling"),
    [("gzip, deflate, br, zstd", "br", ".br"), ("gzip;q=1, br;q=0.9", "gzip", ".gz")],
)
async def test_an_asset_is_sent_precompressed_as_the_client_prefers(
    dist: Path, accept_encoding: str, coding: str, sibling: str
) -> None:
    response, sent = await fetch(dist, "/assets/index-abc123.js", accept_encoding=accept_encoding)
    plain, _ = await fetch(dist, "/assets/index-abc123.js", accept_encoding="identity")
    assert response.status_code == 200
    assert sent == (dist / "assets" / f"index-abc123.js{sibling}").read_bytes()
    assert response.headers["content-encoding"] == coding
    assert response.headers["content-length"] == str(len(sent))
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["content-type"] == plain.headers["content-type"]
    assert "javascript" in response.headers["content-type"]
    assert response.headers["cache-control"] == ASSET_CACHE
    assert response.headers["content-security-policy"] == PANEL_CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["etag"] != plain.headers["etag"]  # another representation


@pytest.mark.parametrize("accept_encoding", ["identity", "", "br;q=0, gzip;q=0"])
async def test_without_an_accepted_coding_the_plain_asset_is_sent(
    dist: Path, accept_encoding: str
) -> None:
    response, sent = await fetch(dist, "/assets/index-abc123.js", accept_encoding=accept_encoding)
    assert sent == SCRIPT
    assert "content-encoding" not in response.headers
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_an_asset_without_precompressed_files_is_sent_plain(dist: Path) -> None:
    response, sent = await fetch(dist, "/assets/index-abc123.css", accept_encoding="br, gzip")
    assert sent == b"body { margin: 0 }"
    assert "content-encoding" not in response.headers
    assert response.headers["content-type"].startswith("text/css")
    assert response.headers["cache-control"] == ASSET_CACHE


@pytest.mark.parametrize("path", ["/", "/index.html"])
async def test_the_page_is_revalidated_on_every_load(dist: Path, path: str) -> None:
    response, sent = await fetch(dist, path, accept_encoding="br, gzip")
    assert response.status_code == 200
    assert b"<title>panel</title>" in sent
    assert response.headers["cache-control"] == "no-cache"
    assert "content-encoding" not in response.headers
    assert response.headers["content-security-policy"] == PANEL_CSP
    # A revalidation costs a 304, which keeps the policy headers.
    again, _ = await fetch(dist, path, if_none_match=response.headers["etag"])
    assert again.status_code == 304
    assert again.headers["cache-control"] == "no-cache"
    assert again.headers["content-security-policy"] == PANEL_CSP


@pytest.mark.parametrize(
    "path",
    [
        "/assets/index-abc123.js.map",  # even one left in the directory
        "/assets/index-abc123.js.br",  # the siblings only as an encoding of their original
        "/assets/index-abc123.js.gz",
        "/assets/index-zzz.js.map",
    ],
)
async def test_no_source_map_nor_sibling_is_served_by_name(dist: Path, path: str) -> None:
    response, sent = await fetch(dist, path, accept_encoding="br, gzip")
    assert response.status_code == 404
    assert b"secret.ts" not in sent
