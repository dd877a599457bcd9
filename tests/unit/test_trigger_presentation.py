"""How a trigger and its resolved event are shown: names from the config, the wire preview."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.models import TriggerType
from contracts.specs import Trigger
from contracts.triggers import describe_trigger, display_name, wire_preview


def trigger(kind: TriggerType, config: dict[str, Any]) -> Trigger:
    return Trigger("wf", "t", kind, config, enabled=True, manual_invocation=True)


@pytest.mark.parametrize(
    ("kind", "config", "name"),
    [
        (
            TriggerType.CRON,
            {"schedule": "0 9 * * 1-5", "timezone": "UTC"},
            "Schedule 0 9 * * 1-5 (UTC)",
        ),
        (TriggerType.WEBHOOK, {"webhook_url": "/w/x"}, "Webhook POST /w/x"),
        (TriggerType.WEBHOOK, {"webhook_url": "/w/x", "method": "PUT"}, "Webhook PUT /w/x"),
        (TriggerType.EMAIL, {"email_address": "a@b.test"}, "Email to a@b.test"),
        (TriggerType.GITHUB, {"repository": "o/r"}, "GitHub o/r"),
        (TriggerType.SLACK, {"workspace_id": "T0123456"}, "Slack T0123456"),
        (TriggerType.MANUAL, {}, "Manual run"),
        (TriggerType.MANUAL, {"name": "Nightly backfill"}, "Nightly backfill"),
    ],
)
def test_a_trigger_is_named_from_what_it_listens_to(
    kind: TriggerType, config: dict[str, Any], name: str
) -> None:
    assert display_name(trigger(kind, config)) == name
    assert describe_trigger(trigger(kind, config)).name == name


def test_a_webhook_previews_as_the_http_request_its_receiver_reads() -> None:
    shown = wire_preview(
        TriggerType.WEBHOOK,
        {
            "method": "POST",
            "webhook_url": "/w/x",
            "query_params": {"a": ["1", "2"], "b": "x y"},
            "headers": {"Content-Type": "application/json"},
            "body": {"k": 1},
            "source_ip": "203.0.113.9",
        },
    )
    assert shown.title == "HTTP request from 203.0.113.9"
    assert shown.text.splitlines()[:2] == [
        "POST /w/x?a=1&a=2&b=x+y HTTP/1.1",
        "Content-Type: application/json",
    ]
    assert shown.text.endswith('{\n  "k": 1\n}')


def test_an_email_previews_as_its_message_and_anything_else_as_json() -> None:
    assert wire_preview(TriggerType.EMAIL, {"raw_message": "From: a\r\n"}).text == "From: a\r\n"
    assert wire_preview(TriggerType.MANUAL, {"inputs": {"n": 1}}).text == '{\n  "n": 1\n}'
    github = wire_preview(TriggerType.GITHUB, {"event_type": "pull_request", "action": "opened"})
    assert github.title == "GitHub delivery: pull_request (opened)"


def test_a_name_made_from_the_config_hides_what_the_config_hides() -> None:
    hook = trigger(TriggerType.WEBHOOK, {"webhook_url": "https://h.test/w?token=s3cr3t-value"})
    assert "s3cr3t-value" not in display_name(hook)
    assert display_name(hook).startswith("Webhook POST https://h.test/w?token=")
