"""Reproducing events our resolvers did not make: one per type as a real ingress publishes it
(fields this project never writes, ids of the real services, another spelling of times), read
back into parameters that keep what it said."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import pytest

from contracts.models import TriggerType
from contracts.redaction import REDACTED
from contracts.specs import Trigger
from tests.helpers import contained
from tests.unit.resolver_helpers import registered_trigger
from tests.unit.test_reproduce import assert_sendable, resolved, shown
from worker.resolvers import RESOLVERS


def reproduced(
    trigger_type: TriggerType, data: dict[str, Any], *, hides: bool = False
) -> tuple[dict[str, Any], Any]:
    """(the parameters read from the real event as an execution shows it, their event's data):
    accepted by the invoke path, and the same as from the event unredacted unless the
    redaction `hides` something meaningful in it."""
    trigger = registered_trigger(trigger_type)
    parameters = RESOLVERS[trigger_type].params_from(shown(trigger, data), trigger.config)
    unredacted = RESOLVERS[trigger_type].params_from(data, trigger.config)
    assert (parameters != unredacted) is hides
    assert_sendable(trigger, parameters)
    return parameters, resolved(trigger, parameters).trigger_data


def test_a_real_webhook_request_is_sent_again_byte_for_byte() -> None:
    raw = '{\n  "id": "evt_1Nv0",\n  "type": "invoice.paid",\n  "amount": 1999\n}'
    real = {
        "method": "PUT",
        "headers": {
            "Host": "hooks.example.com",
            "Content-Type": "application/json; charset=utf-8",
            "Content-Length": str(len(raw)),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": "t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e7",
            "X-Request-Id": "req_8d2f",
            "Authorization": "Bearer sk_live_from_the_sender",
        },
        "body": json.loads(raw),
        "raw_body": raw,
        "query_params": {"tenant": "acme", "tag": ["a", "b"]},
        "source_ip": "203.0.113.9",
        "webhook_url": "/webhook/abc123",
        "received_at": "2026-11-02T08:00:00Z",
    }
    parameters, again = reproduced(TriggerType.WEBHOOK, real, hides=True)
    assert again["raw_body"] == raw  # pretty-printed as sent, not re-encoded
    assert (again["method"], again["query_params"], again["source_ip"]) == (
        "PUT",
        real["query_params"],
        "203.0.113.9",
    )
    sent = {k.lower(): v for k, v in again["headers"].items()}
    for name in ("Content-Type", "User-Agent", "Stripe-Signature", "X-Request-Id"):
        assert sent[name.lower()] == real["headers"][name]
    # How it travelled is the new request's; a credential the record hides is not sent again
    assert "host" not in sent and sent["content-length"] == str(len(raw.encode()))
    assert "Authorization" not in parameters["headers"]


COMMIT = {
    "id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
    "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
    "distinct": True,
    "message": "Update README.md\n\nSigned-off-by: Mona <mona@example.com>",
    "timestamp": "2026-11-02T09:00:00+01:00",
    "url": "https://github.com/myorg/myrepo/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
    "author": {"name": "Mona", "email": "mona@example.com", "username": "mona"},
    "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
    "added": [],
    "removed": ["old.txt"],
    "modified": ["README.md"],
}
PUSH_PAYLOAD: dict[str, Any] = {
    "ref": "refs/heads/release/2.x",
    "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
    "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
    "created": False,
    "deleted": False,
    "forced": True,
    "base_ref": None,
    "compare": "https://github.com/myorg/myrepo/compare/6113728f27ae...0d1a26e67d8f",
    "commits": [COMMIT],
    "head_commit": COMMIT,
    "repository": {
        "id": 1296269,
        "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
        "name": "myrepo",
        "full_name": "myorg/myrepo",
        "private": True,
        "owner": {"name": "myorg", "login": "myorg", "id": 583231, "type": "Organization"},
        "html_url": "https://github.com/myorg/myrepo",
        "archived": True,
        "topics": ["ci"],
        "stargazers_count": 80,
        "default_branch": "main",
        "custom_property_added_later": "by GitHub",
    },
    "pusher": {"name": "mona", "email": "mona@example.com"},
    "organization": {"login": "myorg", "id": 583231},
    "enterprise": {"id": 1, "slug": "big-co"},
    "sender": {"login": "mona", "id": 2, "type": "User", "site_admin": False},
    "installation": {"id": 4242, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg=="},
}


def test_a_real_github_push_keeps_its_payload_content() -> None:
    real = {
        "event_type": "push",
        "delivery_id": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "headers": {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=abc"},
        "payload": PUSH_PAYLOAD,
        "raw_body": json.dumps(PUSH_PAYLOAD),
    }
    parameters, again = reproduced(TriggerType.GITHUB, real)
    assert (parameters["ref"], parameters["before"], parameters["sender"]) == (
        "refs/heads/release/2.x",
        PUSH_PAYLOAD["before"],
        "mona",
    )
    # What the delivery said, as it said it, the commits and their extra fields included
    identity = ("repository", "organization", "enterprise", "installation")
    said = {k: v for k, v in PUSH_PAYLOAD.items() if k not in identity}
    assert contained(said, again["payload"])
    assert again["payload"]["head_commit"]["id"] == PUSH_PAYLOAD["after"]
    # The repository's state as it was; whose repository it is comes from the trigger's config
    repository = again["payload"]["repository"]
    assert (repository["private"], repository["archived"], repository["topics"]) == (
        True,
        True,
        ["ci"],
    )
    assert repository["full_name"] == "myorg/myrepo" and repository["id"] != 1296269
    assert "enterprise" not in again["payload"]
    assert again["payload"]["installation"]["id"] == 4242  # the configured installation


def test_a_real_pull_request_from_a_fork_keeps_the_fork() -> None:
    fork = {
        "id": 99,
        "node_id": "R_kgDOAAAAYw",
        "name": "myrepo",
        "full_name": "mona/myrepo",
        "owner": {"login": "mona", "id": 2, "node_id": "U_kgAC", "type": "User"},
        "html_url": "https://github.com/mona/myrepo",
        "url": "https://api.github.com/repos/mona/myrepo",
        "fork": True,
        "git_url": "git://github.com/mona/myrepo.git",  # no URL a request may carry
        "ssh_url": "git@github.com:mona/myrepo.git",
    }
    payload = {
        "action": "synchronize",
        "number": 7,
        "pull_request": {
            "number": 7,
            "title": "Fix the login page",
            "body": "Closes #6",
            "draft": False,
            "head": {"label": "mona:fix", "ref": "fix", "sha": "a" * 40, "repo": fork},
            "base": {"label": "myorg:main", "ref": "main", "sha": "b" * 40, "repo": {"id": 1}},
            "requested_reviewers": [{"login": "hubot"}],
        },
        "sender": {"login": "dependabot[bot]", "id": 49699333, "type": "Bot"},
    }
    real = {"event_type": "pull_request", "payload": payload}
    parameters, again = reproduced(TriggerType.GITHUB, real)
    assert parameters["action"] == "synchronize"
    assert (parameters["number"], parameters["title"], parameters["head_ref"]) == (
        7,
        "Fix the login page",
        "fix",
    )
    assert "git_url" not in parameters["payload"]["pull_request"]["head"]["repo"]
    pull = again["payload"]["pull_request"]
    assert contained({k: v for k, v in fork.items() if k != "git_url"}, pull["head"]["repo"])
    assert pull["requested_reviewers"] == [{"login": "hubot"}]
    assert pull["base"]["repo"]["full_name"] == "myorg/myrepo"  # the trigger's own
    # A bot's login is no sender a request may name: the trigger's owner sends it instead
    assert "sender" not in parameters and again["payload"]["sender"]["login"] == "myorg"


def test_a_real_email_keeps_its_message() -> None:
    real = {
        "from": "Jane Customer <jane@example.com>",
        "to": "support@demo.example.com",  # one text, as some ingresses record it
        "cc": ["Ops <ops@example.com>"],
        "subject": "Re: [#4711] Login broken",
        "body": "It still fails.\n\n> earlier mail",
        "body_html": "<p>It still fails.</p>",
        "attachments": [
            {"name": "trace.log", "content_type": "text/plain", "size": 2048, "url": "s3://mail/1"}
        ],
        "headers": {
            "Received": "from mx.example.com by inbound.demo.example.com",
            "DKIM-Signature": "v=1; a=rsa-sha256; d=example.com; s=sel",
            "From": "Jane Customer <jane@example.com>",
            "Message-ID": "<CAF=abc@mail.example.com>",
            "In-Reply-To": "<4711@demo.example.com>",
            "Content-Type": "multipart/alternative; boundary=xyz",
            "X-Mailer": "Thunderbird 128",
        },
        "message_id": "<CAF=abc@mail.example.com>",
        "received_at": "2026-11-02T08:00:00Z",
    }
    parameters, again = reproduced(TriggerType.EMAIL, real)
    for name in ("from", "cc", "subject", "body", "body_html"):
        assert again[name] == real[name]
    assert again["to"] == ["support@demo.example.com"]
    assert again["attachments"] == [
        {"name": "trace.log", "content_type": "text/plain", "size": 2048}
    ]
    for name in ("Received", "DKIM-Signature", "In-Reply-To", "X-Mailer"):
        assert again["headers"][name] == real["headers"][name]  # type: ignore[index]
    assert set(parameters["headers"]) == {"Received", "DKIM-Signature", "In-Reply-To", "X-Mailer"}


def test_a_real_slack_message_keeps_its_event() -> None:
    envelope = {
        "token": "XXYYZZ",
        "team_id": "T0DEMO001",
        "api_app_id": "A0DEMO001",
        "event": {
            "type": "message",
            "channel": "C0DEMO001",
            "user": "U2147483697",
            "text": "Deploy <https://ci.example.com/run/1|run 1> finished",
            "ts": "1355517523.000005",
            "event_ts": "1355517523.000005",
            "thread_ts": "1355517500.000001",
            "parent_user_id": "U0PARENT01",
            "channel_type": "group",
            "client_msg_id": "2d3f",
            "blocks": [],
        },
        "type": "event_callback",
        "event_id": "Ev08MFMKH6",
        "event_time": 1355517523,
    }
    real = {**envelope, "payload": envelope, "event_type": "message"}
    assert shown(registered_trigger(TriggerType.SLACK), real)["payload"]["token"] == REDACTED
    parameters, again = reproduced(TriggerType.SLACK, real)
    event = again["payload"]["event"]
    for name in ("type", "channel", "user", "text", "thread_ts", "parent_user_id", "channel_type"):
        assert event[name] == envelope["event"][name]  # type: ignore[index]
    assert "token" not in parameters


def test_a_real_cron_firing_keeps_its_time_and_type() -> None:
    real = {
        "scheduled_time": "2026-11-02T08:00:00Z",  # 09:00 in Berlin: on the schedule
        "trigger_time": "2026-11-02T08:00:00.412Z",
        "execution_type": "scheduled",
        "cron_expression": "0 9 * * 1-5",
        "timezone": "Europe/Berlin",
    }
    parameters, again = reproduced(TriggerType.CRON, real)
    assert datetime.fromisoformat(again["scheduled_time"]) == datetime.fromisoformat(
        real["scheduled_time"]
    )
    assert datetime.fromisoformat(again["trigger_time"]) == datetime.fromisoformat(
        real["trigger_time"]
    )
    assert again["execution_type"] == "scheduled"
    assert "allow_off_schedule" not in parameters and "cron_expression" not in parameters


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"scheduled_time": "2026-11-01T12:34:00Z"}, {"allow_off_schedule": True}),
        ({"cron_expression": "*/5 * * * *"}, {"cron_expression": "*/5 * * * *"}),
        (
            {"timezone": "Asia/Tokyo", "scheduled_time": "2026-11-02T00:00:00Z"},
            {"timezone": "Asia/Tokyo"},
        ),
    ],
)
def test_a_firing_off_the_trigger_s_own_schedule_says_so(
    changes: dict[str, Any], expected: dict[str, Any]
) -> None:
    real = {"scheduled_time": "2026-11-02T08:00:00Z", "execution_type": "scheduled", **changes}
    parameters, again = reproduced(TriggerType.CRON, real)
    assert expected.items() <= parameters.items()
    assert datetime.fromisoformat(again["scheduled_time"]) == datetime.fromisoformat(
        real["scheduled_time"]
    )


def test_a_real_manual_run_keeps_its_inputs() -> None:
    real = {"inputs": {"environment": "production", "version": "2.0.0"}, "triggered_by": "platform"}
    parameters, again = reproduced(TriggerType.MANUAL, real)
    assert parameters == real["inputs"]
    assert again["inputs"] == {**real["inputs"], "notify": True}  # and the declared default


def test_the_reading_changes_nothing_it_reads() -> None:
    trigger: Trigger = registered_trigger(TriggerType.GITHUB)
    real = {"event_type": "push", "payload": PUSH_PAYLOAD}
    before = copy.deepcopy(real)
    RESOLVERS[TriggerType.GITHUB].params_from(real, trigger.config)
    assert real == before
