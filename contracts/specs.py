"""What a trigger type accepts when it is fired by hand (`ManualInvocationSpec`), a configured
`Trigger`, and the pieces of parameter schemas the types share.

Each type's own spec is code in its module, `contracts/kinds/<type>.py`, versioned with the
resolver that honours it; `contracts.kinds.SPECS` collects them from the registry
(`contracts.registry`). The schema endpoint, the CLI and the exported JSON Schemas all read
them from there.
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


def field(title: str, description: str, /, **schema: Any) -> dict[str, Any]:
    """A parameter as a form shows it: a short sentence-case label, a sentence on what it
    means, then its schema."""
    return {"title": title, "description": description, **schema}


def header_map(title: str, description: str) -> dict[str, Any]:
    return field(
        title,
        description,
        type="object",
        propertyNames={"pattern": HEADER_NAME_PATTERN, "maxLength": 256, **NO_LINE_BREAKS},
        additionalProperties=field(
            "Header value",
            "The header's value, on one line.",
            type="string",
            maxLength=8192,
            **NO_LINE_BREAKS,
        ),
    )


def one_line(title: str, description: str, max_length: int = 998) -> dict[str, Any]:
    return field(title, description, type="string", maxLength=max_length, **NO_LINE_BREAKS)


def branch(name: str, condition: dict[str, Any], then: dict[str, Any]) -> dict[str, Any]:
    """An `allOf` entry: `then` (its own title, description and properties) applies when the
    parameter `name` is given and passes `condition` (GitHub's `push` fields when `event_type`
    is `push`)."""
    return {"if": {"properties": {name: condition}, "required": [name]}, "then": then}
