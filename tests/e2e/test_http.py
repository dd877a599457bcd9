"""End to end through the HTTP shim: curl's view of the whole system."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection
from redis.asyncio import Redis

from contracts.ids import execution_id_for_event
from contracts.topology import INVOKE_ROUTING_KEY
from tests.factories import invoke_request
from tests.helpers import Service, count_executions, eventually, publish_raw, serving
from worker import store
from worker.settings import Settings

pytestmark = pytest.mark.e2e

WEBHOOK = "/api/v1/workflows/wf_demo/triggers/trig_webhook_1/manual-invoke"
Tokens = Callable[[str], dict[str, str]]


async def recorded(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> Any:
    response = await http.get(url, headers=headers)
    return response.json() if response.status_code == 200 else None


def problem_paths(response: httpx.Response) -> list[str]:
    assert response.headers["content-type"] == "application/problem+json"
    return sorted({error["path"] for error in response.json()["errors"]})


async def test_webhook_invocation_becomes_a_recorded_execution(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    # When the README's curl example is sent
    response = await http.post(
        WEBHOOK,
        headers=as_user("demo-user"),
        json={
            "parameters": {"body": {"test": True}, "headers": {"X-Source": "manual-test"}},
            "description": "Testing deployment webhook",
        },
    )
    # Then it is accepted with the seed API's fields and a Location to poll
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "Workflow execution started successfully"
    assert body["execution_url"] == f"/api/v1/executions/{body['execution_id']}"
    assert response.headers["location"] == body["execution_url"]
    assert body["trigger_data"]["trigger_type"] == "WEBHOOK"
    resolved = body["trigger_data"]["resolved_parameters"]
    assert resolved["headers"]["X-Source"] == "manual-test"
    assert resolved["headers"]["X-Manual-Invocation"] == "true"
    assert resolved["body"] == {"test": True}
    # And it shows the request the webhook would have received
    preview = body["wire_preview"]
    assert preview["title"] == f"HTTP request from {resolved['source_ip']}"
    assert preview["text"].startswith(f"{resolved['method']} {resolved['webhook_url']}")
    assert "X-Source: manual-test" in preview["text"]
    # And the execution the scheduler recorded says it was manual
    execution = await eventually(
        lambda: recorded(http, body["execution_url"], as_user("demo-user"))
    )
    assert execution["metadata"]["trigger_type"] == "MANUAL_INVOCATION"
    assert execution["metadata"]["original_trigger_type"] == "WEBHOOK"
    assert execution["metadata"]["initiated_by"] == "demo-user"
    assert execution["trigger_type"] == "WEBHOOK"
    # And the invocation's status can be polled
    status = await http.get(
        f"/api/v1/invocations/{body['invocation_id']}", headers=as_user("demo-viewer")
    )
    assert status.status_code == 200
    assert status.json()["execution_id"] == body["execution_id"]
    assert "wire_preview" not in status.json()  # the HTTP answer's alone


async def test_dry_run_answers_200_and_records_nothing(
    http: httpx.AsyncClient, as_user: Tokens, pool: asyncpg.Pool
) -> None:
    before = await count_executions(pool, "wf_demo")
    response = await http.post(
        WEBHOOK,
        headers=as_user("demo-user"),
        json={"parameters": {"body": {"x": 1}}, "dry_run": True},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "dry_run"
    assert body["execution_id"] is None
    assert body["trigger_data"]["resolved_parameters"]["body"] == {"x": 1}
    await asyncio.sleep(0.5)
    assert await count_executions(pool, "wf_demo") == before
    assert await store.get_execution(pool, execution_id_for_event(body["event_id"])) is None


@pytest.mark.parametrize(
    ("payload", "paths"),
    [
        (
            {"parameters": {"method": "BREW", "headers": {"X-N": 1}}},
            ["/parameters/headers/X-N", "/parameters/method"],
        ),
        ({"parameters": {"unknown_field": 1}}, ["/parameters/unknown_field"]),
        ({"parameters": [1, 2]}, ["/parameters"]),
        ({"parameters": {}, "surprise": True}, ["/surprise"]),
    ],
)
async def test_invalid_input_is_400_with_json_pointer_paths(
    http: httpx.AsyncClient, as_user: Tokens, payload: dict[str, Any], paths: list[str]
) -> None:
    response = await http.post(WEBHOOK, headers=as_user("demo-user"), json=payload)
    assert response.status_code == 400, response.text
    assert problem_paths(response) == paths


async def test_a_body_that_is_not_json_is_400(http: httpx.AsyncClient, as_user: Tokens) -> None:
    response = await http.post(
        WEBHOOK,
        headers={**as_user("demo-user"), "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert response.status_code == 400
    assert response.json()["errors"]


@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        ({}, "Bearer"),
        ({"Authorization": "Bearer not-a-token"}, 'Bearer error="invalid_token"'),
        ({"Authorization": "Basic ZGVtbzpkZW1v"}, "Bearer"),
    ],
    ids=["none", "garbage", "basic"],
)
async def test_no_valid_token_is_401(
    http: httpx.AsyncClient, headers: dict[str, str], challenge: str
) -> None:
    # RFC 6750: a request without a bearer token is challenged with the bare scheme, a token
    # that is refused with `invalid_token`
    for response in (
        await http.post(WEBHOOK, headers=headers, json={}),
        await http.get("/api/v1/workflows/wf_demo/triggers", headers=headers),
    ):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == challenge
        assert response.json()["detail"] == "invalid token"


async def test_an_expired_token_is_401_and_says_it_expired(
    http: httpx.AsyncClient, service: Service
) -> None:
    expired = service.token("demo-user", ttl=-120)
    for response in (
        await http.post(WEBHOOK, headers=expired, json={}),
        await http.get("/api/v1/workflows/wf_demo/triggers", headers=expired),
    ):
        assert response.status_code == 401
        assert response.json()["detail"] == "token expired"
        assert response.headers["www-authenticate"] == (
            'Bearer error="invalid_token", error_description="The token expired"'
        )


async def test_viewer_may_read_but_not_invoke(http: httpx.AsyncClient, as_user: Tokens) -> None:
    response = await http.post(WEBHOOK, headers=as_user("demo-viewer"), json={})
    assert response.status_code == 403
    assert problem_paths(response) == ["/workflow_id"]
    listing = await http.get("/api/v1/workflows/wf_demo/triggers", headers=as_user("demo-viewer"))
    assert listing.status_code == 200


@pytest.mark.parametrize(
    ("path", "user"),
    [
        ("/api/v1/workflows/wf_demo/triggers/trig_nope/manual-invoke", "demo-user"),
        ("/api/v1/workflows/wf_nope/triggers/trig_webhook_1/manual-invoke", "demo-user"),
        (WEBHOOK, "stranger"),
        ("/api/v1/workflows/wf..bad/triggers/x/manual-invoke", "demo-user"),
    ],
    ids=["unknown-trigger", "unknown-workflow", "not-a-member", "malformed-id"],
)
async def test_unknown_or_hidden_targets_are_404(
    http: httpx.AsyncClient, as_user: Tokens, path: str, user: str
) -> None:
    response = await http.post(path, headers=as_user(user), json={})
    assert response.status_code == 404
    schema = await http.get(path + "/schema", headers=as_user(user))
    assert schema.status_code == 404


async def test_trigger_list_and_schema_redact_secrets(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    listing = await http.get("/api/v1/workflows/wf_demo/triggers", headers=as_user("demo-user"))
    triggers = {t["id"]: t for t in listing.json()["triggers"]}
    assert set(triggers) == {
        f"trig_{t}_1" for t in ("cron", "webhook", "email", "github", "slack", "manual")
    }
    assert triggers["trig_webhook_1"]["manual_invocation_supported"] is True
    assert triggers["trig_manual_1"]["name"] == "Manual run"
    assert all(t["name"] for t in triggers.values())
    schema = await http.get(WEBHOOK + "/schema", headers=as_user("demo-user"))
    assert schema.status_code == 200
    document = schema.json()
    assert document["trigger_type"] == "WEBHOOK"
    assert document["name"] == triggers["trig_webhook_1"]["name"]
    assert document["trigger_config"]["secret"] == "***REDACTED***"
    assert set(document["parameter_schema"]["properties"]) >= {"method", "headers", "body"}
    assert len(document["examples"]) >= 2
    for response in (listing, schema):
        assert "demo-webhook-signing-secret" not in response.text
        assert "demo-slack-signing-secret" not in response.text


async def test_manual_trigger_schema_is_the_declared_inputs(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    schema = await http.get(
        "/api/v1/workflows/wf_demo/triggers/trig_manual_1/manual-invoke/schema",
        headers=as_user("demo-viewer"),
    )
    document = schema.json()
    assert document["parameter_schema"]["required"] == ["environment"]
    assert document["default_parameters"] == {"environment": "staging", "notify": True}


async def test_executions_and_invocations_of_other_workflows_are_404(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    response = await http.post(WEBHOOK, headers=as_user("demo-user"), json={})
    body = response.json()
    await eventually(lambda: recorded(http, body["execution_url"], as_user("demo-user")))
    for url in (
        body["execution_url"],
        f"/api/v1/invocations/{body['invocation_id']}",
        "/api/v1/executions/exec_missing",
        f"/api/v1/invocations/{uuid.uuid4()}",
    ):
        assert (await http.get(url, headers=as_user("stranger"))).status_code == 404


async def test_a_redelivered_invoke_request_yields_one_execution(
    http: httpx.AsyncClient,
    as_user: Tokens,
    service: Service,
    broker: AbstractRobustConnection,
    pool: asyncpg.Pool,
) -> None:
    # Given the same invoke request delivered twice to the running system's queue
    request = invoke_request(parameters={"body": {"redelivered": True}})
    for _ in range(2):
        await publish_raw(
            broker,
            service.settings.topology.invoke_exchange,
            INVOKE_ROUTING_KEY,
            request.body(),
            content_type="application/json",
        )
    # Then the invocation is answered and exactly one execution exists
    status = await eventually(
        lambda: recorded(http, f"/api/v1/invocations/{request.invocation_id}", as_user("demo-user"))
    )
    assert status["status"] == "accepted"
    await eventually(lambda: recorded(http, status["execution_url"], as_user("demo-user")))
    await asyncio.sleep(0.5)
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM workflow_executions WHERE metadata->>'invocation_id' = $1",
            request.invocation_id,
        )
        == 1
    )


async def test_health_readiness_metrics_and_openapi(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    await http.post(WEBHOOK, headers=as_user("demo-user"), json={"dry_run": True})
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"broker": "ok", "database": "ok", "cache": "ok"}
    metrics = (await http.get("/metrics")).text
    for name in (
        "manual_trigger_invocations_total",
        "manual_trigger_invocation_duration_seconds",
        "manual_trigger_validation_errors_total",
        "manual_trigger_dry_runs_total",
    ):
        assert name in metrics
    assert 'manual_trigger_dry_runs_total{trigger_type="WEBHOOK"}' in metrics
    openapi = (await http.get("/openapi.json")).json()
    assert (
        WEBHOOK.replace("wf_demo", "{workflow_id}").replace("trig_webhook_1", "{trigger_id}")
        in openapi["paths"]
    )


async def test_no_worker_means_a_queued_answer_at_once_with_where_to_poll(
    settings: Settings,
    pool: asyncpg.Pool,
    broker: AbstractRobustConnection,
    redis: Redis,
    tmp_path: Any,
) -> None:
    # Given a shim with no worker behind it (its readiness checks see no consumer)
    async with serving(
        "shim", settings, broker, redis, tmp_path / "shim.log", timeout=60, reply_timeout_seconds=30
    ) as (shim, http):
        # When a request is sent, it is confirmed and answered as queued, without waiting for
        # a reply that cannot come, with the invocation to poll
        started = time.monotonic()
        response = await http.post(WEBHOOK, headers=shim.token("demo-user"), json={})
        assert time.monotonic() - started < 15, "the caller waited for the reply timeout"
        assert response.status_code == 202
        answer = response.json()
        assert answer["status"] == "queued" and answer["invocation_id"]
        assert response.headers["Location"] == f"/api/v1/invocations/{answer['invocation_id']}"
        status = await http.get(response.headers["Location"], headers=shim.token("demo-user"))
        assert status.status_code == 200
        assert status.json()["status"] == "queued"
    assert shim.process.returncode == 0


async def test_a_keyed_retry_while_the_first_try_waits_queues_no_second_copy(
    settings: Settings,
    broker: AbstractRobustConnection,
    redis: Redis,
    tmp_path: Any,
) -> None:
    async with serving(
        "shim", settings, broker, redis, tmp_path / "shim.log", reply_timeout_seconds=3
    ) as (shim, http):
        # Given a shim whose worker takes requests and answers none (slow, or stuck)
        channel = await broker.channel()
        await channel.set_qos(prefetch_count=100)
        queue = await channel.get_queue(shim.settings.topology.invoke_queue, ensure=False)
        held: list[Any] = []

        async def hold(message: Any) -> None:
            held.append(message)

        await queue.consume(hold)
        try:

            async def has_a_worker() -> bool:
                ready = (await http.get("/readyz")).json()
                return bool(ready.get("invoke_queue", {}).get("consumers"))

            await eventually(has_a_worker, timeout=10)
            headers = shim.token("demo-user") | {"Idempotency-Key": f"k-{uuid.uuid4()}"}
            # When a client sends one keyed request five times at once (impatient retries)
            tries = await asyncio.gather(
                *(
                    http.post(WEBHOOK, headers=headers, json={"parameters": {"body": {"n": 1}}})
                    for _ in range(5)
                )
            )
            # Then one copy is queued: one try waits and is told to poll, the others are
            # told at once that it is in progress, and when to retry
            codes = sorted(response.status_code for response in tries)
            assert codes == [409, 409, 409, 409, 504], [r.text for r in tries]
            for response in tries:
                if response.status_code == 409:
                    assert response.headers["Retry-After"] == "1"
                    assert problem_paths(response) == ["/idempotency_key"]
            # And a retry after the first try's answer is answered from it: queued, no copy
            again = await http.post(
                WEBHOOK, headers=headers, json={"parameters": {"body": {"n": 1}}}
            )
            assert again.status_code == 202 and again.json()["status"] == "queued"
            await asyncio.sleep(0.5)  # a second copy, had one been published, would be here
            assert len(held) == 1
        finally:
            await channel.close()  # what it held goes back, and with the shim's queues


DEMO_TRIGGERS = {
    "CRON": ("trig_cron_1", {}),
    "WEBHOOK": ("trig_webhook_1", {"body": {"deploy": 1}}),
    "EMAIL": ("trig_email_1", {"from": "Jane <jane@example.com>", "subject": "Help"}),
    "GITHUB": ("trig_github_1", {"event_type": "push"}),
    "SLACK": ("trig_slack_1", {"text": "hello"}),
    "MANUAL": ("trig_manual_1", {"version": "1.0.0"}),
}
DEMO_SECRETS = (
    "demo-webhook-signing-secret",
    "demo-github-webhook-secret",
    "demo-slack-signing-secret",
)


@pytest.mark.parametrize("trigger_type", sorted(DEMO_TRIGGERS))
async def test_every_demo_trigger_becomes_an_execution_of_its_type(
    http: httpx.AsyncClient, as_user: Tokens, trigger_type: str
) -> None:
    trigger_id, parameters = DEMO_TRIGGERS[trigger_type]
    url = f"/api/v1/workflows/wf_demo/triggers/{trigger_id}/manual-invoke"
    response = await http.post(url, headers=as_user("demo-user"), json={"parameters": parameters})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["trigger_data"]["trigger_type"] == trigger_type
    execution = await eventually(
        lambda: recorded(http, body["execution_url"], as_user("demo-user"))
    )
    assert execution["trigger_type"] == trigger_type
    assert execution["metadata"]["original_trigger_type"] == trigger_type
    assert execution["metadata"]["trigger_type"] == "MANUAL_INVOCATION"
    assert not any(secret in json.dumps(execution) for secret in DEMO_SECRETS)


@pytest.mark.parametrize("trigger_type", sorted(DEMO_TRIGGERS))
async def test_every_schema_has_examples_and_no_secrets(
    http: httpx.AsyncClient, as_user: Tokens, trigger_type: str
) -> None:
    trigger_id, _ = DEMO_TRIGGERS[trigger_type]
    response = await http.get(
        f"/api/v1/workflows/wf_demo/triggers/{trigger_id}/manual-invoke/schema",
        headers=as_user("demo-viewer"),
    )
    assert response.status_code == 200
    document = response.json()
    assert document["trigger_type"] == trigger_type
    assert document["parameter_schema"]["type"] == "object"
    assert len(document["examples"]) >= 2
    assert not any(secret in response.text for secret in DEMO_SECRETS)
    for key in ("secret", "signing_secret"):
        if key in document["trigger_config"]:
            assert document["trigger_config"][key] == "***REDACTED***"
