"""Hostile but well-formed input, through the shim: nothing lost, leaked, amplified or wedged.

Each test is one reproduction of issue 9 (and the other spellings of its class).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import pytest
from aio_pika.abc import AbstractRobustConnection
from redis.asyncio import Redis

from contracts.redaction import HIDDEN
from tests.helpers import TEST_JWT_SECRET, Service, free_port, running
from worker.safety import MAX_OUTPUT_BYTES
from worker.settings import Settings

pytestmark = pytest.mark.e2e

Tokens = Callable[[str], dict[str, str]]
BASE = "/api/v1/workflows/wf_demo/triggers"
JSON = {"Content-Type": "application/json"}


def invoke_url(trigger: str) -> str:
    return f"{BASE}/{trigger}/manual-invoke"


def paths_and_codes(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return sorted((e["path"], e["code"]) for e in response.json()["errors"])


@pytest.mark.parametrize(
    ("raw", "path", "code"),
    [
        (b'{"parameters": {"body": {"a": "\\u0000"}}}', "/parameters/body/a", "unstorable_text"),
        (b'{"parameters": {"body": {"a": "\\ud800"}}}', "/parameters/body/a", "unstorable_text"),
        (b'{"parameters": {"body": {"k\\u0000": 1}}}', "/parameters/body/k\x00", "unstorable_text"),
        (b'{"parameters": {"body": {"n": 1e400}}}', "/parameters/body/n", "number_out_of_range"),
        (b'{"parameters": {}, "description": "a\\u0000b"}', "/description", "unstorable_text"),
        (b'{"parameters": {}, "dry_run": "true"}', "/dry_run", "bool_type"),
        (b'{"parameters": {}, "dry_run": 1}', "/dry_run", "bool_type"),
    ],
)
async def test_what_no_store_can_hold_is_400_at_its_path_before_anything_is_queued(
    http: httpx.AsyncClient, as_user: Tokens, raw: bytes, path: str, code: str
) -> None:
    response = await http.post(
        invoke_url("trig_webhook_1"), headers={**as_user("demo-user"), **JSON}, content=raw
    )
    assert response.status_code == 400
    assert paths_and_codes(response) == [(path, code)]
    assert "invocation_id" not in response.json()  # refused at the door: nothing was sent


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
async def test_nan_and_infinity_are_not_json(
    http: httpx.AsyncClient, as_user: Tokens, constant: bytes
) -> None:
    raw = b'{"parameters": {"body": {"n": ' + constant + b"}}}"
    response = await http.post(
        invoke_url("trig_webhook_1"), headers={**as_user("demo-user"), **JSON}, content=raw
    )
    assert response.status_code == 400
    assert paths_and_codes(response) == [("", "json_invalid")]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_a_body_that_is_not_declared_json_is_415(
    http: httpx.AsyncClient, as_user: Tokens, content_type: str
) -> None:
    response = await http.post(
        invoke_url("trig_webhook_1"),
        headers={**as_user("demo-user"), "Content-Type": content_type},
        content=b'{"parameters": {}, "dry_run": true}',
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"


async def test_json_with_a_charset_or_a_json_suffix_is_fine(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await http.post(
            invoke_url("trig_webhook_1"),
            headers={**as_user("demo-user"), "Content-Type": content_type},
            content=b'{"dry_run": true}',
        )
        assert response.status_code == 200, response.text


def signed(claims: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt.encode(claims, TEST_JWT_SECRET, 'HS256')}"}


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "demo\x00user"},
        {"sub": "u" * 257},
        {"sub": "\ud800"},
        {"sub": "demo-user", "exp_in": 3 * 86_400},  # longer than MTI_JWT_MAX_AGE_SECONDS
    ],
    ids=["nul", "too-long", "surrogate", "too-long-lived"],
)
async def test_a_token_whose_subject_or_lifetime_the_system_cannot_hold_is_401(
    http: httpx.AsyncClient, claims: dict[str, Any]
) -> None:
    now = int(time.time())
    payload = {"iat": now, "exp": now + claims.pop("exp_in", 300), **claims}
    response = await http.post(
        invoke_url("trig_webhook_1"), headers={**signed(payload), **JSON}, json={"dry_run": True}
    )
    assert response.status_code == 401


async def test_a_small_request_cannot_become_a_huge_answer_or_event(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    headers = as_user("demo-user")
    placeholders = {"attachments": [{"name": "f", "size": 1_048_576}] * 50}
    # Three bytes per character in the request; far more once encoded, copied and quoted.
    wide = {"body": "\u20ac" * 250_000}
    for parameters, path in ((placeholders, "/parameters/attachments"), (wide, "/parameters/body")):
        for dry_run in (True, False):
            response = await http.post(
                invoke_url("trig_email_1"),
                headers=headers,
                json={"parameters": parameters, "dry_run": dry_run},
            )
            assert response.status_code == 400
            assert paths_and_codes(response) == [(path, "output_too_large")]
            assert len(response.content) < 10_000
    # Just under the bound is simulated in full
    fits = await http.post(
        invoke_url("trig_email_1"),
        headers=headers,
        json={"parameters": {"attachments": [{"name": "f.bin", "size": 512_000}]}, "dry_run": True},
    )
    assert fits.status_code == 200
    assert len(fits.content) <= MAX_OUTPUT_BYTES


@pytest.mark.parametrize(
    ("trigger", "parameters", "path", "code"),
    [
        (
            "trig_email_1",
            {"subject": "=?utf-8?q?hi=0D=0ABcc:_v@evil.test?="},
            "/parameters/subject",
            "line_break",
        ),
        (
            "trig_email_1",
            {"headers": {"From": "x@example.com"}},
            "/parameters/headers/From",
            "structural_header",
        ),
        (
            "trig_email_1",
            {"from": "a@example.com, ceo@evil.test"},
            "/parameters/from",
            "format",  # a list of mailboxes is no `mailbox`: refused before the filter
        ),
        (
            "trig_github_1",
            {"event_type": "push", "payload": {"repository": {"full_name": "evil/repo"}}},
            "/parameters/payload/repository/full_name",
            "filter_mismatch",
        ),
        (
            "trig_webhook_1",
            {"body": {"u": "http://%31%32%37.0.0.1/"}},
            "/parameters/body/u",
            "unsafe_url",
        ),
        ("trig_webhook_1", {"body": {"u": "http:/127.0.0.1/"}}, "/parameters/body/u", "unsafe_url"),
        (
            "trig_webhook_1",
            {"body": {"u": " http://loca%6chost/"}},
            "/parameters/body/u",
            "unsafe_url",
        ),
        (
            "trig_webhook_1",
            {"body": {"http://127\u30020\u30020\u30021/": 1}},
            "/parameters/body/http:~1~1127\u30020\u30020\u30021~1",
            "unsafe_url",
        ),
        (
            "trig_slack_1",
            {"text": "read <http://169.254.169.254/latest|this>"},
            "/parameters/text",
            "unsafe_url",
        ),
    ],
)
async def test_injection_and_inward_urls_are_400_naming_the_path(
    http: httpx.AsyncClient, as_user: Tokens, trigger: str, parameters: Any, path: str, code: str
) -> None:
    response = await http.post(
        invoke_url(trigger),
        headers=as_user("demo-user"),
        json={"parameters": parameters, "dry_run": True},
    )
    assert response.status_code == 400
    assert (path, code) in paths_and_codes(response)


async def test_no_answer_carries_a_usable_signature(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    # A body of the caller's choosing, signed with the trigger's secret: shown hidden.
    for trigger, parameters, header in (
        (
            "trig_webhook_1",
            {"headers": {"Content-Type": "text/plain"}, "body": "chosen by the caller"},
            "X-Signature-256",
        ),
        ("trig_github_1", {"event_type": "push"}, "X-Hub-Signature-256"),
        ("trig_slack_1", {"text": "hi"}, "X-Slack-Signature"),
    ):
        for dry_run in (True, False):
            response = await http.post(
                invoke_url(trigger),
                headers=as_user("demo-user"),
                json={"parameters": parameters, "dry_run": dry_run},
            )
            assert response.status_code in (200, 202), response.text
            shown = response.json()["trigger_data"]["resolved_parameters"]["headers"]
            assert shown[header] == HIDDEN


@pytest.fixture(scope="module")
async def strict(
    settings: Settings,
    broker: AbstractRobustConnection,
    redis: Redis,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Service, int]]:
    """A shim with short client deadlines and /metrics on a port of its own only."""
    metrics_port = free_port()
    log = tmp_path_factory.mktemp("strict") / "shim.log"
    async with running(
        "run",
        settings,
        broker,
        redis,
        log,
        http_header_timeout_seconds=2,
        http_body_timeout_seconds=2,
        metrics_port=metrics_port,
        metrics_on_api_port="false",
    ) as svc:
        yield svc, metrics_port


def _held_by_slow_headers(host: str, port: int) -> float:
    """Seconds a client sending one header line every half second keeps its connection."""
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(0.5)
        while time.monotonic() - started < 20:
            try:
                if sock.recv(1) == b"":
                    break  # the server closed it
            except TimeoutError:
                pass
            try:
                sock.sendall(b"X-Slow: y\r\n")
            except OSError:
                break
    return time.monotonic() - started


def _answer_to_an_unfinished_body(host: str, port: int, token: str) -> bytes:
    with socket.create_connection((host, port), timeout=20) as sock:
        sock.sendall(
            f"POST {invoke_url('trig_webhook_1')} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: {token}\r\nContent-Type: application/json\r\n"
            "Content-Length: 100\r\n\r\n{".encode()
        )
        return sock.recv(4096)


async def test_slow_clients_cannot_hold_a_connection(strict: tuple[Service, int]) -> None:
    service, _ = strict
    port = int(service.url.rsplit(":", 1)[1])
    held = await asyncio.to_thread(_held_by_slow_headers, "127.0.0.1", port)
    assert held < 6, f"a client trickling headers held its connection for {held:.1f}s"
    token = service.token("demo-user")["Authorization"]
    answer = await asyncio.to_thread(_answer_to_an_unfinished_body, "127.0.0.1", port, token)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    # An ordinary client on a kept-alive connection, idle between requests, is not cut off
    async with httpx.AsyncClient(base_url=service.url) as client:
        for _ in range(3):
            assert (await client.get("/healthz")).status_code == 200
            await asyncio.sleep(0.5)


async def test_metrics_can_be_served_on_their_own_port_only(strict: tuple[Service, int]) -> None:
    service, metrics_port = strict
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{service.url}/metrics")).status_code == 404
        own = await client.get(f"http://127.0.0.1:{metrics_port}/metrics")
    assert own.status_code == 200
    assert "manual_trigger_invocations_total" in own.text
