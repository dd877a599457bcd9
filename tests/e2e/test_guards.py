"""Safe to expose, through the shim: limits, quotas, idempotency, tokens, content safety."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import pytest
from redis.asyncio import Redis

from contracts.models import MAX_BODY_BYTES
from tests.helpers import Service, eventually
from worker.safety import MAX_VALUES

pytestmark = pytest.mark.e2e

WEBHOOK = "/api/v1/workflows/wf_demo/triggers/trig_webhook_1/manual-invoke"
LIMITED = "/api/v1/workflows/wf_limited/triggers/trig_manual_1/manual-invoke"
Tokens = Callable[[str], dict[str, str]]


def nested_lists(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


def paths_and_codes(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.headers["content-type"] == "application/problem+json"
    return sorted((e["path"], e["code"]) for e in response.json()["errors"])


async def test_a_body_over_one_mebibyte_is_413_before_it_is_parsed(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    big = b'{"parameters": {"body": "' + b"x" * MAX_BODY_BYTES + b'"}}'
    declared = await http.post(
        WEBHOOK, headers={**as_user("demo-user"), "Content-Type": "application/json"}, content=big
    )
    assert declared.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    streamed = await http.post(
        WEBHOOK,
        headers={**as_user("demo-user"), "Content-Type": "application/json"},
        content=chunks(),
    )
    assert streamed.status_code == 413
    assert streamed.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"body": {"a": nested_lists(40)}}, [("/parameters/body/a" + "/0" * 30, "too_deep")]),
        ({"body": list(range(MAX_VALUES + 1))}, [("", "too_many_values")]),
        (
            {"body": {"text": "x" * (256 * 1024 + 1)}},
            [("/parameters/body/text", "string_too_long")],
        ),
        (
            {"headers": {"X-Evil": "a\r\nSet-Cookie: s=1"}},
            [("/parameters/headers/X-Evil", "line_break")],
        ),
        ({"headers": {"Bad Name": "x"}}, [("/parameters/headers/Bad Name", "invalid_name")]),
        (
            {"body": {"callback": "http://169.254.169.254/latest/meta-data/"}},
            [("/parameters/body/callback", "unsafe_url")],
        ),
        (
            {"body": {"next": "http://[::ffff:7f00:1]/admin", "feed": "gopher://x.example/"}},
            [("/parameters/body/feed", "unsafe_url"), ("/parameters/body/next", "unsafe_url")],
        ),
    ],
    ids=[
        "too-deep",
        "too-many-values",
        "long-string",
        "header-injection",
        "header-name",
        "metadata-url",
        "mapped-loopback-and-gopher",
    ],
)
async def test_unsafe_or_oversized_input_is_400_naming_the_path(
    http: httpx.AsyncClient,
    as_user: Tokens,
    parameters: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    response = await http.post(
        WEBHOOK, headers=as_user("demo-user"), json={"parameters": parameters}
    )
    assert response.status_code == 400, response.text
    assert paths_and_codes(response) == expected


async def test_absurd_nesting_is_a_400_not_a_crash(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    body = b'{"parameters": {"body": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    response = await http.post(
        WEBHOOK, headers={**as_user("demo-user"), "Content-Type": "application/json"}, content=body
    )
    assert response.status_code == 400


@pytest.fixture
async def empty_buckets(redis: Redis, service: Service) -> None:
    async for key in redis.scan_iter(match=service.settings.topology.redis_key("ratelimit", "*")):
        await redis.delete(key)


async def test_over_the_limit_is_429_with_retry_after_and_the_limit(
    http: httpx.AsyncClient, as_user: Tokens, empty_buckets: None
) -> None:
    # wf_limited allows 3 invocations a minute per user; dry runs count too
    codes = [
        (
            await http.post(LIMITED, headers=as_user("limit-user"), json={"dry_run": True})
        ).status_code
        for _ in range(3)
    ]
    refused = await http.post(LIMITED, headers=as_user("limit-user"), json={})
    assert codes == [200, 200, 200]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 20
    problem = refused.json()
    assert problem["rate_limit"] == {
        "scope": "user",
        "limit": 3,
        "period_seconds": 60,
        "retry_after_seconds": int(refused.headers["retry-after"]),
    }
    assert problem["errors"][0]["code"] == "rate_limited"
    metrics = (await http.get("/metrics")).text
    assert 'status="rate_limited"' in metrics and 'reason="rate_limited"' in metrics


async def test_idempotency_key_replays_the_first_answer_and_conflicts_on_change(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    key = {"Idempotency-Key": f"deploy-{uuid.uuid4()}"}
    body = {"parameters": {"body": {"release": "1.2.3"}}}
    first = await http.post(WEBHOOK, headers={**as_user("demo-user"), **key}, json=body)
    again = await http.post(WEBHOOK, headers={**as_user("demo-user"), **key}, json=body)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    changed = await http.post(
        WEBHOOK,
        headers={**as_user("demo-user"), **key},
        json={"parameters": {"body": {"release": "9.9.9"}}},
    )
    assert changed.status_code == 409
    assert paths_and_codes(changed) == [("/idempotency_key", "idempotency_key_reused")]
    # The same key from someone else is their own request
    other = await http.post(
        "/api/v1/workflows/wf_other/triggers/trig_webhook_1/manual-invoke",
        headers={**as_user("other-owner"), **key},
        json=body,
    )
    assert other.status_code == 202
    assert other.json()["invocation_id"] != first.json()["invocation_id"]


def test_alg_none_and_public_key_confusion_are_401(service: Service) -> None:
    now = int(time.time())
    unsigned = jwt.encode({"sub": "demo-user", "exp": now + 60}, None, "none")
    for token in (unsigned, unsigned + "x", "a.b.c"):
        response = httpx.get(
            f"{service.url}/api/v1/workflows/wf_demo/triggers",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 401
        assert response.json()["detail"] == "invalid token"


async def test_denials_and_validation_errors_are_counted_by_reason(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    await http.post(WEBHOOK, headers=as_user("demo-viewer"), json={})
    await http.post(WEBHOOK, headers=as_user("demo-user"), json={"parameters": {"method": "X"}})

    async def counted() -> bool:
        text = (await http.get("/metrics")).text
        return (
            'reason="insufficient_role"' in text
            and 'status="forbidden"' in text
            and 'manual_trigger_validation_errors_total{error_type="enum"' in text
        )

    await eventually(counted)


async def test_reads_of_other_workflows_are_404_not_403(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    # demo-viewer is a viewer of wf_other; stranger is nothing anywhere
    for user, expected in (("demo-viewer", 200), ("stranger", 404), ("limit-user", 404)):
        response = await http.get("/api/v1/workflows/wf_other/triggers", headers=as_user(user))
        assert response.status_code == expected
    await asyncio.sleep(0)
