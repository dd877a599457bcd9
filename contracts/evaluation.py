"""jsonschema's Draft 2020-12 validator with its pattern keywords on RE2 (`LinearValidator`):
`pattern`, and those that decide an object's members (`patternProperties`,
`additionalProperties`, `unevaluatedProperties`, and which members a schema evaluates).

jsonschema's own keywords and reckoning match patterns with the backtracking `re`; these run
them on RE2 (`contracts.regex`), like every pattern of the service. `contracts.validation`
makes what they find into field errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from contracts.models import TRUNCATED
from contracts.regex import search


def passes(validator: Any, instance: Any, schema: Any) -> bool:
    return next(validator.descend(instance, schema), None) is None


def evaluated_members(validator: Any, instance: dict[str, Any], schema: Any) -> set[str]:
    """The members of `instance` that `schema` evaluates, as `unevaluatedProperties` reads
    them. Unlike jsonschema's, an `allOf` branch counts whether or not it passes: a member of
    a failing branch (a bad `ref` of a push) is reported by the branch's own error, not once
    more as unevaluated; `anyOf` and `oneOf` count only the branches that pass."""
    if not isinstance(schema, dict):
        return set()
    declared = schema.get("properties", {})
    found = {key for key in instance if key in declared}
    patterns = schema.get("patternProperties", {})
    found |= {key for key in instance if any(search(p, key) for p in patterns)}
    for keyword in ("additionalProperties", "unevaluatedProperties"):
        if keyword in schema:
            found |= {k for k, v in instance.items() if passes(validator, v, schema[keyword])}
    for keyword in ("$ref", "$dynamicRef"):
        if isinstance(schema.get(keyword), str):
            resolved = validator._resolver.lookup(schema[keyword])
            found |= evaluated_members(
                validator.evolve(schema=resolved.contents, _resolver=resolved.resolver),
                instance,
                resolved.contents,
            )
    for name, subschema in schema.get("dependentSchemas", {}).items():
        found |= evaluated_members(validator, instance, subschema) if name in instance else set()
    for subschema in schema.get("allOf", []):
        found |= evaluated_members(validator, instance, subschema)
    for subschema in [*schema.get("anyOf", []), *schema.get("oneOf", [])]:
        if passes(validator, instance, subschema):
            found |= evaluated_members(validator, instance, subschema)
    if "if" in schema:
        if passes(validator, instance, schema["if"]):
            found |= evaluated_members(validator, instance, schema["if"])
            found |= evaluated_members(validator, instance, schema.get("then"))
        else:
            found |= evaluated_members(validator, instance, schema.get("else"))
    return found


def pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def additional_members(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    declared, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    return [
        key for key in instance if key not in declared and not any(search(p, key) for p in patterns)
    ]


def additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    extras = additional_members(instance, schema)
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        yield ValidationError(f"Additional properties are not allowed ({len(extras)} found)")


def unevaluated_properties(
    validator: Any, unevaluated: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    """One error per member no part of the schema evaluates, at the member itself."""
    if not validator.is_type(instance, "object"):
        return
    evaluated = evaluated_members(validator, instance, schema)
    for name in [key for key in instance if key not in evaluated]:
        if validator.is_type(unevaluated, "object"):
            yield from validator.descend(instance[name], unevaluated, path=name)
        elif not unevaluated:
            yield ValidationError(_unexpected(name, instance, schema), path=[name])


def _unexpected(name: str, instance: dict[str, Any], schema: dict[str, Any]) -> str:
    """Why a member is not expected: no part of the schema has it, or only a branch that other
    values select ("'ref' does not apply when event_type is 'issues'")."""
    for branch in schema.get("allOf", []):
        condition, then = (
            (branch.get("if"), branch.get("then")) if isinstance(branch, dict) else (None, None)
        )
        if not (isinstance(condition, dict) and isinstance(then, dict)):
            continue
        if name in then.get("properties", {}):
            deciding = " and ".join(
                f"{key} is {shown_value(instance[key])}" if key in instance else f"{key} is absent"
                for key in condition.get("properties", {})
            )
            return f"{shown(name)} does not apply when {deciding}"
    return f"unknown parameter {shown(name)}"


def shown(instance: str) -> str:
    """A text as an error message quotes it, cut after 64 characters."""
    return repr(instance if len(instance) <= 64 else instance[:64] + TRUNCATED)


def shown_value(value: Any) -> str:
    return shown(value) if isinstance(value, str) else shown(json.dumps(value))[1:-1]


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not search(pattern, instance):
        yield ValidationError(f"{shown(instance)} does not match {pattern!r}")


# jsonschema's own keywords call `re.search`; these are the same keywords on RE2.
LinearValidator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": pattern_properties,
        "additionalProperties": additional_properties,
        "unevaluatedProperties": unevaluated_properties,
    },
)
