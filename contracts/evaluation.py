"""Which members of an object a JSON Schema evaluates: what `unevaluatedProperties` (in
`contracts.validation`) leaves to itself.

jsonschema's own reckoning matches `patternProperties` with the backtracking `re`; this one runs
them on RE2 (`contracts.regex`), like every pattern of the service.
"""

from __future__ import annotations

from typing import Any

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
