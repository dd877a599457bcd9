"""The design document's shapes: each type's execution context, input and metadata carry the
document's keys where it puts them (§3.2, §4, §5.2, §8.2); extra keys are welcome."""

from __future__ import annotations

import re

import pytest

from contracts.models import TriggerType
from tests.design_examples import (
    CONTEXT_KEYS,
    INPUT_KEYS,
    MANUAL_METADATA,
    NOT_HTTP,
    TYPE_METADATA,
    has,
    urls,
)
from tests.factories import demo_request, demo_trigger
from worker.resolvers import prepare_invocation


@pytest.mark.parametrize("trigger_type", list(TriggerType))
def test_every_type_carries_the_documents_keys_where_it_puts_them(
    trigger_type: TriggerType,
) -> None:
    request = demo_request(trigger_type, description="Testing", dry_run=True)
    event = prepare_invocation(request, demo_trigger(trigger_type)).event
    assert [k for k in CONTEXT_KEYS[trigger_type] if not has(event.trigger_data, k)] == []
    assert [k for k in INPUT_KEYS.get(trigger_type, []) if not has(event.input_data, k)] == []
    expected = TYPE_METADATA[trigger_type] + MANUAL_METADATA
    assert [k for k in expected if k not in event.metadata] == []
    assert event.metadata["trigger_type"] == "MANUAL_INVOCATION"
    assert event.metadata["invoked_by"] == event.metadata["initiated_by"] == request.user_id


@pytest.mark.parametrize(
    "event", ["push", "pull_request", "issues", "release", "workflow_dispatch", "ping", "star"]
)
@pytest.mark.parametrize("webhook_url", [None, "/webhook/abc123", "https://hooks.acme.test/gh"])
def test_every_github_url_field_is_absolute(event: str, webhook_url: str | None) -> None:
    trigger = demo_trigger(TriggerType.GITHUB, event_types=["*"], webhook_url=webhook_url)
    payload = prepare_invocation(
        demo_request(TriggerType.GITHUB, parameters={"event_type": event}), trigger
    ).event.trigger_data["payload"]
    for path, value in urls(payload):
        name = path.rsplit("/", 1)[1]
        if name in NOT_HTTP:
            assert re.match(NOT_HTTP[name], value or ""), (path, value)
        else:
            assert isinstance(value, str) and value.startswith("https://"), (path, value)
