"""MANUAL: typed inputs declared by the trigger, like GitHub's `workflow_dispatch` inputs."""

from __future__ import annotations

from typing import Any

from contracts.models import FieldError, InvokeRequest
from worker.redaction import Secrets
from worker.resolvers.base import Resolution
from worker.validation import schema_problems

# A trigger that declares no inputs accepts any object of inputs.
_ANY_INPUTS: dict[str, Any] = {"type": "object"}


def input_schema(config: dict[str, Any]) -> dict[str, Any]:
    schema = config.get("input_schema", _ANY_INPUTS)
    return schema if isinstance(schema, dict) else _ANY_INPUTS


class ManualResolver:
    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]:
        properties = input_schema(config).get("properties", {})
        return {
            name: prop["default"]
            for name, prop in properties.items()
            if isinstance(prop, dict) and "default" in prop
        }

    def parameter_schema(self, config: dict[str, Any]) -> dict[str, Any]:
        return input_schema(config)

    def secrets(self, config: dict[str, Any]) -> Secrets:
        return Secrets()  # a MANUAL trigger's config declares inputs, no credentials

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

    def resolve(
        self, config: dict[str, Any], parameters: dict[str, Any], request: InvokeRequest
    ) -> Resolution:
        return Resolution(
            trigger_data={
                "inputs": parameters,
                "triggered_by": request.user_id,
                "trigger_time": request.requested_at.isoformat(),
            },
            input_data=parameters,
        )


RESOLVER = ManualResolver()
