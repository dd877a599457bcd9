"""Reproducing a past execution through the HTTP shim: an event a real trigger published (or
a dead letter replayed) is listed and read with the parameters that reproduce it, and invoking
with them records an execution that says what the original said."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.ids import execution_id_for_event, execution_url
from contracts.models import TriggerEvent, TriggerType
from contracts.topology import dead_letter_exchange
from tests.factories import FIXED_TIME, REAL_PUSH, github_push
from tests.helpers import Service, contained, eventually, publish_raw, run_cli

pytestmark = pytest.mark.e2e
Tokens = Callable[[str], dict[str, str]]


async def read(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> Any:
    response = await http.get(url, headers=headers)
    return response.json() if response.status_code == 200 else None


async def listed(http: httpx.AsyncClient, execution_id: str, headers: dict[str, str]) -> Any:
    """The execution as the workflow's list shows it."""
    response = await http.get(
        "/api/v1/workflows/wf_demo/executions", params={"limit": 100}, headers=headers
    )
    assert response.status_code == 200
    return next(
        (e for e in response.json()["executions"] if e["execution_id"] == execution_id), None
    )


async def invoked_again(
    http: httpx.AsyncClient, trigger_id: str, parameters: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    """The execution recorded by invoking the trigger with these parameters."""
    response = await http.post(
        f"/api/v1/workflows/wf_demo/triggers/{trigger_id}/manual-invoke",
        headers=headers,
        json={"parameters": parameters, "description": "reproduce"},
    )
    assert response.status_code == 202, response.text
    found: dict[str, Any] = await eventually(
        lambda: read(http, response.json()["execution_url"], headers)
    )
    return found


async def test_a_real_github_delivery_is_listed_with_what_reproduces_it(
    http: httpx.AsyncClient, as_user: Tokens, service: Service, broker: AbstractRobustConnection
) -> None:
    # Given a push a real GitHub ingress published onto the trigger events exchange
    event = github_push(f"real-{uuid.uuid4()}")
    exchange = service.settings.topology.trigger_exchange
    await publish_raw(broker, exchange, event.routing_key(), event.body())
    execution_id = execution_id_for_event(event.event_id)
    me = as_user("demo-user")
    # When its execution is read and listed
    record = await eventually(lambda: read(http, execution_url(execution_id), me))
    summary = await listed(http, execution_id, me)
    # Then both carry the parameters that reproduce it, and say it was no manual run
    parameters = record["parameters"]
    assert summary["parameters"] == parameters and summary["manual"] is False
    assert (parameters["event_type"], parameters["ref"], parameters["sender"]) == (
        "push",
        "refs/heads/main",
        "mona",
    )
    # And invoking with them records a delivery that says what the original said
    again = await invoked_again(http, "trig_github_1", parameters, me)
    assert again["trigger_data"]["event_type"] == "push"
    said = {k: v for k, v in REAL_PUSH.items() if k not in ("repository", "installation")}
    assert contained(said, again["trigger_data"]["payload"])
    assert again["trigger_data"]["payload"]["repository"]["private"] is True
    assert again["parameters"] == parameters  # a manual run's own, as sent


async def test_a_replayed_dead_letter_is_listed_with_what_reproduces_the_original(
    http: httpx.AsyncClient,
    as_user: Tokens,
    service: Service,
    broker: AbstractRobustConnection,
    pool: asyncpg.Pool,
) -> None:
    # Given a real webhook event the scheduler gave up on, replayed by an operator
    raw = '{"order": 7,  "note": "spaced as sent"}'
    event = TriggerEvent(
        event_id=f"dead-{uuid.uuid4()}",
        workflow_id="wf_demo",
        trigger_id="trig_webhook_1",
        trigger_type=TriggerType.WEBHOOK,
        occurred_at=FIXED_TIME,
        trigger_data={
            "method": "POST",
            "headers": {"Content-Type": "application/json", "X-Request-Id": "r-7"},
            "body": json.loads(raw),
            "raw_body": raw,
            "query_params": {"retry": "1"},
            "source_ip": "198.51.100.8",
            "webhook_url": "/webhook/abc123",
        },
    )
    scheduler_queue = service.settings.topology.scheduler_queue
    await publish_raw(
        broker, dead_letter_exchange(scheduler_queue), event.routing_key(), event.body()
    )
    code, _, err = await run_cli(
        service.settings,
        "replay",
        "--match",
        f"event_id={event.event_id}",
        "--user",
        "demo-user",
        "--yes",
    )
    assert code == 0, err
    replayed = await eventually(
        lambda: pool.fetchval(
            "SELECT execution_id FROM workflow_executions WHERE metadata->>'replay_of' = $1",
            event.event_id,
        )
    )
    me = as_user("demo-user")
    record = await eventually(lambda: read(http, execution_url(replayed), me))
    summary = await listed(http, replayed, me)
    # Then its parameters are those of the event it replayed, not the replay's own edits
    assert summary["manual"] is True and summary["parameters"] == record["parameters"]
    parameters = record["parameters"]
    assert (parameters["body"], parameters["query_params"]) == (raw, {"retry": "1"})
    # And invoking with them sends that request again, byte for byte
    again = await invoked_again(http, "trig_webhook_1", parameters, me)
    for name in ("method", "raw_body", "query_params", "source_ip", "webhook_url"):
        assert again["trigger_data"][name] == event.trigger_data[name]
    assert again["trigger_data"]["headers"]["X-Request-Id"] == "r-7"
