"""JSON Schema validation that reports every problem with a JSON pointer path.

Patterns (`pattern`, `patternProperties`, and the additional and unevaluated properties they
decide) run on RE2 (`contracts.regex`): schemas come from trigger configs, instances from
requests, and no pair of them may take more than linear time. A schema whose patterns RE2
cannot run is a problem of the schema (`schema_problems`), found where it is declared.

The formats the parameter schemas declare (`contracts.formats`: `iso-date-time`, `mailbox`,
`base64`; JSON Schema's `ipv4`, `ipv6`) are checked, and said in words a person reads.

Each schema is also compiled by jsonschema-rs (`CompiledSchema`), the worker's fast path: what
it finds valid is; otherwise jsonschema finds the errors (`jsonschema_errors`), word for word as
ever. It must never accept what jsonschema refuses, so it applies only where the two agree:
patterns RE2 and its linear-time `regex` engine read alike, formats checked by jsonschema's own
functions, values as a JSON parser makes them. Anything else (`\\s` in a pattern, `multipleOf`,
a remote `$ref`, an infinite number, a tuple) is jsonschema's alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache, partial
from math import isfinite
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError
from pydantic import ValidationError as PydanticValidationError

from contracts.evaluation import LinearValidator, additional_members, shown, shown_value
from contracts.formats import FORMAT_MESSAGES, is_base64, is_date_time, is_mailbox
from contracts.models import MAX_ERROR_PATH, MAX_ERRORS, TRUNCATED, FieldError, more_errors
from contracts.regex import RegexError, linear
from contracts.specs import JSON_SCHEMA_DIALECT, NO_LINE_BREAKS

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


# What jsonschema-rs may read otherwise than jsonschema: `multipleOf` (jsonschema divides
# floats), dynamic and recursive references, base URIs, anchors. Such a schema has no fast path.
_NOT_COMPILED = {"multipleOf", "$dynamicRef", "$dynamicAnchor", "$recursiveRef"}
_NOT_COMPILED |= {"$recursiveAnchor", "$id", "$anchor", "$vocabulary"}
# Pattern syntax RE2 and jsonschema-rs's `regex` engine read alike: literals, `.`, anchors,
# groups (`(?:` the only flag), alternation, repetition, classes of literals and ranges (none of
# the regex crate's `&&`, `--`, `~~`), escaped punctuation, `\xHH`, control escapes, and `\d`
# `\w` (ASCII on both, checked over every code point). Not `\s` nor `\b`: jsonschema-rs reads
# them as ECMA-262 does (Unicode spaces), RE2 as ASCII.
_ESCAPE = r"\\(?:[dDwWrntfv\\.*+?()\[\]{}|^$/-]|x[0-9A-Fa-f]{2})"
_SHARED_SYNTAX = linear(
    rf"(?:[^\\\[\]{{}}]|{_ESCAPE}|\{{[0-9]+(?:,[0-9]*)?\}}|\[\^?(?:[^\\\[\]]|{_ESCAPE})+\])*"
)
_PLAIN_DEPTH = 128  # jsonschema-rs reads a value recursively, on the machine's stack
_SCALARS = {str, int, float, bool, type(None)}


def _why_not_compiled(schema: Any) -> tuple[str | None, set[str]]:
    """Why jsonschema-rs's verdict on the schema cannot be trusted (None if it can), and the
    formats it names. Every member is looked at, schema or not: a false alarm costs time only."""
    formats: set[str] = set()
    if unrun := next(_pattern_problems(schema, ()), None):  # jsonschema would raise: not hidden
        return f"RE2 cannot run a pattern: {unrun[1]}", formats
    stack = [schema]
    while stack:
        node = stack.pop()
        stack += node if isinstance(node, list) else []
        for key, value in node.items() if isinstance(node, dict) else ():
            stack.append(value)
            formats |= {value} if key == "format" and isinstance(value, str) else set()
            named = value if key == "patternProperties" and isinstance(value, dict) else {}
            patterns = [value, *named] if key == "pattern" else [*named]
            if key in _NOT_COMPILED:
                return f"{key} may mean something else to jsonschema-rs", formats
            if key == "$schema" and value != JSON_SCHEMA_DIALECT:
                return f"the dialect {value!r} is not Draft 2020-12", formats
            if key == "$ref" and not str(value).startswith("#"):
                return f"the reference {value!r} is not local", formats
            if unlike := [p for p in patterns if isinstance(p, str) and not _read_alike(p)]:
                return f"the pattern {unlike[0]!r} may not match alike", formats
    return None, formats


def _read_alike(pattern: str) -> bool:
    return (
        _SHARED_SYNTAX.fullmatch(pattern) is not None
        and pattern.count("(?") == pattern.count("(?:")
        and not any(operation in pattern for operation in ("&&", "--", "~~"))
    )


def _plain_json(value: Any) -> bool:
    """Whether both libraries read `value` alike, as JSON a parser made: no tuple (an array to
    jsonschema-rs only), no infinity (none to it), no lone surrogate in a name, no deep nesting."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if type(item) is dict and depth < _PLAIN_DEPTH:
            if not all(type(name) is str and _encodes(name) for name in item):
                return False
            stack += [(member, depth + 1) for member in item.values()]
        elif type(item) is list and depth < _PLAIN_DEPTH:
            stack += [(member, depth + 1) for member in item]
        elif (type(item) is float and not isfinite(item)) or type(item) not in _SCALARS:
            return False
    return True


def _encodes(name: str) -> bool:
    return name.isascii() or not any("\ud800" <= char <= "\udfff" for char in name)


class CompiledSchema:
    """A schema compiled by jsonschema (`errors_of`) and, where the two agree, by jsonschema-rs
    (`accepts`, the fast path, calling jsonschema's own format checks). `fallback` says why there
    is no fast path, when there is none."""

    def __init__(self, schema_json: str) -> None:
        schema = json.loads(schema_json)
        self.jsonschema = LinearValidator(schema, format_checker=_FORMATS)
        self.fast: jsonschema_rs.Validator | None = None
        self.fallback, formats = _why_not_compiled(schema)
        if self.fallback is not None:
            return
        try:
            self.fast = jsonschema_rs.Draft202012Validator(
                schema,
                formats={name: partial(_FORMATS.conforms, format=name) for name in formats},
                validate_formats=True,
                pattern_options=jsonschema_rs.RegexOptions(),  # linear time, like RE2
                offline=True,
            )
        except Exception as exc:  # whatever it refuses, jsonschema reads alone
            self.fallback = f"jsonschema-rs cannot compile it: {exc}".splitlines()[0]

    def accepts(self, instance: Any) -> bool:
        """Whether jsonschema-rs finds the instance valid; False when it cannot say."""
        try:
            return self.fast is not None and _plain_json(instance) and self.fast.is_valid(instance)
        except Exception:  # a value it cannot read: jsonschema decides
            return False

    def errors_of(self, instance: Any, base: str = "") -> list[FieldError]:
        return _errors(self.jsonschema, instance, base)


# Callers pass the same schema objects again (the specs', the kinds' cached narrowed ones, a
# cached trigger's config): found by identity, they are not serialised again for the key. An
# entry holds its schema, so its id is not reused meanwhile. (A validated schema is not changed.)
_BY_IDENTITY: dict[int, tuple[Any, CompiledSchema]] = {}


def compiled_schema(schema: Mapping[str, Any]) -> CompiledSchema:
    """The schema compiled, once per distinct schema."""
    if (found := _BY_IDENTITY.get(id(schema))) is not None and found[0] is schema:
        return found[1]
    compiled = _compiled_schema(json.dumps(schema, sort_keys=True))
    if len(_BY_IDENTITY) >= 256:
        del _BY_IDENTITY[next(iter(_BY_IDENTITY))]
    _BY_IDENTITY[id(schema)] = (schema, compiled)
    return compiled


@lru_cache(maxsize=256)
def _compiled_schema(schema_json: str) -> CompiledSchema:
    return CompiledSchema(schema_json)


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
    return additional_members(instance, schema)[:MAX_ERRORS]


def _field_errors(error: ValidationError, base: str) -> list[FieldError]:
    at = base + pointer(error.absolute_path, limit=MAX_ERROR_PATH)
    if "propertyNames" in error.absolute_schema_path:
        # The error is about a name, not a value: point at the offending member.
        name: Any = error.instance
        return [
            FieldError(
                path=f"{at}{pointer([name], limit=MAX_ERROR_PATH)}",
                code="invalid_name",
                message=f"invalid name {shown(name)}",
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
                message=f"unknown parameter {shown(name)}",
                code="unknown",
            )
            for name in _extra_properties(error)
        ]
    if error.validator == "unevaluatedProperties":  # one error per member, at the member
        return [FieldError(path=at, message=error.message, code="unknown")]
    if choices := _choices_of(error):  # a oneOf of titled constants is an enum
        message = f"{shown_value(error.instance)} is not one of {choices!r}"
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
    compiled = compiled_schema(schema)
    return [] if compiled.accepts(instance) else compiled.errors_of(instance, base)


def jsonschema_errors(schema: Mapping[str, Any], instance: Any, base: str = "") -> list[FieldError]:
    """`validate` by jsonschema alone, without the fast path: what the fast path is held to."""
    return compiled_schema(schema).errors_of(instance, base)


def _errors(validator: Any, instance: Any, base: str) -> list[FieldError]:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path)))
    # jsonschema reports `required` once per missing name; each of those lists every name.
    # Only the errors an answer can show are made into field errors (the rest are counted by
    # the answer's bound), so a request of many bad values costs no more than a few.
    made = errors[: MAX_ERRORS + 1]
    unique = {(f.path, f.code, f.message): f for e in made for f in _field_errors(e, base)}
    left_out = len(errors) - len(made)
    return [*unique.values(), *([more_errors(left_out)] if left_out else [])]


def from_pydantic(exc: PydanticValidationError, base: str = "") -> list[FieldError]:
    """Pydantic's errors as field errors; `loc` becomes a JSON pointer."""
    return [
        FieldError(path=base + pointer(error["loc"]), message=error["msg"], code=error["type"])
        for error in exc.errors(include_url=False)
    ]
