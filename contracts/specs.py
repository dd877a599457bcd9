"""What each trigger type accepts when it is fired by hand: its `ManualInvocationSpec`.

Specs are code, versioned with the resolvers that honour them; the schema endpoint, the CLI
and the exported JSON Schemas all read them from here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from contracts.models import TriggerType

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


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

_HEADER_MAP = {
    "type": "object",
    "description": "HTTP headers; merged case-insensitively over the defaults.",
    "additionalProperties": {"type": "string", "maxLength": 8192},
}

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
            "headers": _HEADER_MAP,
            "body": {"description": "Request body: any JSON value (object, array, string...)."},
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
        "config declares the inputs as a JSON Schema (`input_schema`); defaults come from it."
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
    ],
)


def _not_yet_supported(trigger_type: TriggerType) -> ManualInvocationSpec:
    return ManualInvocationSpec(
        trigger_type=trigger_type,
        supported=False,
        description=f"Manual invocation of {trigger_type.value} triggers is not available yet.",
        parameter_schema={"$schema": JSON_SCHEMA_DIALECT, "type": "object"},
    )


SPECS: dict[TriggerType, ManualInvocationSpec] = {
    TriggerType.WEBHOOK: WEBHOOK_SPEC,
    TriggerType.MANUAL: MANUAL_SPEC,
    **{
        t: _not_yet_supported(t)
        for t in (TriggerType.CRON, TriggerType.EMAIL, TriggerType.GITHUB, TriggerType.SLACK)
    },
}
