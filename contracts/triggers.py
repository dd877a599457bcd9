"""A trigger narrowed by its config: what the config may hold, what in it is secret, and
which parameters, defaults and examples a manual invocation of this very trigger accepts.

This is the descriptive side of triggers. Whatever describes a trigger (the shim's schema
endpoint, the CLI) reads it from here; each type's rules are its kind
(`contracts/kinds/<type>.py`, found from `contracts.registry`), and its resolver subclasses
that kind and adds `resolve`, so a trigger is described and resolved by the same rules.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError

from contracts.kinds import KINDS, SPECS, TriggerKind, WirePreview
from contracts.models import FieldError, TriggerType
from contracts.redaction import Redaction
from contracts.specs import JSON_SCHEMA_DIALECT, ManualInvocationSpec, ParameterExample, Trigger
from contracts.validation import validate

__all__ = [
    "KINDS",
    "SPECS",
    "TriggerDescription",
    "TriggerKind",
    "WirePreview",
    "config_problems",
    "describe_trigger",
    "display_name",
    "shown_config",
    "trigger_redaction",
    "trigger_spec",
    "wire_preview",
]

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


def display_name(trigger: Trigger, shown: dict[str, Any] | None = None) -> str:
    """A name a person recognises: the config's own `name`, else one from what it listens to.
    Made from the config as it may be shown (`shown`, when the caller has it already): a name
    built from a webhook URL must not carry the token the shown config hides."""
    shown = shown_config(trigger) if shown is None else shown
    own = shown.get("name")
    if isinstance(own, str) and own:
        return own
    return KINDS[trigger.type].display_name(shown)


def wire_preview(trigger_type: TriggerType, resolved: dict[str, Any]) -> WirePreview:
    """What a resolved event of this type would put on the wire."""
    return KINDS[trigger_type].wire_preview(resolved)


def describe_trigger(trigger: Trigger) -> TriggerDescription:
    """A trigger as the schema endpoint and `manual-trigger schema` show it; secrets redacted."""
    spec = trigger_spec(trigger)
    shown = shown_config(trigger)
    return TriggerDescription(
        workflow_id=trigger.workflow_id,
        trigger_id=trigger.id,
        trigger_type=trigger.type,
        name=display_name(trigger, shown),
        trigger_config=shown,
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
