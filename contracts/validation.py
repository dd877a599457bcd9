"""JSON Schema validation that reports every problem with a JSON pointer path.

Patterns (`pattern`, `patternProperties`, and the additional properties they decide) run on
RE2 (`contracts.regex`): schemas come from trigger configs, instances from requests, and no
pair of them may take more than linear time. A schema whose patterns RE2 cannot run is a
problem of the schema (`schema_problems`), found where it is declared.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import SchemaError, ValidationError
from pydantic import ValidationError as PydanticValidationError

from contracts.models import MAX_ERROR_PATH, MAX_ERRORS, TRUNCATED, FieldError, more_errors
from contracts.regex import RegexError, linear, search
from contracts.specs import NO_LINE_BREAKS

_FORMATS = FormatChecker()


@_FORMATS.checks("regex", raises=RegexError)
def _is_linear_regex(instance: object) -> bool:
    """`format: regex` means a pattern this service can run: one RE2 compiles."""
    if isinstance(instance, str):
        linear(instance)
    return True


def pointer(parts: Iterable[str | int], limit: int | None = None) -> str:
    """RFC 6901 JSON pointer from path segments; with a `limit`, built no further than that
    many characters and ending in TRUNCATED (an error path, whose cost must not grow with the
    names a request repeats)."""
    built: list[str] = []
    size = 0
    for part in parts:
        segment = "/" + str(part).replace("~", "~0").replace("/", "~1")
        if limit is not None and size + len(segment) > limit:
            built.append(segment[: max(0, limit - size)] + TRUNCATED)
            break
        built.append(segment)
        size += len(segment)
    return "".join(built)


class BoundedErrors:
    """Errors as a producer finds them: the first MAX_ERRORS made, the rest only counted (an
    answer shows no more, and making each one costs a path as long as the request's names)."""

    def __init__(self) -> None:
        self.found: list[FieldError] = []
        self.left_out = 0

    def add(self, make: Callable[[], FieldError]) -> None:
        if len(self.found) < MAX_ERRORS:
            self.found.append(make())
        else:
            self.left_out += 1

    def result(self) -> list[FieldError]:
        return [*self.found, *([more_errors(self.left_out)] if self.left_out else [])]


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not search(pattern, instance):
        yield ValidationError(f"{_shown(instance)} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    declared, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    return [
        key for key in instance if key not in declared and not any(search(p, key) for p in patterns)
    ]


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    extras = _additional(instance, schema)
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        yield ValidationError(f"Additional properties are not allowed ({len(extras)} found)")


# jsonschema's own keywords call `re.search`; these three are the same keywords on RE2.
# (`unevaluatedProperties` would too, beside `patternProperties`: `schema_problems` refuses
# that pair in a declared schema; this project's own schemas use neither.)
_LinearValidator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    },
)


def _shown(instance: str) -> str:
    return repr(instance if len(instance) <= 64 else instance[:64] + TRUNCATED)


@lru_cache(maxsize=256)
def _compiled(schema_json: str) -> Any:
    return _LinearValidator(json.loads(schema_json), format_checker=_FORMATS)


def _validator(schema: Mapping[str, Any]) -> Any:
    # Compiling a validator costs far more than one validation; key the cache on the JSON text.
    return _compiled(json.dumps(schema, sort_keys=True))


def schema_problems(schema: Any, path: str) -> list[FieldError]:
    """Errors in a JSON Schema itself (a trigger's declared input schema, say), including
    patterns the linear-time engine cannot run."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [
            FieldError(
                path=path + pointer(exc.absolute_path), message=exc.message, code="invalid_schema"
            )
        ]
    return [
        FieldError(path=path + pointer(at), message=message, code="invalid_schema")
        for at, message in _pattern_problems(schema, ())
    ]


def _pattern_problems(schema: Any, at: tuple[str | int, ...]) -> Iterator[tuple[Any, str]]:
    """Every pattern of a (valid) schema RE2 cannot run, and every `unevaluatedProperties`
    beside `patternProperties` (jsonschema would decide that pair on the backtracking `re`)."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [(at, schema)]
    while stack:
        here, node = stack.pop()
        if isinstance(node, list):
            stack.extend(((*here, i), item) for i, item in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        patterns: list[tuple[Any, str]] = []
        if isinstance(node.get("pattern"), str):
            patterns.append(("pattern", node["pattern"]))
        named = node.get("patternProperties")
        if isinstance(named, dict):
            patterns += [(("patternProperties", p), p) for p in named]
            if "unevaluatedProperties" in node:
                yield (
                    (*here, "unevaluatedProperties"),
                    ("unevaluatedProperties beside patternProperties is not supported"),
                )
        for where, pattern in patterns:
            try:
                linear(pattern)
            except RegexError as exc:
                parts = where if isinstance(where, tuple) else (where,)
                yield (*here, *parts), str(exc)
        stack.extend(((*here, key), value) for key, value in node.items() if key != "enum")


def _extra_properties(error: ValidationError) -> list[str]:
    schema: Any = error.schema if isinstance(error.schema, dict) else {}
    instance: Any = error.instance
    return _additional(instance, schema)[:MAX_ERRORS]


def _field_errors(error: ValidationError, base: str) -> list[FieldError]:
    at = base + pointer(error.absolute_path, limit=MAX_ERROR_PATH)
    if "propertyNames" in error.absolute_schema_path:
        # The error is about a name, not a value: point at the offending member.
        name: Any = error.instance
        return [
            FieldError(
                path=f"{at}{pointer([name], limit=MAX_ERROR_PATH)}",
                code="invalid_name",
                message=f"invalid name {_shown(name)}",
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
                path=f"{at}{pointer([name], limit=MAX_ERROR_PATH)}",
                message=f"'{name}' is required",
                code="required",
            )
            for name in required[:MAX_ERRORS]
            if name not in instance
        ]
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        return [
            FieldError(
                path=f"{at}{pointer([name], limit=MAX_ERROR_PATH)}",
                message=f"unknown parameter {_shown(name)}",
                code="unknown",
            )
            for name in _extra_properties(error)
        ]
    return [FieldError(path=at, message=error.message, code=str(error.validator))]


def validate(schema: Mapping[str, Any], instance: Any, base: str = "") -> list[FieldError]:
    """Every violation of `schema` by `instance`, ordered by path; `base` prefixes each path."""
    errors = sorted(_validator(schema).iter_errors(instance), key=lambda e: list(map(str, e.path)))
    # jsonschema reports `required` once per missing name; each of those lists every name.
    # Only the errors an answer can show are made into field errors (the rest are counted by
    # the answer's bound), so a request of many bad values costs no more than a few.
    shown = errors[: MAX_ERRORS + 1]
    unique = {(f.path, f.code, f.message): f for e in shown for f in _field_errors(e, base)}
    left_out = len(errors) - len(shown)
    return [*unique.values(), *([more_errors(left_out)] if left_out else [])]


def from_pydantic(exc: PydanticValidationError, base: str = "") -> list[FieldError]:
    """Pydantic's errors as field errors; `loc` becomes a JSON pointer."""
    return [
        FieldError(path=base + pointer(error["loc"]), message=error["msg"], code=error["type"])
        for error in exc.errors(include_url=False)
    ]
