"""JSON Schema validation that reports every problem with a JSON pointer path."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError
from pydantic import ValidationError as PydanticValidationError

from contracts.models import FieldError
from contracts.specs import NO_LINE_BREAKS

_FORMATS = FormatChecker()


def pointer(parts: Iterable[str | int]) -> str:
    """RFC 6901 JSON pointer from path segments."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@lru_cache(maxsize=256)
def _compiled(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json), format_checker=_FORMATS)


def _validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    # Compiling a validator costs far more than one validation; key the cache on the JSON text.
    return _compiled(json.dumps(schema, sort_keys=True))


def schema_problems(schema: Any, path: str) -> list[FieldError]:
    """Errors in a JSON Schema itself (a trigger's declared input schema, say)."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [
            FieldError(
                path=path + pointer(exc.absolute_path), message=exc.message, code="invalid_schema"
            )
        ]
    return []


def _extra_properties(error: ValidationError) -> list[str]:
    schema: Any = error.schema if isinstance(error.schema, dict) else {}
    declared, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    instance: Any = error.instance
    return [
        key
        for key in instance
        if key not in declared and not any(re.search(p, key) for p in patterns)
    ]


def _field_errors(error: ValidationError, base: str) -> list[FieldError]:
    at = base + pointer(error.absolute_path)
    if "propertyNames" in error.absolute_schema_path:
        # The error is about a name, not a value: point at the offending member.
        name: Any = error.instance
        return [
            FieldError(
                path=f"{at}{pointer([name])}", code="invalid_name", message=f"invalid name {name!r}"
            )
        ]
    if error.validator == "not" and error.validator_value == NO_LINE_BREAKS["not"]:
        return [
            FieldError(
                path=at, code="line_break", message="must not contain CR, LF or NUL characters"
            )
        ]
    if error.validator == "required":
        required: Any = error.validator_value
        instance: Any = error.instance
        return [
            FieldError(
                path=f"{at}{pointer([name])}", message=f"'{name}' is required", code="required"
            )
            for name in required
            if name not in instance
        ]
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        return [
            FieldError(
                path=f"{at}{pointer([name])}", message=f"unknown parameter '{name}'", code="unknown"
            )
            for name in _extra_properties(error)
        ]
    return [FieldError(path=at, message=error.message, code=str(error.validator))]


def validate(schema: Mapping[str, Any], instance: Any, base: str = "") -> list[FieldError]:
    """Every violation of `schema` by `instance`, ordered by path; `base` prefixes each path."""
    errors = sorted(_validator(schema).iter_errors(instance), key=lambda e: list(map(str, e.path)))
    # jsonschema reports `required` once per missing name; each of those lists every name.
    unique = {(f.path, f.code, f.message): f for e in errors for f in _field_errors(e, base)}
    return list(unique.values())


def from_pydantic(exc: PydanticValidationError, base: str = "") -> list[FieldError]:
    """Pydantic's errors as field errors; `loc` becomes a JSON pointer."""
    return [
        FieldError(path=base + pointer(error["loc"]), message=error["msg"], code=error["type"])
        for error in exc.errors(include_url=False)
    ]
