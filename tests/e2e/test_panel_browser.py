"""The panel in Chromium and Firefox ESR against the running system (ui/e2e/panel.e2e.mjs),
and what the shim promises about the page: same origin, a CSP, CORS only where configured."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection
from redis.asyncio import Redis

from contracts.ids import execution_id_for_event
from tests.factories import REAL_PUSH, github_push
from tests.helpers import Service, eventually, publish_raw, running
from worker import store
from worker.settings import Settings

pytestmark = pytest.mark.e2e

UI = Path(__file__).resolve().parents[2] / "ui"
# The Debian packages puppeteer-core drives (Playwright's own downloads are out of reach).
BROWSERS = {
    "chrome": (Path("/usr/bin/chromium"), "chromium"),
    "firefox": (Path("/usr/bin/firefox-esr"), "firefox-esr"),
}


def ensure_browser(name: str) -> Path:
    """The browser's executable (`make browsers`, which `make test` runs first, installs it)."""
    executable, package = BROWSERS[name]
    assert executable.exists(), f"{executable} is missing: `make browsers` installs {package}"
    return executable


@pytest.mark.parametrize("browser", ["chrome", "firefox"])
async def test_the_panel_works_in_a_real_browser(
    service: Service,
    pool: asyncpg.Pool,
    broker: AbstractRobustConnection,
    browser: str,
    tmp_path: Path,
) -> None:
    # Given the browser, demo-user's token (and one that has expired), demo-viewer's
    executable = ensure_browser(browser)
    token = service.token("demo-user", ttl=1800)["Authorization"].removeprefix("Bearer ")
    expired = service.token("demo-user", ttl=-3600)["Authorization"].removeprefix("Bearer ")
    viewer_token = service.token("demo-viewer", ttl=1800)["Authorization"].removeprefix("Bearer ")
    # And a push a real GitHub ingress published, which the person will reproduce
    real = github_push(f"real-{uuid.uuid4()}")
    exchange = service.settings.topology.trigger_exchange
    await publish_raw(broker, exchange, real.routing_key(), real.body())
    await eventually(lambda: store.get_execution(pool, execution_id_for_event(real.event_id)))
    # When the browser script signs in, dry-runs every demo trigger, checks formats as typed,
    # GitHub's per-event form, reproduces the real push, keeps edits across a reload and an
    # expired token, invokes one run and follows it live to succeeded, loads it back, copies
    # curl, then invokes the demo's failing run and sees why; then demo-viewer, a viewer of
    # wf_demo, sees the form read-only with nothing to send
    process = await asyncio.create_subprocess_exec(
        "node",
        "e2e/panel.e2e.mjs",
        cwd=UI,
        env={
            **os.environ,
            "MTI_URL": service.url,
            "MTI_TOKEN": token,
            "MTI_VIEWER_TOKEN": viewer_token,
            "MTI_EXPIRED_TOKEN": expired,
            "MTI_REAL_COMMIT": REAL_PUSH["commits"][0]["message"],
            "BROWSER": browser,
            "CHROMIUM" if browser == "chrome" else "FIREFOX": str(executable),
            "SCREENSHOTS": str(UI / "e2e" / "screenshots"),
            "HOME": str(tmp_path),  # Firefox writes into the home directory
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode == 0, out.decode()[-4000:] + err.decode()[-6000:]
    report = json.loads(out.decode().strip().splitlines()[-1])
    # What the page showed joins the service's answers in its check for leaked secrets.
    assert len(report["pages"]) == 9
    service.responses.extend(report["pages"])
    # Then the execution it started is in the database, as the person asked for it
    execution = await eventually(lambda: store.get_execution(pool, report["execution_id"]))
    assert execution.trigger_id == "trig_manual_1"
    assert execution.metadata["manual_invocation"] is True
    assert execution.metadata["initiated_by"] == "demo-user"
    assert execution.metadata["invocation_description"] == "Manual test of MANUAL trigger"
    assert execution.metadata["simulated_parameters"]["version"] == "2.0.1"
    # And the stand-in engine ran both: the page saw what the database holds
    assert execution.status == "succeeded"
    failed = await eventually(lambda: store.get_execution(pool, report["failed_execution_id"]))
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error["message"] == "Deployment refused: demonstration failure"
    # And the curl it copied works as printed, with the token in $TOKEN
    curl = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        report["curl"],
        env={**os.environ, "TOKEN": token},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    answer, curl_err = await asyncio.wait_for(curl.communicate(), timeout=60)
    assert curl.returncode == 0, curl_err.decode()
    result = json.loads(answer)
    assert result["status"] == "dry_run", result
    assert result["trigger_data"]["resolved_parameters"]["inputs"]["version"] == "2.0.1"


async def test_the_page_is_served_from_the_shim_with_a_content_security_policy(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'self'" in policy
    # Every script and style the page names comes from this origin.
    assets = [part.split('"')[0] for part in page.text.split('src="')[1:]]
    assets += [part.split('"')[0] for part in page.text.split('href="')[1:]]
    assert assets
    for asset in assets:
        assert asset.startswith(("/", "data:")), asset
        if asset.startswith("/assets/"):
            assert (await http.get(asset)).status_code == 200
    # The page's catch-all never hides an API answer.
    missing = await http.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    # And without MTI_CORS_ORIGINS no other origin may call the API from a browser.
    preflight = await http.options(
        "/api/v1/workflows",
        headers={"Origin": "https://platform.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers


async def raw_get(
    client: httpx.AsyncClient, path: str, coding: str
) -> tuple[httpx.Response, bytes]:
    """GET `path` with `Accept-Encoding: coding`: the answer and its bytes as sent."""
    async with client.stream("GET", path, headers={"Accept-Encoding": coding}) as response:
        return response, b"".join([chunk async for chunk in response.aiter_raw()])


async def unbrotli(data: bytes) -> bytes:
    """Brotli-decoded by Node's zlib (the Python side has no brotli decoder)."""
    node = await asyncio.create_subprocess_exec(
        "node",
        "-e",
        "process.stdout.write(require('node:zlib').brotliDecompressSync(require('node:fs')"
        ".readFileSync(0)))",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(node.communicate(data), timeout=60)
    assert node.returncode == 0
    return out


async def test_the_built_script_is_sent_precompressed_and_cached_without_its_map(
    service: Service,
) -> None:
    # Given the panel `npm run build` made: no source map in it
    assert list((UI / "dist").rglob("*.map")) == []
    async with httpx.AsyncClient(base_url=service.url, timeout=20) as client:
        page, html = await raw_get(client, "/", "br, gzip")
        names = [part.split('"')[0] for part in html.decode().split('src="')[1:]]
        script = next(name for name in names if name.endswith(".js"))
        plain, plain_bytes = await raw_get(client, script, "identity")
        brotli, brotli_bytes = await raw_get(client, script, "gzip, deflate, br, zstd")
        gzipped, gzip_bytes = await raw_get(client, script, "br;q=0.5, gzip")
        source_map = await client.get(script + ".map")
    # Then the page is revalidated on each load, its script cached for good: a new build is a
    # new file name
    assert page.headers["cache-control"] == "no-cache"
    assert "content-encoding" not in plain.headers
    for response in (plain, brotli, gzipped):
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.headers["content-type"] == plain.headers["content-type"]
    # And the browser's encoding is chosen, each decoding to the script itself
    assert brotli.headers["content-encoding"] == "br"
    assert gzipped.headers["content-encoding"] == "gzip"
    assert len(brotli_bytes) < len(gzip_bytes) < len(plain_bytes) / 2
    assert await unbrotli(brotli_bytes) == plain_bytes
    assert gzip.decompress(gzip_bytes) == plain_bytes
    # And no source map is at any URL
    assert source_map.status_code == 404


async def test_cors_origins_let_only_the_listed_origins_embed_the_panel(
    settings: Settings,
    broker: AbstractRobustConnection,
    redis: Redis,
    service: Service,
    tmp_path: Path,
) -> None:
    async with (
        running(
            "shim",
            settings,
            broker,
            redis,
            tmp_path / "shim.log",
            cors_origins="https://platform.example, https://other.example",
        ) as shim,
        httpx.AsyncClient(base_url=shim.url) as client,
    ):
        asked = {
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        }
        allowed = await client.options(
            "/api/v1/workflows", headers={"Origin": "https://platform.example", **asked}
        )
        refused = await client.options(
            "/api/v1/workflows", headers={"Origin": "https://evil.example", **asked}
        )
        listing = await client.get(
            "/api/v1/workflows",
            headers={"Origin": "https://other.example", **service.token("demo-user")},
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://platform.example"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in refused.headers
    assert listing.status_code == 200
    assert listing.headers["access-control-allow-origin"] == "https://other.example"
