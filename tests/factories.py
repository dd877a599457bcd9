"""Small builders for the messages and rows tests need."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any

from contracts.ids import idempotent_invocation_id
from contracts.models import InvocationSource, InvokeRequest, TriggerEvent, TriggerType
from contracts.specs import Trigger
from worker.catalog import demo_catalog

FIXED_TIME = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def trigger_event(**overrides: Any) -> TriggerEvent:
    """A webhook event of the demo workflow, with nothing in it."""
    fields: dict[str, Any] = {
        "event_id": f"evt-{uuid.uuid4()}",
        "workflow_id": "wf_demo",
        "trigger_id": "trig_webhook_1",
        "trigger_type": TriggerType.WEBHOOK,
        "occurred_at": FIXED_TIME,
        "trigger_data": {},
    }
    fields.update(overrides)
    return TriggerEvent(**fields)


def invoke_request(**overrides: Any) -> InvokeRequest:
    fields: dict[str, Any] = {
        "invocation_id": str(uuid.uuid4()),
        "workflow_id": "wf_demo",
        "trigger_id": "trig_webhook_1",
        "user_id": "demo-user",
        "parameters": {},
        "requested_at": FIXED_TIME,
        "source": InvocationSource.CLI,
    }
    fields.update(overrides)
    return InvokeRequest(**fields)


def keyed_request(key: str, **overrides: Any) -> InvokeRequest:
    """A request with an Idempotency-Key and the invocation id the shim and the CLI give it."""
    request = invoke_request(idempotency_key=key, **overrides)
    return request.model_copy(
        update={
            "invocation_id": idempotent_invocation_id(request.user_id, key, request.fingerprint())
        }
    )


def trigger(
    trigger_type: TriggerType = TriggerType.WEBHOOK,
    config: dict[str, Any] | None = None,
    trigger_id: str = "trig_webhook_1",
    **overrides: Any,
) -> Trigger:
    fields: dict[str, Any] = {
        "workflow_id": "wf_demo",
        "id": trigger_id,
        "type": trigger_type,
        "config": config if config is not None else {},
        "enabled": True,
        "manual_invocation": True,
    }
    fields.update(overrides)
    return Trigger(**fields)


@cache
def _demo_triggers() -> dict[TriggerType, Any]:
    (workflow,) = demo_catalog().workflows
    return {t.type: t for t in workflow.triggers}


def demo_trigger(trigger_type: TriggerType, **config: Any) -> Trigger:
    """The demo workflow's trigger of this type, its config updated with `config`
    (a key given as None is removed)."""
    definition = _demo_triggers()[trigger_type]
    merged = {k: v for k, v in {**definition.config, **config}.items() if v is not None}
    return trigger(trigger_type, merged, definition.id)


def demo_request(trigger_type: TriggerType, **overrides: Any) -> InvokeRequest:
    return invoke_request(trigger_id=_demo_triggers()[trigger_type].id, **overrides)


# A push delivery's payload as GitHub sends it, with a field our builder does not make.
REAL_PUSH = {
    "ref": "refs/heads/main",
    "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
    "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
    "forced": True,
    "commits": [
        {
            "id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
            "message": "Fix the login page",
            "author": {"name": "Mona", "email": "mona@example.com", "username": "mona"},
            "modified": ["app/login.py"],
            "reviewed_by": "an extra field GitHub may add",
        }
    ],
    "repository": {"id": 1296269, "full_name": "myorg/myrepo", "private": True},
    "installation": {"id": 4242},
    "sender": {"login": "mona", "id": 2, "type": "User"},
}


def github_push(event_id: str) -> TriggerEvent:
    """A push delivery as a real GitHub ingress publishes it (signed by the real GitHub)."""
    return TriggerEvent(
        event_id=event_id,
        workflow_id="wf_demo",
        trigger_id="trig_github_1",
        trigger_type=TriggerType.GITHUB,
        occurred_at=FIXED_TIME,
        trigger_data={
            "event_type": "push",
            "delivery_id": str(uuid.uuid4()),
            "headers": {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=real"},
            "payload": REAL_PUSH,
            "raw_body": json.dumps(REAL_PUSH),
        },
        input_data=REAL_PUSH,
        metadata={"ingress": "github-gateway"},
    )
