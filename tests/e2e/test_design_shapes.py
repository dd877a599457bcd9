"""The design document's shapes on the real services: what the scheduler records for each
trigger type and event carries the document's keys where it puts them (§3.2, §4, §5.2), every
override the document names is accepted and lands in the execution, and every URL of a GitHub
delivery is absolute."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from contracts.models import TriggerType
from tests.design_examples import (
    CONTEXT_KEYS,
    HEADER_KEYS,
    INPUT_KEYS,
    MANUAL_METADATA,
    NOT_HTTP,
    TYPE_METADATA,
    has,
    urls,
)
from tests.helpers import eventually

pytestmark = pytest.mark.e2e
Tokens = Callable[[str], dict[str, str]]

TRIGGERS = {
    "trig_cron_1": TriggerType.CRON,
    "trig_webhook_1": TriggerType.WEBHOOK,
    "trig_email_1": TriggerType.EMAIL,
    "trig_github_1": TriggerType.GITHUB,
    "trig_slack_1": TriggerType.SLACK,
    "trig_manual_1": TriggerType.MANUAL,
}
GITHUB_EVENTS = ["push", "pull_request", "issues", "release", "workflow_dispatch", "ping"]
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("trig_cron_1", {}),
    ("trig_webhook_1", {}),
    ("trig_email_1", {}),
    *[("trig_github_1", {"event_type": event}) for event in GITHUB_EVENTS],
    *[("trig_slack_1", {"event_type": e}) for e in ["message", "app_mention", "reaction_added"]],
    ("trig_manual_1", {}),
]


async def execution(
    http: httpx.AsyncClient, as_user: Tokens, trigger: str, parameters: dict[str, Any]
) -> dict[str, Any]:
    """Invoke a demo trigger for real; the execution the scheduler records, as the API shows it."""
    response = await http.post(
        f"/api/v1/workflows/wf_demo/triggers/{trigger}/manual-invoke",
        headers=as_user("demo-user"),
        json={"parameters": parameters, "description": "shape check"},
    )
    assert response.status_code == 202, response.text
    url = response.json()["execution_url"]

    async def recorded() -> httpx.Response | None:
        found = await http.get(url, headers=as_user("demo-user"))
        return found if found.status_code == 200 else None

    shown: dict[str, Any] = (await eventually(recorded)).json()
    return shown


def keys_for(trigger_type: TriggerType, parameters: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(context keys, input keys) the document gives this event. Its Slack keys are those of a
    message; a reaction has no text, thread, bot or ts of its own (Slack sends its event_ts)
    and names its item instead."""
    context = CONTEXT_KEYS[trigger_type] + [
        f"headers/{h}" for h in HEADER_KEYS.get(trigger_type, [])
    ]
    inputs = INPUT_KEYS.get(trigger_type, [])
    if parameters.get("event_type") == "reaction_added":
        message_only = {
            "event/channel",
            "event/text",
            "event/thread_ts",
            "event/bot_id",
            "event/ts",
        }
        context = [k for k in context if k not in message_only]
        context += ["event/event_ts", "event/item/channel", "event/item/ts", "event/reaction"]
        inputs = ["reaction", "channel", "user"]
    return context, inputs


@pytest.mark.parametrize(
    ("trigger", "parameters"),
    VARIANTS,
    ids=[f"{t}-{p.get('event_type', 'default')}" for t, p in VARIANTS],
)
async def test_each_recorded_execution_carries_the_documents_keys(
    http: httpx.AsyncClient, as_user: Tokens, trigger: str, parameters: dict[str, Any]
) -> None:
    trigger_type = TRIGGERS[trigger]
    shown = await execution(http, as_user, trigger, parameters)
    context_keys, input_keys = keys_for(trigger_type, parameters)
    assert [k for k in context_keys if not has(shown["trigger_data"], k)] == []
    assert [k for k in input_keys if not has(shown["input_data"], k)] == []
    metadata = shown["metadata"]
    assert [k for k in TYPE_METADATA[trigger_type] + MANUAL_METADATA if k not in metadata] == []
    assert metadata["trigger_type"] == "MANUAL_INVOCATION"
    assert metadata["invoked_by"] == metadata["initiated_by"] == "demo-user"
    if trigger_type is TriggerType.SLACK:  # the envelope's token: there, and hidden
        assert shown["trigger_data"]["token"] == "***REDACTED***"


# Every override the document lists per type (§3.2), with where the execution shows it
OVERRIDES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "trig_cron_1",
        {
            "cron_expression": "*/15 * * * *",
            "timezone": "America/New_York",
            "trigger_time": "2026-11-20T10:07:00",
            "scheduled_time": "2026-11-20T10:00:00",
            "execution_type": "manual_test",
        },
        {
            "cron_expression": "*/15 * * * *",
            "timezone": "America/New_York",
            "trigger_time": "2026-11-20T10:07:00-05:00",
            "scheduled_time": "2026-11-20T10:00:00-05:00",
            "execution_type": "manual_test",
        },
    ),
    (
        "trig_webhook_1",
        {
            "method": "PUT",
            "headers": {"X-Source": "manual-test"},
            "body": {"ok": True},
            "query_params": {"page": "2"},
            "source_ip": "203.0.113.9",
        },
        {
            "method": "PUT",
            "headers/X-Source": "manual-test",
            "body": {"ok": True},
            "query_params": {"page": "2"},
            "source_ip": "203.0.113.9",
        },
    ),
    (
        "trig_email_1",
        {
            "from": "ops@example.com",
            "subject": "Disk almost full",
            "body": "Please look",
            "body_html": "<p>Please look</p>",
            "attachments": ["report.pdf"],
        },
        {
            "from": "ops@example.com",
            "subject": "Disk almost full",
            "body": "Please look",
            "body_html": "<p>Please look</p>",
            "attachments": [{"name": "report.pdf", "content_type": "application/pdf", "size": 0}],
        },
    ),
    (
        "trig_github_1",
        {"event_type": "issues", "repository": "myorg/myrepo", "sender": "hubot"},
        {"event_type": "issues", "repository/full_name": "myorg/myrepo", "sender/login": "hubot"},
    ),
    (
        "trig_slack_1",
        {
            "event_type": "message",
            "channel": "C0DEMO001",
            "user": "U0PERSON1",
            "text": "Deploy done",
            "thread_ts": "1764000000.000100",
            "bot_id": "B0DEPLOY1",
        },
        {
            "event/type": "message",
            "event/channel": "C0DEMO001",
            "event/user": "U0PERSON1",
            "event/text": "Deploy done",
            "event/thread_ts": "1764000000.000100",
            "event/bot_id": "B0DEPLOY1",
        },
    ),
    (
        "trig_slack_1",
        {"event_type": "message", "thread_ts": None, "bot_id": None},  # the document's defaults
        {"event/thread_ts": None, "event/bot_id": None},
    ),
]


def at(document: Any, path: str) -> Any:
    for key in path.split("/"):
        document = document[key]
    return document


@pytest.mark.parametrize(
    ("trigger", "parameters", "expected"),
    OVERRIDES,
    ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(OVERRIDES)],
)
async def test_the_documents_overrides_are_accepted_and_land_in_the_execution(
    http: httpx.AsyncClient,
    as_user: Tokens,
    trigger: str,
    parameters: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    context = (await execution(http, as_user, trigger, parameters))["trigger_data"]
    assert {path: at(context, path) for path in expected} == expected


@pytest.mark.parametrize("event", GITHUB_EVENTS)
async def test_every_url_of_a_recorded_github_delivery_is_absolute(
    http: httpx.AsyncClient, as_user: Tokens, event: str
) -> None:
    # The demo trigger names no webhook_url: a ping's hook.config.url is still absolute
    payload = (await execution(http, as_user, "trig_github_1", {"event_type": event}))[
        "trigger_data"
    ]["payload"]
    found = urls(payload)
    assert found
    for path, value in found:
        name = path.rsplit("/", 1)[1]
        if name in NOT_HTTP:
            assert re.match(NOT_HTTP[name], value or ""), (path, value)
        else:
            assert isinstance(value, str) and value.startswith("https://"), (path, value)
