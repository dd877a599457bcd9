"""`manual-trigger invoke --from-execution`: a recorded execution (here one a real trigger
published) invoked again, as recorded or with some parameters changed."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.ids import execution_id_for_event
from contracts.models import InvokeResult, InvokeStatus, TriggerEvent, TriggerType
from contracts.redaction import HIDDEN
from tests.factories import FIXED_TIME
from tests.helpers import RunningSystem, eventually, publish_raw, run_cli
from worker import store
from worker.settings import Settings

pytestmark = pytest.mark.integration

RAW = '{\n  "order": 42,\n  "items": ["a", "b"]\n}'


async def real_webhook_execution(
    settings: Settings, pool: asyncpg.Pool, broker: AbstractRobustConnection
) -> store.Execution:
    """An event a real webhook ingress published, as the scheduler recorded it."""
    event = TriggerEvent(
        event_id=f"real-{uuid.uuid4()}",
        workflow_id="wf_demo",
        trigger_id="trig_webhook_1",
        trigger_type=TriggerType.WEBHOOK,
        occurred_at=FIXED_TIME,
        trigger_data={
            "method": "PATCH",
            "headers": {
                "Content-Type": "application/json",
                "X-Request-Id": "req-1",
                "X-Signature-256": "sha256=from-the-real-sender",
            },
            "body": json.loads(RAW),
            "raw_body": RAW,
            "query_params": {"env": "staging"},
            "source_ip": "198.51.100.7",
            "webhook_url": "/webhook/abc123",
        },
        input_data=json.loads(RAW),
        metadata={"ingress": "webhook-gateway"},
    )
    exchange = settings.topology.trigger_exchange
    await publish_raw(broker, exchange, event.routing_key(), event.body())
    execution_id = execution_id_for_event(event.event_id)
    found = await eventually(lambda: store.get_execution(pool, execution_id))
    assert found.trigger_data["headers"]["X-Signature-256"] == HIDDEN  # recorded redacted
    return found


async def invoke(settings: Settings, *args: str) -> tuple[int, str, str]:
    return await run_cli(settings, "invoke", *args, MTI_USER="demo-user")


def said(data: dict[str, Any]) -> dict[str, Any]:
    """What a webhook request says: all but how it travelled and who signed it."""
    return {
        "request": [data[k] for k in ("method", "webhook_url", "query_params", "source_ip")],
        "body": (data["body"], data["raw_body"]),
        "headers": {
            k: v for k, v in data["headers"].items() if k in ("Content-Type", "X-Request-Id")
        },
    }


async def test_a_real_event_is_invoked_again_from_its_execution(
    settings: Settings,
    system: RunningSystem,
    pool: asyncpg.Pool,
    broker: AbstractRobustConnection,
) -> None:
    # Given an execution of an event a real webhook ingress published
    original = await real_webhook_execution(settings, pool, broker)
    # When it is invoked again from its execution id alone
    code, out, err = await invoke(settings, "--from-execution", original.execution_id, "--json")
    # Then the trigger it ran gets the same request again, as a manual invocation
    assert code == 0, err
    result = InvokeResult.parse(out)
    assert (result.status, result.workflow_id, result.trigger_id) == (
        InvokeStatus.ACCEPTED,
        "wf_demo",
        "trig_webhook_1",
    )
    again = await eventually(lambda: store.get_execution(pool, str(result.execution_id)))
    assert again.metadata["manual_invocation"] is True
    assert said(again.trigger_data) == said(original.trigger_data)
    assert again.trigger_data["raw_body"] == RAW  # byte for byte


async def test_given_parameters_override_the_execution_s_key_by_key(
    settings: Settings,
    system: RunningSystem,
    pool: asyncpg.Pool,
    broker: AbstractRobustConnection,
) -> None:
    original = await real_webhook_execution(settings, pool, broker)
    code, out, err = await invoke(
        settings,
        "wf_demo",
        "trig_webhook_1",  # its own: allowed
        "--from-execution",
        original.execution_id,
        "--param",
        "method=PUT",
        "--param",
        "body.order=43",  # the whole `body`, as a top-level key
        "--dry-run",
        "--json",
    )
    assert code == 0, err
    result = InvokeResult.parse(out)
    assert result.trigger_data is not None
    resolved = result.trigger_data.resolved_parameters
    assert (resolved["method"], resolved["body"]) == ("PUT", {"order": 43})
    assert (resolved["query_params"], resolved["source_ip"]) == ({"env": "staging"}, "198.51.100.7")


async def test_another_trigger_or_an_unknown_execution_is_refused_clearly(
    settings: Settings,
    system: RunningSystem,
    pool: asyncpg.Pool,
    broker: AbstractRobustConnection,
) -> None:
    original = await real_webhook_execution(settings, pool, broker)
    code, _, err = await invoke(
        settings, "wf_demo", "trig_email_1", "--from-execution", original.execution_id
    )
    assert code == 2
    assert (
        f"execution {original.execution_id} ran trigger trig_webhook_1 of workflow wf_demo" in err
    )
    unknown = "exec_" + "0" * 32
    code, _, err = await invoke(settings, "--from-execution", unknown, "--dry-run")
    assert (code, err.strip()) == (4, f"no execution {unknown}")
    code, _, err = await invoke(settings, "--dry-run")
    assert code == 2 and "WORKFLOW TRIGGER, or --from-execution" in err


async def test_a_manual_execution_is_invoked_again_with_its_own_parameters(
    settings: Settings, system: RunningSystem, pool: asyncpg.Pool
) -> None:
    code, out, err = await invoke(
        settings, "wf_demo", "trig_manual_1", "--param", "version=1.2.3", "--json"
    )
    assert code == 0, err
    first = InvokeResult.parse(out)
    await eventually(lambda: store.get_execution(pool, str(first.execution_id)))
    code, out, err = await invoke(
        settings, "--from-execution", str(first.execution_id), "--dry-run", "--json"
    )
    assert code == 0, err
    result = InvokeResult.parse(out)
    assert result.trigger_data is not None
    assert result.trigger_data.resolved_parameters["inputs"] == {
        "environment": "staging",
        "version": "1.2.3",
        "notify": True,
    }
