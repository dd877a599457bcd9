"""The design document's shapes: each type's execution context, input and metadata carry the
document's keys where it puts them (§3.2, §4, §5.2, §8.2); extra keys are welcome."""

from __future__ import annotations

import re
from typing import Any

import pytest

from contracts.models import TriggerType
from tests.factories import demo_request, demo_trigger
from worker.resolvers import prepare_invocation

# trigger_data keys per type, as §3.2.1-§3.2.5 build the execution context
CONTEXT_KEYS: dict[TriggerType, list[str]] = {
    TriggerType.CRON: [
        "trigger_time", "scheduled_time", "execution_type", "cron_expression", "timezone",
    ],
    TriggerType.WEBHOOK: [
        "method", "headers", "body", "query_params", "source_ip", "webhook_url", "trigger_time",
    ],
    TriggerType.EMAIL: [
        "from", "to", "subject", "body", "body_html", "attachments", "received_at",
        "message_id", "headers",
    ],
    TriggerType.GITHUB: [
        "event_type", "delivery_id", "webhook_id", "repository/full_name", "repository/private",
        "sender/login", "sender/type", "payload", "received_at", "headers",
    ],
    TriggerType.SLACK: [
        "event/type", "event/channel", "event/user", "event/text", "event/ts",
        "event/thread_ts", "event/bot_id", "team_id", "api_app_id", "event_id", "event_time",
        "type", "token", "headers",
    ],
    TriggerType.MANUAL: [],
}  # fmt: skip
INPUT_KEYS: dict[TriggerType, list[str]] = {
    TriggerType.EMAIL: ["email_content", "email_subject", "sender"],
    TriggerType.SLACK: ["message", "channel", "user"],
}
TYPE_METADATA: dict[TriggerType, list[str]] = {
    TriggerType.CRON: ["invoked_at", "original_schedule"],
    TriggerType.WEBHOOK: ["simulated_request", "original_webhook_config"],
    TriggerType.EMAIL: ["filter_matched", "trigger_config"],
    TriggerType.GITHUB: ["github_event", "installation_id"],
    TriggerType.SLACK: ["slack_event", "workspace_id"],
    TriggerType.MANUAL: [],
}
# §3.3, §5.2 and §8.2: what every manual invocation's metadata says
MANUAL_METADATA = [
    "manual_invocation", "trigger_type", "original_trigger_type", "initiated_by", "invoked_by",
    "invocation_id", "invocation_description", "simulated_parameters",
    "manual_invocation_timestamp",
]  # fmt: skip


def has(document: Any, path: str) -> bool:
    for key in path.split("/"):
        if not isinstance(document, dict) or key not in document:
            return False
        document = document[key]
    return True


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


def urls(document: Any, path: str = "") -> list[tuple[str, Any]]:
    found = []
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "url" or key.endswith("_url"):
                found.append((f"{path}/{key}", value))
            found += urls(value, f"{path}/{key}")
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += urls(value, f"{path}/{index}")
    return found


# GitHub's own spellings that are not http(s) URLs: clone addresses, and null when not a mirror
NOT_HTTP = {"git_url": r"^git://", "ssh_url": r"^git@github\.com:", "mirror_url": r"^$"}


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
