"""GITHUB: a webhook delivery from GitHub. Its spec and its kind."""

from __future__ import annotations

from typing import Any

from contracts.kinds.base import TriggerKind, WirePreview, delivery_text, event_types, text_of
from contracts.models import TriggerType
from contracts.specs import JSON_SCHEMA_DIALECT, ManualInvocationSpec, ParameterExample

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


# With a secret, GitHub signs each delivery's body twice: HMAC-SHA1 (legacy) and HMAC-SHA256.
SHA1_SIGNATURE_HEADER = "X-Hub-Signature"
SHA256_SIGNATURE_HEADER = "X-Hub-Signature-256"


class GitHubKind(TriggerKind):
    spec = GITHUB_SPEC
    config_schema = {  # noqa: RUF012 -- read-only
        "type": "object",
        "required": ["repository"],
        "properties": {
            "repository": {"type": "string", "pattern": r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$"},
            "event_types": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "secret": {"type": "string", "minLength": 1, "writeOnly": True},
            "installation_id": {"type": "integer", "minimum": 1},
            "hook_id": {"type": "integer", "minimum": 1},
            "webhook_url": {"type": "string"},
            "default_branch": {"type": "string", "minLength": 1},
            "private": {"type": "boolean"},
            "owner_type": {"enum": ["User", "Organization"]},
        },
    }

    # A ping describes the hook, whose URL is the configured `webhook_url`.
    http_delivery = True
    config_urls = (
        ("trigger_data", "payload", "hook", "config", "url"),
        ("input_data", "hook", "config", "url"),
    )

    def signature_headers(self, config: dict[str, Any]) -> list[str]:
        return [SHA1_SIGNATURE_HEADER, SHA256_SIGNATURE_HEADER]

    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]:
        first = event_types(config, "push")[0]
        return {
            "event_type": first if first != "*" else "push",
            "sender": str(config.get("repository", "octocat/x")).split("/")[0],
        }

    def display_name(self, config: dict[str, Any]) -> str:
        return f"GitHub {text_of(config.get('repository')) or 'repository'}"

    def wire_preview(self, resolved: dict[str, Any]) -> WirePreview:
        action = text_of(resolved.get("action"))
        return WirePreview(
            title=f"GitHub delivery: {text_of(resolved.get('event_type'))}"
            + (f" ({action})" if action else ""),
            text=delivery_text(
                resolved.get("headers"), resolved.get("payload"), "the trigger's payload URL"
            ),
        )


KIND = GitHubKind()
