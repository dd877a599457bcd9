"""What each trigger type accepts when it is fired by hand: its `ManualInvocationSpec`.

Specs are code, versioned with the resolvers that honour them; the schema endpoint, the CLI
and the exported JSON Schemas all read them from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import BaseModel, Field

from contracts.models import TriggerType

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class Trigger:
    """One trigger of a workflow as configured: what a spec is narrowed by, and what a
    resolver resolves against. The store loads it; the resolvers never touch the store."""

    workflow_id: str
    id: str
    type: TriggerType
    config: dict[str, Any]
    enabled: bool
    manual_invocation: bool

    @cached_property
    def config_key(self) -> str:
        """The config as canonical JSON, made once per loaded trigger: the key of the caches of
        what derives from the config alone (its problems, its secrets)."""
        return json.dumps(self.config, sort_keys=True)


class ParameterExample(BaseModel):
    name: str
    description: str
    parameters: dict[str, Any]


class ManualInvocationSpec(BaseModel):
    trigger_type: TriggerType
    supported: bool
    description: str
    parameter_schema: dict[str, Any] = Field(description="JSON Schema (2020-12) of the parameters.")
    parameter_examples: list[ParameterExample] = Field(default_factory=list)
    default_parameters: dict[str, Any] = Field(default_factory=dict)


HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# RFC 9110 field names are tokens; values may not carry CR, LF or NUL (no header injection).
HEADER_NAME_PATTERN = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
# Said as "contains none of": `$` also matches before a final newline in Python's regexes.
NO_LINE_BREAKS: dict[str, Any] = {"not": {"pattern": "[\\r\\n\\x00]"}}


def header_map(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "propertyNames": {"pattern": HEADER_NAME_PATTERN, "maxLength": 256, **NO_LINE_BREAKS},
        "additionalProperties": {"type": "string", "maxLength": 8192, **NO_LINE_BREAKS},
    }


def one_line(description: str, max_length: int = 998) -> dict[str, Any]:
    return {"type": "string", "description": description, "maxLength": max_length, **NO_LINE_BREAKS}


WEBHOOK_SPEC = ManualInvocationSpec(
    trigger_type=TriggerType.WEBHOOK,
    supported=True,
    description=(
        "Simulate an HTTP request arriving at the webhook: method, headers, query string, "
        "body and client address, as the webhook ingress would have seen them."
    ),
    parameter_schema={
        "$schema": JSON_SCHEMA_DIALECT,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "method": {
                "type": "string",
                "enum": HTTP_METHODS,
                "description": "HTTP method of the simulated request.",
            },
            "headers": header_map("HTTP headers; merged case-insensitively over the defaults."),
            "body": {
                "description": (
                    "Request body, encoded as the Content-Type header says: any JSON value for "
                    "JSON; an object of strings (or a string) for "
                    "application/x-www-form-urlencoded; a string, sent verbatim, otherwise."
                ),
            },
            "query_params": {
                "type": "object",
                "description": "URL query parameters; a list repeats the parameter.",
                "additionalProperties": {
                    "anyOf": [
                        {"type": "string"},
                        {"type": "array", "items": {"type": "string"}},
                    ]
                },
            },
            "source_ip": {
                "type": "string",
                "description": "Client address the request appears to come from.",
                "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}],
            },
        },
    },
    default_parameters={
        "method": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": {},
        "query_params": {},
        "source_ip": "127.0.0.1",
    },
    parameter_examples=[
        ParameterExample(
            name="Simple JSON webhook",
            description="A POST with a small JSON payload.",
            parameters={
                "method": "POST",
                "headers": {"Content-Type": "application/json"},
                "body": {"event": "user.created", "user_id": 123},
            },
        ),
        ParameterExample(
            name="Deployment notification",
            description="A deploy hook with a custom header and a query parameter.",
            parameters={
                "headers": {"X-Source": "manual-test"},
                "query_params": {"env": "staging"},
                "body": {
                    "event_type": "deployment",
                    "repository": "user/repo",
                    "status": "success",
                },
            },
        ),
    ],
)

MANUAL_SPEC = ManualInvocationSpec(
    trigger_type=TriggerType.MANUAL,
    supported=True,
    description=(
        "Run the workflow with typed inputs, like GitHub's workflow_dispatch. The trigger's "
        "config declares the inputs as a JSON Schema (`input_schema`); defaults come from it, "
        "and named examples may be listed in its `examples`."
    ),
    parameter_schema={
        "$schema": JSON_SCHEMA_DIALECT,
        "type": "object",
        "description": "The workflow's inputs; each trigger narrows this with its input_schema.",
    },
    default_parameters={},
    parameter_examples=[
        ParameterExample(
            name="Defaults only",
            description="Run with every input at its declared default.",
            parameters={},
        ),
        ParameterExample(
            name="Deploy a release",
            description="For triggers declaring `environment` and `version` inputs (the demo's).",
            parameters={"environment": "production", "version": "1.4.2"},
        ),
    ],
)

CRON_SPEC = ManualInvocationSpec(
    trigger_type=TriggerType.CRON,
    supported=True,
    description=(
        "Fire the schedule now. By default the event carries the most recent time the "
        "schedule would have fired at or before the request, in the trigger's time zone."
    ),
    parameter_schema={
        "$schema": JSON_SCHEMA_DIALECT,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "scheduled_time": {
                "type": "string",
                "description": (
                    "ISO 8601 date-time the run stands for (no offset: the trigger's time "
                    "zone). Must be a time the schedule fires at, unless allow_off_schedule."
                ),
            },
            "allow_off_schedule": {
                "type": "boolean",
                "description": "Accept a scheduled_time the schedule would never fire at.",
            },
            "trigger_time": {
                "type": "string",
                "description": "ISO 8601 date-time the scheduler's tick happened (default: the "
                "time of the request).",
            },
            "cron_expression": {
                "type": "string",
                "maxLength": 255,
                "description": "Fire as this schedule, not the trigger's (a warning says so).",
            },
            "timezone": {
                "type": "string",
                "maxLength": 64,
                "description": "IANA time zone to read times in instead of the trigger's.",
            },
            "execution_type": {
                "type": "string",
                "pattern": "^[a-z][a-z0-9_]{0,63}$",
                "description": "The execution context's execution_type (default manual_cron).",
            },
        },
    },
    default_parameters={"allow_off_schedule": False, "execution_type": "manual_cron"},
    parameter_examples=[
        ParameterExample(
            name="Latest scheduled run",
            description="Run as the most recent scheduled firing would have.",
            parameters={},
        ),
        ParameterExample(
            name="Backfill a missed run",
            description="Re-run the firing of a given day at the schedule's time.",
            parameters={"scheduled_time": "2026-11-02T09:00:00+01:00"},
        ),
        ParameterExample(
            name="Off-schedule run",
            description="A run at a time the schedule does not fire at.",
            parameters={"scheduled_time": "2026-11-01T12:34:00Z", "allow_off_schedule": True},
        ),
    ],
)

_ADDRESS = one_line("A mailbox: `address` or `Display Name <address>`.")

EMAIL_SPEC = ManualInvocationSpec(
    trigger_type=TriggerType.EMAIL,
    supported=True,
    description=(
        "Simulate an inbound email: sender, recipients, subject, text and HTML bodies, "
        "attachments and headers, with the raw RFC 5322 message a mail parser would see. "
        "The trigger's sender and subject filters apply."
    ),
    parameter_schema={
        "$schema": JSON_SCHEMA_DIALECT,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "from": _ADDRESS,
            "to": {
                "type": "array",
                "items": _ADDRESS,
                "minItems": 1,
                "maxItems": 100,
                "description": "Recipients; defaults to the trigger's email_address.",
            },
            "cc": {
                "type": "array",
                "items": _ADDRESS,
                "maxItems": 100,
                "description": "Carbon-copy recipients.",
            },
            "subject": one_line("Subject line."),
            "body": {"type": "string", "description": "Plain-text body."},
            "body_html": {"type": ["string", "null"], "description": "HTML alternative."},
            "attachments": {
                "type": "array",
                "maxItems": 50,
                "description": "A file name, or {name, content_type, size, content (base64)}.",
                "items": {
                    "anyOf": [
                        one_line("File name of an empty attachment.", 255),
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["name"],
                            "properties": {
                                "name": one_line("File name.", 255),
                                "content_type": {
                                    "type": "string",
                                    "pattern": r"^[\w.+-]+/[\w.+-]+$",
                                    "description": "MIME type; guessed from the name if absent.",
                                },
                                "size": {
                                    "type": "integer",
                                    "minimum": 0,
                                    "maximum": 1_048_576,
                                    "description": "Bytes; required to match content.",
                                },
                                "content": {
                                    "type": "string",
                                    "description": "The file, base64-encoded.",
                                },
                            },
                        },
                    ]
                },
            },
            "headers": header_map("Extra message headers, e.g. In-Reply-To."),
        },
    },
    default_parameters={
        "from": "Test Sender <test@example.com>",
        "cc": [],
        "subject": "Manual Test Email",
        "body": "This is a manually triggered email simulation",
        "body_html": None,
        "attachments": [],
        "headers": {},
    },
    parameter_examples=[
        ParameterExample(
            name="Support request",
            description="A customer writes to support, with a screenshot.",
            parameters={
                "from": "Jane Customer <customer@example.com>",
                "subject": "Urgent Support Request",
                "body": "Please help with login issues",
                "attachments": ["support-screenshot.png"],
            },
        ),
        ParameterExample(
            name="Invoice with HTML and a PDF",
            description="An HTML mail with a small base64 attachment and a reply header.",
            parameters={
                "from": "billing@example.com",
                "cc": ["Accounts <accounts@example.com>"],
                "subject": "Invoice 2026-117",
                "body": "Your invoice is attached.",
                "body_html": "<p>Your invoice is <b>attached</b>.</p>",
                "attachments": [
                    {
                        "name": "invoice.pdf",
                        "content_type": "application/pdf",
                        "content": "JVBERi0xLjQKJcOkw7zDtsOfCg==",
                    }
                ],
                "headers": {"In-Reply-To": "<req-117@example.com>"},
            },
        ),
    ],
)


SHA = {
    "type": "string",
    "pattern": "^[0-9a-f]{4,40}$",
    "description": "A commit SHA; a short one (4 to 39 hex digits) is completed to the 40 "
    "digits GitHub sends, with a warning.",
}
# Actions per GitHub event that has them; the first is the default.
GITHUB_ACTIONS: dict[str, list[str]] = {
    "pull_request": [
        "opened",
        "closed",
        "reopened",
        "synchronize",
        "edited",
        "ready_for_review",
        "converted_to_draft",
        "labeled",
        "unlabeled",
        "assigned",
        "unassigned",
        "review_requested",
        "review_request_removed",
        "locked",
        "unlocked",
        "auto_merge_enabled",
        "auto_merge_disabled",
        "enqueued",
        "dequeued",
        "milestoned",
        "demilestoned",
    ],
    "issues": [
        "opened",
        "closed",
        "reopened",
        "edited",
        "deleted",
        "labeled",
        "unlabeled",
        "assigned",
        "unassigned",
        "locked",
        "unlocked",
        "pinned",
        "unpinned",
        "transferred",
        "milestoned",
        "demilestoned",
        "typed",
        "untyped",
    ],
    "release": [
        "published",
        "created",
        "edited",
        "deleted",
        "prereleased",
        "released",
        "unpublished",
    ],
}
GITHUB_EVENTS_WITHOUT_ACTION = ["push", "workflow_dispatch", "ping"]

GITHUB_SPEC = ManualInvocationSpec(
    trigger_type=TriggerType.GITHUB,
    supported=True,
    description=(
        "Simulate a GitHub webhook delivery: push, pull_request, issues, release, "
        "workflow_dispatch, ping (full payloads as GitHub sends them), or any other event "
        "with a generic payload. Signed with the trigger's secret like GitHub signs."
    ),
    parameter_schema={
        "$schema": JSON_SCHEMA_DIALECT,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "event_type": {
                "type": "string",
                "pattern": "^[a-z_]+$",
                "description": "X-GitHub-Event; one the trigger listens to. Default: its first.",
            },
            "action": {
                "type": "string",
                "pattern": "^[a-z_]+$",
                "description": "The event's action (pull_request, issues, release...).",
            },
            "repository": {
                "type": "string",
                "description": "owner/name; must be the trigger's repository if given.",
            },
            "sender": {
                "type": "string",
                "pattern": "^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$",
                "description": "GitHub login of the user who caused the event.",
            },
            "ref": {
                "type": "string",
                "maxLength": 255,
                "description": "Git ref (push, workflow_dispatch), e.g. refs/heads/main.",
            },
            "before": {**SHA, "description": "push: the SHA before the push."},
            "after": {**SHA, "description": "push without commits: the SHA after it."},
            "commits": {
                "type": "array",
                "maxItems": 20,
                "description": "push: the pushed commits; the last is head_commit.",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "id": SHA,
                        "message": {"type": "string"},
                        "timestamp": {"type": "string"},
                        "author": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "name": {"type": "string"},
                                "email": {"type": "string"},
                                "username": {"type": "string"},
                            },
                        },
                        "added": {"type": "array", "items": {"type": "string"}},
                        "removed": {"type": "array", "items": {"type": "string"}},
                        "modified": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
            "number": {
                "type": "integer",
                "minimum": 1,
                "description": "Pull request or issue number.",
            },
            "title": {
                "type": "string",
                "maxLength": 256,
                "description": "Pull request or issue title.",
            },
            "body": {"type": ["string", "null"], "description": "PR, issue or release body."},
            "labels": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Label names (pull_request, issues).",
            },
            "head_ref": {"type": "string", "description": "pull_request: the head branch."},
            "base_ref": {"type": "string", "description": "pull_request: the base branch."},
            "head_sha": {**SHA, "description": "pull_request: the head commit."},
            "draft": {"type": "boolean", "description": "pull_request or release is a draft."},
            "merged": {"type": "boolean", "description": "pull_request closed by merging."},
            "tag_name": {"type": "string", "description": "release: the tag."},
            "name": {"type": "string", "description": "release: its title."},
            "prerelease": {"type": "boolean", "description": "release: a pre-release."},
            "target_commitish": {"type": "string", "description": "release: branch or SHA."},
            "inputs": {
                "type": "object",
                "description": "workflow_dispatch: the workflow's inputs.",
            },
            "workflow": {
                "type": "string",
                "description": "workflow_dispatch: path of the workflow file.",
            },
            "payload": {
                "type": "object",
                "description": "Merged (deeply) over the generated payload: any field GitHub "
                "sends, and the whole payload of events without a dedicated builder.",
            },
        },
    },
    default_parameters={},
    parameter_examples=[
        ParameterExample(
            name="Push to main",
            description="One commit pushed to the default branch.",
            parameters={
                "event_type": "push",
                "ref": "refs/heads/main",
                "commits": [
                    {
                        "message": "Fix critical bug",
                        "author": {"name": "Developer", "email": "dev@example.com"},
                        "modified": ["src/app.py"],
                    }
                ],
            },
        ),
        ParameterExample(
            name="Pull request opened",
            description="A feature branch opened against main.",
            parameters={
                "event_type": "pull_request",
                "action": "opened",
                "number": 42,
                "title": "Add manual triggers",
                "head_ref": "feature/manual-triggers",
                "labels": ["enhancement"],
            },
        ),
        ParameterExample(
            name="Release published",
            description="A release of tag v2.0.0.",
            parameters={"event_type": "release", "action": "published", "tag_name": "v2.0.0"},
        ),
        ParameterExample(
            name="Webhook ping",
            description="The ping GitHub sends when a webhook is created.",
            parameters={"event_type": "ping"},
        ),
    ],
)


SLACK_TS = {"type": "string", "pattern": "^[0-9]{10}\\.[0-9]{6}$"}

SLACK_SPEC = ManualInvocationSpec(
    trigger_type=TriggerType.SLACK,
    supported=True,
    description=(
        "Simulate a Slack Events API delivery (`event_callback`) for message, app_mention or "
        "reaction_added, signed with the trigger's signing secret as Slack signs it."
    ),
    parameter_schema={
        "$schema": JSON_SCHEMA_DIALECT,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "event_type": {
                "enum": ["message", "app_mention", "reaction_added"],
                "description": "One the trigger listens to. Default: its first.",
            },
            "channel": {
                "type": "string",
                "pattern": "^[CGD][A-Z0-9]{6,}$",
                "description": "Channel id; must pass the trigger's channel_filter.",
            },
            "user": {
                "type": "string",
                "pattern": "^[UW][A-Z0-9]{6,}$",
                "description": "Slack user id of the author (default: one per invoker).",
            },
            "text": {
                "type": "string",
                "maxLength": 40000,
                "description": "Message text; mention users as <@U…>.",
            },
            "thread_ts": {
                **SLACK_TS,
                "type": ["string", "null"],
                "description": "Reply in this thread (null: not a reply).",
            },
            "channel_type": {
                "enum": ["channel", "group", "im", "mpim"],
                "description": "message: default from the channel id.",
            },
            "reaction": {
                "type": "string",
                "pattern": "^[a-z0-9_+-]+$",
                "description": "reaction_added: the emoji name.",
            },
            "item_ts": {**SLACK_TS, "description": "reaction_added: ts of the message."},
            "item_user": {
                "type": "string",
                "pattern": "^[UW][A-Z0-9]{6,}$",
                "description": "reaction_added: author of the message.",
            },
            "bot_id": {
                "type": ["string", "null"],
                "pattern": "^B[A-Z0-9]{6,}$",
                "description": "message, app_mention: posted by this bot (Slack's bot_id); "
                "null: by a person.",
            },
        },
    },
    default_parameters={"text": "Hello from manual trigger", "reaction": "thumbsup"},
    parameter_examples=[
        ParameterExample(
            name="Channel message",
            description="Someone posts in the watched channel.",
            parameters={"event_type": "message", "text": "Deploy finished, please verify"},
        ),
        ParameterExample(
            name="Thread reply",
            description="A reply in a thread.",
            parameters={
                "event_type": "message",
                "text": "Looks good",
                "thread_ts": "1764000000.000100",
            },
        ),
        ParameterExample(
            name="Reaction",
            description="A :white_check_mark: on a message.",
            parameters={"event_type": "reaction_added", "reaction": "white_check_mark"},
        ),
    ],
)

SPECS: dict[TriggerType, ManualInvocationSpec] = {
    TriggerType.WEBHOOK: WEBHOOK_SPEC,
    TriggerType.MANUAL: MANUAL_SPEC,
    TriggerType.CRON: CRON_SPEC,
    TriggerType.EMAIL: EMAIL_SPEC,
    TriggerType.GITHUB: GITHUB_SPEC,
    TriggerType.SLACK: SLACK_SPEC,
}
