"""SLACK: an Events API delivery. Its spec and its kind."""

from __future__ import annotations

import string
from functools import lru_cache
from typing import Any

from contracts.ids import derived_hex
from contracts.kinds.base import (
    TriggerKind,
    WirePreview,
    delivery_text,
    event_types,
    narrowed,
    text_of,
)
from contracts.models import TriggerType
from contracts.specs import (
    JSON_SCHEMA_DIALECT,
    ManualInvocationSpec,
    ParameterExample,
    branch,
    field,
)

SLACK_EVENTS = ["message", "app_mention", "reaction_added"]
_TS = "^[0-9]{10}\\.[0-9]{6}$"
_USER = "^[UW][A-Z0-9]{6,}$"


def _ts(title: str, description: str, nullable: bool = False) -> dict[str, Any]:
    kind: Any = ["string", "null"] if nullable else "string"
    return field(title, description, type=kind, pattern=_TS)


def _event(name: str, title: str, description: str, /, **properties: Any) -> dict[str, Any]:
    return branch("event_type", {"const": name}, field(title, description, properties=properties))


# What a message or a reaction says when the request does not: the resolver's default, and
# the form's (the schema's `default` of the event's own field).
DEFAULT_TEXT = "Hello from manual trigger"
DEFAULT_REACTION = "thumbsup"

# A message's fields: `message` and `app_mention` events have them all but `channel_type`.
_REPLY = {
    "text": field(
        "Text",
        "The message text; mention users as <@U…>.",
        type="string",
        maxLength=40000,
        contentMediaType="text/plain",
        default=DEFAULT_TEXT,
    ),
    "thread_ts": _ts(
        "Thread",
        "Reply in the thread of the message with this ts; null: not a reply.",
        nullable=True,
    ),
    "item_user": field(
        "Thread starter",
        "With Thread: the user id of the author of the thread's first message (default: the "
        "author).",
        type="string",
        pattern=_USER,
    ),
    "bot_id": field(
        "Bot",
        "Posted by this bot (Slack's bot_id); null: by a person.",
        type=["string", "null"],
        pattern="^B[A-Z0-9]{6,}$",
    ),
}
_CHANNEL_TYPES = {
    "channel": "Public channel",
    "group": "Private channel",
    "im": "Direct message",
    "mpim": "Group direct message",
}

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
        "unevaluatedProperties": False,
        "properties": {
            "event_type": field(
                "Event type",
                "The Events API event: one the trigger listens to (default: its first).",
                type="string",
                enum=SLACK_EVENTS,
            ),
            "channel": field(
                "Channel",
                "Channel id; must pass the trigger's channel_filter.",
                type="string",
                pattern="^[CGD][A-Z0-9]{6,}$",
            ),
            "user": field(
                "Author",
                "Slack user id of who posted or reacted (default: one per invoker).",
                type="string",
                pattern=_USER,
            ),
        },
        "allOf": [
            _event(
                "message",
                "Message",
                "A message posted in a channel.",
                **_REPLY,
                channel_type=field(
                    "Channel type",
                    "The kind of conversation (default: from the channel id).",
                    type="string",
                    oneOf=[{"const": k, "title": t} for k, t in _CHANNEL_TYPES.items()],
                ),
            ),
            _event(
                "app_mention",
                "App mention",
                "A message that mentions the app's bot (<@bot> is added to the text if missing).",
                **_REPLY,
            ),
            _event(
                "reaction_added",
                "Reaction added",
                "An emoji reaction added to a message.",
                reaction=field(
                    "Reaction",
                    "The emoji's name, without colons.",
                    type="string",
                    pattern="^[a-z0-9_+-]+$",
                    default=DEFAULT_REACTION,
                ),
                item_ts=_ts("Message ts", "The ts of the message reacted to."),
                item_user=field(
                    "Message author",
                    "The user id of who wrote the message reacted to (default: the author).",
                    type="string",
                    pattern=_USER,
                ),
            ),
        ],
    },
    default_parameters={},
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
                "items": {"enum": SLACK_EVENTS},
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

    def parameter_schema(self, config: dict[str, Any]) -> dict[str, Any]:
        """Only the events the trigger listens to, and their fields."""
        return _for_events(tuple(event_types(config, "message")))

    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]:
        channels = channel_filter(config)
        return {
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


@lru_cache(maxsize=64)
def _for_events(events: tuple[str, ...]) -> dict[str, Any]:
    return narrowed(SLACK_SPEC.parameter_schema, "event_type", list(events))


KIND = SlackKind()
