"""A trigger's type narrowed by its config: what the config may hold, what in it is secret, and
which parameters, defaults and examples a manual invocation of this very trigger accepts.

This is the descriptive side of each trigger type. Whatever describes a trigger (the shim's
schema endpoint, the CLI) reads it from here; the resolvers subclass these kinds and add
`resolve`, so a trigger is described and resolved by the same rules.
"""

from __future__ import annotations

import json
import string
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, ValidationError

from contracts.ids import derived_hex
from contracts.models import FieldError, TriggerType
from contracts.redaction import ALWAYS_HIDDEN_HEADERS, PUBLIC_HEADERS, Redaction, redact_config
from contracts.specs import (
    CRON_SPEC,
    EMAIL_SPEC,
    GITHUB_SPEC,
    HTTP_METHODS,
    JSON_SCHEMA_DIALECT,
    MANUAL_SPEC,
    SLACK_SPEC,
    SPECS,
    WEBHOOK_SPEC,
    ManualInvocationSpec,
    ParameterExample,
    Trigger,
)
from contracts.validation import schema_problems, validate


class WirePreview(BaseModel):
    """A resolved event as its receiver would see it: a title and the text of the delivery."""

    title: str
    text: str


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _pretty(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


def _header_lines(headers: Any) -> str:
    if not isinstance(headers, dict):
        return ""
    return "\n".join(f"{name}: {value}" for name, value in headers.items())


def _query(params: Any) -> str:
    if not isinstance(params, dict) or not params:
        return ""
    pairs = [
        (name, str(item))
        for name, value in params.items()
        for item in (value if isinstance(value, list) else [value])
    ]
    return "?" + urlencode(pairs)


def _delivery(headers: Any, payload: Any, receiver: str) -> str:
    return f"POST <{receiver}> HTTP/1.1\n{_header_lines(headers)}\n\n{_pretty(payload)}"


class TriggerKind:
    """The common case: parameters as the type's spec declares them, the trigger's config
    checked against `config_schema`, whose `writeOnly` fields are its secrets. Each type
    overrides what it does differently."""

    spec: ManualInvocationSpec
    config_schema: dict[str, Any] = {"type": "object"}  # noqa: RUF012 -- read-only

    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]:
        return dict(self.spec.default_parameters)

    def parameter_schema(self, config: dict[str, Any]) -> dict[str, Any]:
        return self.spec.parameter_schema

    def config_errors(self, config: dict[str, Any]) -> list[FieldError]:
        return validate(self.config_schema, config, "/trigger_config")

    # Members of a delivery's body that are credentials (`contracts.redaction.Redaction`).
    secret_members: frozenset[str] = frozenset()
    # Where an event carries a URL built from the config.
    config_urls: tuple[tuple[str, ...], ...] = ()

    def signature_headers(self, config: dict[str, Any]) -> list[str]:
        return []

    def public_headers(self, config: dict[str, Any]) -> frozenset[str]:
        """Configured headers whose values may be shown: the standard ones, and those the
        trigger lists in `public_headers`."""
        listed = config.get("public_headers")
        names = [n for n in listed if isinstance(n, str)] if isinstance(listed, list) else []
        return PUBLIC_HEADERS | {n.lower() for n in names}

    def redaction(self, config: dict[str, Any]) -> Redaction:
        """Where this trigger's events carry its credentials: the signature headers it sends,
        the configured headers not declared public, its body's credential members, the URLs
        built from its config."""
        configured = config.get("headers")
        names = list(configured) if isinstance(configured, dict) else []
        public = self.public_headers(config)
        secret = {n.lower() for n in [*self.signature_headers(config), *names]} - public
        return Redaction(
            headers=ALWAYS_HIDDEN_HEADERS | secret,
            members=self.secret_members,
            urls=self.config_urls,
        )

    def display_name(self, config: dict[str, Any]) -> str:
        """A name a person recognises, from what the trigger listens to (the config's own
        `name` wins)."""
        return f"{self.spec.trigger_type.value.title()} trigger"

    def wire_preview(self, resolved: dict[str, Any]) -> WirePreview:
        """What a resolved event would put on the wire, as the receiving side would see it."""
        return WirePreview(title="Event", text=_pretty(resolved))

    def shown_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """The config as events' metadata and answers may show it: secrets replaced."""
        shown: dict[str, Any] = redact_config(
            self.config_schema, config, self.public_headers(config)
        )
        return shown


# CRON ----------------------------------------------------------------------------------------


def with_seconds(expression: str) -> bool:
    """Six-field expressions carry seconds first, as in Quartz, Spring and node-cron."""
    return len(expression.split()) == 6


def expression_problem(expression: Any) -> str | None:
    """Why this is not a cron expression of 5 fields (6 with seconds first), or None."""
    if not isinstance(expression, str) or len(expression.split()) not in (5, 6):
        return "must be a cron expression of 5 fields (6 with seconds first)"
    if not croniter.is_valid(expression, second_at_beginning=with_seconds(expression)):
        return f"not a valid cron expression: {expression!r}"
    return None


def zone_problem(name: Any) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return f"not an IANA time zone: {name!r}"
    return None


class CronKind(TriggerKind):
    spec = CRON_SPEC

    def config_errors(self, config: dict[str, Any]) -> list[FieldError]:
        checks = [
            ("schedule", expression_problem(config.get("schedule"))),
            ("timezone", zone_problem(config.get("timezone", "UTC"))),
        ]
        return [
            FieldError(path=f"/trigger_config/{name}", code="invalid_trigger_config", message=m)
            for name, m in checks
            if m
        ]

    def display_name(self, config: dict[str, Any]) -> str:
        zone = f" ({config['timezone']})" if config.get("timezone") else ""
        return f"Schedule {_text(config.get('schedule'))}{zone}".strip()

    def wire_preview(self, resolved: dict[str, Any]) -> WirePreview:
        lines = [
            f"Schedule:       {_text(resolved.get('cron_expression'))} "
            f"({_text(resolved.get('timezone'))})",
            f"Stands for:     {_text(resolved.get('scheduled_time'))}",
            f"Fired at:       {_text(resolved.get('trigger_time'))}",
            f"Execution type: {_text(resolved.get('execution_type'))}",
        ]
        return WirePreview(title="Scheduled run", text="\n".join(lines))


# WEBHOOK -------------------------------------------------------------------------------------

DEFAULT_SIGNATURE_HEADER = "X-Signature-256"


class WebhookKind(TriggerKind):
    spec = WEBHOOK_SPEC
    config_schema = {  # noqa: RUF012 -- read-only
        "type": "object",
        "properties": {
            "webhook_url": {"type": "string"},
            "method": {"enum": HTTP_METHODS},
            "headers": {
                "type": "object",
                "description": "Headers the ingress adds. Their values are secret unless the "
                "name is a standard public header or listed in public_headers.",
                "additionalProperties": {"type": "string"},
            },
            "public_headers": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Configured headers whose values may be shown.",
            },
            "secret": {"type": "string", "minLength": 1, "writeOnly": True},
            "signature_header": {"type": "string", "pattern": r"^[A-Za-z0-9-]+$"},
        },
    }

    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]:
        method = config.get("method", WEBHOOK_SPEC.default_parameters["method"])
        return {**WEBHOOK_SPEC.default_parameters, "method": method}

    config_urls = (("trigger_data", "webhook_url"),)

    def signature_headers(self, config: dict[str, Any]) -> list[str]:
        return [config.get("signature_header", DEFAULT_SIGNATURE_HEADER)]

    def display_name(self, config: dict[str, Any]) -> str:
        method = _text(config.get("method")) or "POST"
        return f"Webhook {method} {_text(config.get('webhook_url'))}".strip()

    def wire_preview(self, resolved: dict[str, Any]) -> WirePreview:
        line = (
            f"{_text(resolved.get('method')) or 'POST'} {_text(resolved.get('webhook_url'))}"
            f"{_query(resolved.get('query_params'))} HTTP/1.1"
        )
        body = (
            _text(resolved["raw_body"])
            if "raw_body" in resolved
            else _pretty(resolved.get("body", ""))
        )
        return WirePreview(
            title=f"HTTP request from {_text(resolved.get('source_ip')) or '?'}",
            text=f"{line}\n{_header_lines(resolved.get('headers'))}\n\n{body}",
        )


# EMAIL ---------------------------------------------------------------------------------------


class EmailKind(TriggerKind):
    spec = EMAIL_SPEC
    config_schema = {  # noqa: RUF012 -- read-only
        "type": "object",
        "required": ["email_address"],
        "properties": {
            "email_address": {"type": "string", "format": "email"},
            "allowed_senders": {"type": "array", "items": {"type": "string"}},
            "allowed_sender_domains": {"type": "array", "items": {"type": "string"}},
            "subject_contains": {"type": "string"},
            "subject_regex": {"type": "string", "format": "regex"},
        },
    }

    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]:
        return {**EMAIL_SPEC.default_parameters, "to": [config.get("email_address", "")]}

    def display_name(self, config: dict[str, Any]) -> str:
        return f"Email to {_text(config.get('email_address')) or 'mailbox'}"

    def wire_preview(self, resolved: dict[str, Any]) -> WirePreview:
        raw = _text(resolved.get("raw_message"))
        return WirePreview(title="Email message (RFC 5322)", text=raw or _pretty(resolved))


# GITHUB --------------------------------------------------------------------------------------


def event_types(config: dict[str, Any], default: str) -> list[str]:
    """The events a GitHub or Slack trigger listens to (GitHub's `*`: all); its type's
    `default` event when it names none."""
    return list(config.get("event_types") or [default])


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
    config_urls = (
        ("trigger_data", "payload", "hook", "config", "url"),
        ("input_data", "hook", "config", "url"),
    )

    def signature_headers(self, config: dict[str, Any]) -> list[str]:
        return ["X-Hub-Signature", "X-Hub-Signature-256"]

    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]:
        first = event_types(config, "push")[0]
        return {
            "event_type": first if first != "*" else "push",
            "sender": str(config.get("repository", "octocat/x")).split("/")[0],
        }

    def display_name(self, config: dict[str, Any]) -> str:
        return f"GitHub {_text(config.get('repository')) or 'repository'}"

    def wire_preview(self, resolved: dict[str, Any]) -> WirePreview:
        action = _text(resolved.get("action"))
        return WirePreview(
            title=f"GitHub delivery: {_text(resolved.get('event_type'))}"
            + (f" ({action})" if action else ""),
            text=_delivery(
                resolved.get("headers"), resolved.get("payload"), "the trigger's payload URL"
            ),
        )


# SLACK ---------------------------------------------------------------------------------------

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

    def signature_headers(self, config: dict[str, Any]) -> list[str]:
        return ["X-Slack-Signature"]

    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]:
        channels = channel_filter(config)
        return {
            **SLACK_SPEC.default_parameters,
            "event_type": event_types(config, "message")[0],
            "channel": channels[0] if channels else "C0MANUAL01",
        }

    def display_name(self, config: dict[str, Any]) -> str:
        return f"Slack {_text(config.get('workspace_id')) or 'workspace'}"

    def wire_preview(self, resolved: dict[str, Any]) -> WirePreview:
        return WirePreview(
            title=f"Slack Events API delivery: {_text(resolved.get('event_type'))}",
            text=_delivery(
                resolved.get("headers"), resolved.get("payload"), "the app's request URL"
            ),
        )


# MANUAL --------------------------------------------------------------------------------------

# A trigger that declares no inputs accepts any object of inputs.
_ANY_INPUTS: dict[str, Any] = {"type": "object"}


def input_schema(config: dict[str, Any]) -> dict[str, Any]:
    schema = config.get("input_schema", _ANY_INPUTS)
    return schema if isinstance(schema, dict) else _ANY_INPUTS


class ManualKind(TriggerKind):
    """Typed inputs declared by the trigger, like GitHub's `workflow_dispatch` inputs."""

    spec = MANUAL_SPEC

    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]:
        properties = input_schema(config).get("properties", {})
        return {
            name: prop["default"]
            for name, prop in properties.items()
            if isinstance(prop, dict) and "default" in prop
        }

    def parameter_schema(self, config: dict[str, Any]) -> dict[str, Any]:
        return input_schema(config)

    def config_errors(self, config: dict[str, Any]) -> list[FieldError]:
        schema = config.get("input_schema", _ANY_INPUTS)
        path = "/trigger_config/input_schema"
        if not isinstance(schema, dict) or schema.get("type") != "object":
            return [
                FieldError(
                    path=path,
                    message="input_schema must be a JSON Schema of type 'object'",
                    code="invalid_trigger_config",
                )
            ]
        return schema_problems(schema, path)

    def display_name(self, config: dict[str, Any]) -> str:
        return "Manual run"

    def wire_preview(self, resolved: dict[str, Any]) -> WirePreview:
        return WirePreview(title="Workflow inputs", text=_pretty(resolved.get("inputs", resolved)))


KINDS: dict[TriggerType, TriggerKind] = {
    TriggerType.CRON: CronKind(),
    TriggerType.WEBHOOK: WebhookKind(),
    TriggerType.EMAIL: EmailKind(),
    TriggerType.GITHUB: GitHubKind(),
    TriggerType.SLACK: SlackKind(),
    TriggerType.MANUAL: ManualKind(),
}

# What follows is cached by (type, config): configs rarely change, and checking one (a MANUAL
# trigger's JSON Schema, say) costs more than resolving an event.


def config_problems(trigger: Trigger) -> list[FieldError]:
    """What is wrong with a trigger's config."""
    return list(_config_problems(trigger.type, trigger.config_key))


@lru_cache(maxsize=1024)
def _config_problems(trigger_type: TriggerType, config_json: str) -> tuple[FieldError, ...]:
    return tuple(KINDS[trigger_type].config_errors(json.loads(config_json)))


def trigger_redaction(trigger: Trigger) -> Redaction:
    """Where this trigger's events carry its credentials."""
    return _redaction(trigger.type, trigger.config_key)


@lru_cache(maxsize=1024)
def _redaction(trigger_type: TriggerType, config_json: str) -> Redaction:
    return KINDS[trigger_type].redaction(json.loads(config_json))


def shown_config(trigger: Trigger) -> dict[str, Any]:
    """The trigger's config with its secrets replaced, as anything shown of it holds it."""
    return KINDS[trigger.type].shown_config(trigger.config)


def trigger_spec(trigger: Trigger) -> ManualInvocationSpec:
    """The spec of the trigger's type, narrowed to this trigger's config: its schema, defaults,
    and only the examples that are valid for it (plus any its config lists)."""
    spec = SPECS[trigger.type]
    kind = KINDS[trigger.type]
    if config_problems(trigger):
        return spec
    schema = {"$schema": JSON_SCHEMA_DIALECT, **kind.parameter_schema(trigger.config)}
    defaults = kind.default_parameters(trigger.config)
    candidates = [*spec.parameter_examples, *_config_examples(trigger.config)]
    return spec.model_copy(
        update={
            "parameter_schema": schema,
            "default_parameters": defaults,
            "parameter_examples": [
                e for e in candidates if not validate(schema, {**defaults, **e.parameters})
            ],
        }
    )


class TriggerDescription(BaseModel):
    """What the schema endpoint and `manual-trigger schema` show of a trigger; secrets redacted."""

    workflow_id: str
    trigger_id: str
    trigger_type: TriggerType
    name: str
    trigger_config: dict[str, Any]
    supported: bool
    manual_invocation: bool
    description: str
    parameter_schema: dict[str, Any]
    default_parameters: dict[str, Any]
    examples: list[ParameterExample]


def display_name(trigger: Trigger) -> str:
    """A name a person recognises: the config's own `name`, else one from what it listens to."""
    own = trigger.config.get("name")
    if isinstance(own, str) and own:
        return own
    return KINDS[trigger.type].display_name(trigger.config)


def wire_preview(trigger_type: TriggerType, resolved: dict[str, Any]) -> WirePreview:
    """What a resolved event of this type would put on the wire."""
    return KINDS[trigger_type].wire_preview(resolved)


def describe_trigger(trigger: Trigger) -> TriggerDescription:
    """A trigger as the schema endpoint and `manual-trigger schema` show it; secrets redacted."""
    spec = trigger_spec(trigger)
    return TriggerDescription(
        workflow_id=trigger.workflow_id,
        trigger_id=trigger.id,
        trigger_type=trigger.type,
        name=display_name(trigger),
        trigger_config=shown_config(trigger),
        supported=spec.supported,
        manual_invocation=trigger.manual_invocation,
        description=spec.description,
        parameter_schema=spec.parameter_schema,
        default_parameters=spec.default_parameters,
        examples=spec.parameter_examples,
    )


def _config_examples(config: dict[str, Any]) -> list[ParameterExample]:
    examples = config.get("examples")
    if not isinstance(examples, list):
        return []
    try:
        return [ParameterExample.model_validate(e) for e in examples]
    except ValidationError:
        return []
