"""SLACK: an Events API delivery. Its spec and its kind."""

from __future__ import annotations

import string
from typing import Any

from contracts.ids import derived_hex
from contracts.kinds.base import TriggerKind, WirePreview, delivery_text, event_types, text_of
from contracts.models import TriggerType
from contracts.specs import JSON_SCHEMA_DIALECT, ManualInvocationSpec, ParameterExample

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


_SLACK_ALPHABET = string.ascii_uppercase + string.digits


def slack_id(prefix: str, seed: str, length: int = 10) -> str:
    """An id of Slack's shape (`T0…`, `U0…`, `Ev0…`) that always comes out the same for a seed."""
    digits = derived_hex(seed, length * 2)
    return prefix + "".join(
        _SLACK_ALPHABET[int(digits[i : i + 2], 16) % 36] for i in range(0, 2 * length, 2)
    )


def verification_token(config: dict[str, Any]) -> str:
    """The token Slack puts in every delivery's envelope: the configured one, or one derived
    from the workspace."""
    return str(
        config.get("verification_token") or slack_id("", f"token:{config['workspace_id']}", 24)
    )


def channel_filter(config: dict[str, Any]) -> list[str]:
    value = config.get("channel_filter")
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


# With a signing secret, Slack signs `v0:{timestamp}:{body}` in this header.
SIGNATURE_HEADER = "X-Slack-Signature"


class SlackKind(TriggerKind):
    spec = SLACK_SPEC
    config_schema = {  # noqa: RUF012 -- read-only
        "type": "object",
        "required": ["workspace_id"],
        "properties": {
            "workspace_id": {"type": "string", "pattern": "^[TE][A-Z0-9]{6,}$"},
            "channel_filter": {
                "anyOf": [
                    {"type": "string", "pattern": "^[CGD][A-Z0-9]{6,}$"},
                    {
                        "type": "array",
                        "items": {"type": "string", "pattern": "^[CGD][A-Z0-9]{6,}$"},
                    },
                ]
            },
            "mention_required": {"type": "boolean"},
            "event_types": {
                "type": "array",
                "items": {"enum": ["message", "app_mention", "reaction_added"]},
            },
            "signing_secret": {"type": "string", "minLength": 1, "writeOnly": True},
            "verification_token": {"type": "string", "minLength": 1, "writeOnly": True},
            "app_id": {"type": "string", "pattern": "^A[A-Z0-9]{6,}$"},
            "bot_user_id": {"type": "string", "pattern": "^[UW][A-Z0-9]{6,}$"},
        },
    }

    # The envelope's token is a credential even when derived (Slack's verification token
    # authenticates deliveries to apps that do not check signatures).
    secret_members = frozenset({"token"})
    http_delivery = True

    def signature_headers(self, config: dict[str, Any]) -> list[str]:
        return [SIGNATURE_HEADER]

    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]:
        channels = channel_filter(config)
        return {
            **SLACK_SPEC.default_parameters,
            "event_type": event_types(config, "message")[0],
            "channel": channels[0] if channels else "C0MANUAL01",
        }

    def display_name(self, config: dict[str, Any]) -> str:
        return f"Slack {text_of(config.get('workspace_id')) or 'workspace'}"

    def wire_preview(self, resolved: dict[str, Any]) -> WirePreview:
        return WirePreview(
            title=f"Slack Events API delivery: {text_of(resolved.get('event_type'))}",
            text=delivery_text(
                resolved.get("headers"), resolved.get("payload"), "the app's request URL"
            ),
        )


KIND = SlackKind()
