"""GITHUB: a webhook delivery from GitHub. Its spec and its kind."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from contracts.kinds.base import (
    TriggerKind,
    WirePreview,
    delivery_text,
    event_types,
    narrowed,
    text_of,
)
from contracts.kinds.github_parameters import (
    GITHUB_ACTIONS,
    GITHUB_EVENTS_WITHOUT_ACTION,
    GITHUB_PARAMETERS,
)
from contracts.models import TriggerType
from contracts.specs import ManualInvocationSpec, ParameterExample

__all__ = [
    "GITHUB_ACTIONS",
    "GITHUB_EVENTS_WITHOUT_ACTION",
    "GITHUB_SPEC",
    "KIND",
    "SHA1_SIGNATURE_HEADER",
    "SHA256_SIGNATURE_HEADER",
    "GitHubKind",
]

GITHUB_SPEC = ManualInvocationSpec(
    trigger_type=TriggerType.GITHUB,
    supported=True,
    description=(
        "Simulate a GitHub webhook delivery: push, pull_request, issues, release, "
        "workflow_dispatch, ping (full payloads as GitHub sends them), or any other event "
        "with a generic payload. Signed with the trigger's secret like GitHub signs."
    ),
    parameter_schema=GITHUB_PARAMETERS,
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

    def parameter_schema(self, config: dict[str, Any]) -> dict[str, Any]:
        """Only the events the trigger listens to, and their fields; any event with `*`."""
        events = event_types(config, "push")
        return GITHUB_SPEC.parameter_schema if "*" in events else _for_events(tuple(events))

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


@lru_cache(maxsize=256)
def _for_events(events: tuple[str, ...]) -> dict[str, Any]:
    return narrowed(GITHUB_SPEC.parameter_schema, "event_type", list(events))


KIND = GitHubKind()
