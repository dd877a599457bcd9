"""MANUAL: typed inputs declared by the trigger. Its spec and its kind."""

from __future__ import annotations

from typing import Any

from contracts.kinds.base import TriggerKind, WirePreview, pretty
from contracts.models import FieldError, TriggerType
from contracts.specs import JSON_SCHEMA_DIALECT, ManualInvocationSpec, ParameterExample
from contracts.validation import schema_problems

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
        return WirePreview(title="Workflow inputs", text=pretty(resolved.get("inputs", resolved)))


KIND = ManualKind()
