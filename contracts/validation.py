"""JSON Schema validation that reports every problem with a JSON pointer path.

Patterns (`pattern`, `patternProperties`, and the additional and unevaluated properties they
decide) run on RE2 (`contracts.regex`): schemas come from trigger configs, instances from
requests, and no pair of them may take more than linear time. A schema whose patterns RE2
cannot run is a problem of the schema (`schema_problems`), found where it is declared.

The formats the parameter schemas declare (`contracts.formats`: `iso-date-time`, `mailbox`,
`base64`; JSON Schema's `ipv4`, `ipv6`) are checked, and said in words a person reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import SchemaError, ValidationError
from pydantic import ValidationError as PydanticValidationError

from contracts.evaluation import evaluated_members
from contracts.formats import FORMAT_MESSAGES, is_base64, is_date_time, is_mailbox
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


def _on_strings(check: Callable[[str], bool]) -> Callable[[object], bool]:
    # A format says nothing of values of other types (JSON Schema's rule).
    return lambda instance: not isinstance(instance, str) or check(instance)


for _name, _check in {
    "iso-date-time": is_date_time,
    "mailbox": is_mailbox,
    "base64": is_base64,
}.items():
    _FORMATS.checks(_name)(_on_strings(_check))


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


def _unevaluated_properties(
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
                f"{key} is {_shown_value(instance[key])}" if key in instance else f"{key} is absent"
                for key in condition.get("properties", {})
            )
            return f"{_shown(name)} does not apply when {deciding}"
    return f"unknown parameter {_shown(name)}"


# jsonschema's own keywords call `re.search`; these are the same keywords on RE2.
_LinearValidator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
        "unevaluatedProperties": _unevaluated_properties,
    },
)


def _shown(instance: str) -> str:
    return repr(instance if len(instance) <= 64 else instance[:64] + TRUNCATED)


def _shown_value(value: Any) -> str:
    return _shown(value) if isinstance(value, str) else _shown(json.dumps(value))[1:-1]


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
        # Without the meta-schema's `format: regex`, which jsonschema checks with `re`: every
        # pattern is checked on RE2 below.
        Draft202012Validator.check_schema(schema, format_checker=FormatChecker(formats=()))
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
    """Every pattern of a (valid) schema RE2 cannot run."""
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
    if error.validator == "additionalProperties":
        return [
            FieldError(
                path=f"{at}{pointer([name], limit=MAX_ERROR_PATH)}",
                message=f"unknown parameter {_shown(name)}",
                code="unknown",
            )
            for name in _extra_properties(error)
        ]
    if error.validator == "unevaluatedProperties":  # one error per member, at the member
        return [FieldError(path=at, message=error.message, code="unknown")]
    if choices := _choices_of(error):  # a oneOf of titled constants is an enum
        message = f"{_shown_value(error.instance)} is not one of {choices!r}"
        return [FieldError(path=at, message=message, code="enum")]
    if formats := _formats_of(error):
        said = " or ".join(FORMAT_MESSAGES[f].removeprefix("must be ") for f in formats)
        return [FieldError(path=at, message=f"must be {said}", code="format")]
    if inner := _errors_of_its_type(error):
        return [found for e in inner for found in _field_errors(e, base)]
    return [FieldError(path=at, message=error.message, code=str(error.validator))]


def _errors_of_its_type(error: ValidationError) -> list[ValidationError]:
    """For an `anyOf` or `oneOf` of which one branch only is of the value's type (an email
    attachment's file name or object), that branch's errors: they say what is wrong."""
    value: Any = error.validator_value
    if error.validator not in ("anyOf", "oneOf") or not isinstance(value, list):
        return []
    of_its_type = [
        i
        for i, b in enumerate(value)
        if isinstance(b, dict) and "type" in b and _is_type(error.instance, b["type"])
    ]
    if len(of_its_type) != 1:
        return []
    return [e for e in error.context or [] if list(e.relative_schema_path)[:1] == of_its_type]


_TYPES = {"array", "boolean", "integer", "null", "number", "object", "string"}


def _is_type(instance: Any, declared: Any) -> bool:
    names = declared if isinstance(declared, list) else [declared]
    checker = Draft202012Validator.TYPE_CHECKER
    return any(n in _TYPES and checker.is_type(instance, n) for n in names if isinstance(n, str))


def _choices_of(error: ValidationError) -> list[Any]:
    value: Any = error.validator_value
    if error.validator not in ("oneOf", "anyOf") or not isinstance(value, list):
        return []
    if all(isinstance(b, dict) and "const" in b for b in value):
        return [b["const"] for b in value]
    return []


def _formats_of(error: ValidationError) -> list[str]:
    """The formats a value failed, when that is all it failed: a `format`, or an `anyOf` of
    nothing but formats (an IPv4 or an IPv6 address)."""
    value: Any = error.validator_value
    if error.validator == "format":
        return [value] if isinstance(value, str) and value in FORMAT_MESSAGES else []
    if error.validator != "anyOf" or not isinstance(value, list):
        return []
    formats = [b.get("format") if isinstance(b, dict) and len(b) == 1 else None for b in value]
    known = all(isinstance(f, str) and f in FORMAT_MESSAGES for f in formats)
    return [str(f) for f in formats] if known else []


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
