"""The compiled validator (jsonschema-rs, `contracts.validation.CompiledSchema`) answers for
jsonschema only where the two agree: it never finds valid what jsonschema refuses.

Each of its verdicts is held to jsonschema's alone (`jsonschema_errors`): on every trigger
type's examples and hand-made invalid parameters, on parameters generated from the schemas and
then broken, on input schemas a MANUAL trigger may declare, and on patterns of the syntax both
regex engines are trusted to read alike. A fast path that silently never applied would pass all
that, so the worker's own schemas must compile and its valid invocations must never reach
jsonschema.
"""

from __future__ import annotations

import copy
import enum
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from contracts.kinds import KINDS, SPECS
from contracts.models import TriggerType
from contracts.regex import RegexError, search
from contracts.specs import JSON_SCHEMA_DIALECT
from contracts.triggers import trigger_spec
from contracts.validation import (
    CompiledSchema,
    compiled_schema,
    jsonschema_errors,
    schema_problems,
    validate,
)
from tests.factories import demo_request, demo_trigger
from tests.unit.resolver_helpers import registered_trigger
from tests.unit.schema_strategies import parameter_names, parameters_of
from worker.resolvers import prepare_invocation


def disagreement(schema: Any, instance: Any) -> str | None:
    """How the two verdicts differ: None when they agree (or the schema has no fast path, and
    jsonschema answers alone); "harmless" when only jsonschema finds the instance valid (it then
    finds no errors, at a cost in time); "HARMFUL" when only the compiled validator does (errors
    would be lost)."""
    compiled = compiled_schema(schema)
    fast, valid = compiled.accepts(instance), jsonschema_errors(schema, instance) == []
    return None if fast == valid or compiled.fast is None else "HARMFUL" if fast else "harmless"


# Every schema the worker validates with: each type's spec, its schema for its example config
# and for the demo trigger, and its config schema.
SCHEMAS = {
    **{f"{t.value} spec": SPECS[t].parameter_schema for t in TriggerType},
    **{f"{t.value} example": k.parameter_schema(k.example_config) for t, k in KINDS.items()},
    **{
        f"{t.value} demo": k.parameter_schema(registered_trigger(t).config)
        for t, k in KINDS.items()
    },
    **{f"{t.value} config": k.config_schema for t, k in KINDS.items()},
}


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_every_schema_of_the_worker_is_compiled(name: str) -> None:
    compiled = compiled_schema(SCHEMAS[name])
    assert compiled.fallback is None
    assert compiled.fast is not None


@pytest.mark.parametrize("trigger_type", list(TriggerType))
def test_valid_invocations_never_reach_jsonschema(
    trigger_type: TriggerType, monkeypatch: pytest.MonkeyPatch
) -> None:
    trigger = demo_trigger(trigger_type)
    examples = trigger_spec(trigger).parameter_examples  # (narrowed schemas made and cached)
    assert examples

    def refuse(self: CompiledSchema, instance: Any, base: str = "") -> Any:
        raise AssertionError(f"jsonschema was asked about a valid instance: {instance!r}")

    monkeypatch.setattr(CompiledSchema, "errors_of", refuse)
    for example in examples:
        prepare_invocation(demo_request(trigger_type, parameters=example.parameters), trigger)


# Golden cases ------------------------------------------------------------------------------

# Values put in every parameter's place: every type, each format kept and broken, patterns'
# and enums' values, line breaks, Unicode digits and spaces, nested objects of the wrong shape.
BAD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    10**40,
    "",
    "x",
    "2026-03-02T09:00:00+01:00",
    "2026-02-30T09:00:00",
    "2026-03-02",
    "Alice <alice@example.com>",
    "a@b",
    "aGVsbG8=",
    "aGVsbG8",
    "203.0.113.9",
    "256.1.1.1",
    "2001:db8::1",
    "fe80::1%eth0",
    "line\nbreak",
    "\u00a0",
    "\u0663",
    "C0DEMO001",
    "U0DEMOBOT",
    "1712345678.123456",
    "refs/heads/main",
    "octocat/hello-world",
    "^(a|aa)+$",
    "[",
    [],
    [1],
    ["x"],
    ["a@b", "Bob <bob@example.com>"],
    {},
    {"a": 1},
    {"X-Name": "v\r\nInjected: 1"},
    {"bad name": "v"},
    [{"name": "f.txt", "content": "!!"}],
    [{"name": "f.txt", "content": "aGk=", "content_type": "text/plain"}],
    [{"message": "m", "author": {"name": "n", "email": "x"}, "timestamp": "nope"}],
]

# Parameters whose fields apply per event (GitHub's and Slack's `if`/`then` branches), nested
# formats and patterns, and what each type's examples leave out.
HAND_MADE: dict[TriggerType, list[dict[str, Any]]] = {
    TriggerType.GITHUB: [
        {"event_type": "push", "ref": "refs/heads/main", "before": "abc123"},
        {"event_type": "push", "number": 4},
        {"event_type": "issues", "action": "synchronize"},
        {"event_type": "release", "tag_name": 3, "head_ref": "x"},
        {"event_type": "ping", "zz": 1},
        {"event_type": "push", "before": "xyz"},
        {"event_type": "push", "sender": "-no-"},
        {"event_type": "push", "commits": [{"message": "m", "timestamp": "2026-02-30T00:00:00"}]},
        {"event_type": "push", "commits": [{"author": {"email": "dev@example.com", "x": 1}}]},
        {"event_type": "pull_request", "action": "opened", "number": -1},
        {"event_type": "pull_request", "action": "opened", "tag_name": "v1"},
        {"event_type": "workflow_dispatch", "inputs": {"a": "b"}},
        {"event_type": "deployment_status", "action": "created"},
    ],
    TriggerType.SLACK: [
        {"event_type": "reaction_added", "reaction": "tada", "thread_ts": None},
        {"event_type": "reaction_added", "text": "hi"},
        {"event_type": "reaction_added", "reaction": "tada", "item_ts": "1712345678.123456"},
        {"event_type": "message", "reaction": "tada"},
        {"event_type": "message", "text": "hi", "thread_ts": "1.2"},
        {"event_type": "message", "channel": "X0DEMO001", "user": "U0DEMOBOT"},
        {"event_type": "app_mention", "text": "<@U0DEMOBOT> hi", "channel_type": "im"},
    ],
    TriggerType.EMAIL: [
        {"from": "Alice <alice@example.com>", "to": ["bob@example.com"], "subject": "s"},
        {"from": "alice", "to": ["bob@example.com"]},
        {"from": "a@b.c", "cc": ["Carol <carol@example.com>", "nope"]},
        {"from": "a@b.c", "attachments": [{"name": "f", "content": "aGVsbG8"}]},
        {"from": "a@b.c", "attachments": ["f.txt", {"name": "g", "content": "aGk="}]},
        {"from": "a@b.c", "headers": {"X-Ok": "1", "Bad Name": "2"}},
        {"from": "a@b.c", "subject": "line\r\nBcc: x@example.com"},
    ],
    TriggerType.WEBHOOK: [
        {"method": "POST", "source_ip": "203.0.113.9"},
        {"method": "POST", "source_ip": "localhost"},
        {"method": "POST", "source_ip": "01.2.3.4"},
        {"method": "POST", "source_ip": "::ffff:1.2.3.4"},
        {"method": "FETCH"},
        {"method": "POST", "headers": {"X-A": "1\n2"}},
        {"method": "POST", "query_params": {"a": ["1", 2]}},
    ],
    TriggerType.CRON: [
        {"scheduled_time": "2026-11-02"},
        {"scheduled_time": "2026-11-02T09:00:00Z", "trigger_time": "2026-11-02 09:00"},
        {"scheduled_time": "2026-11-02T24:00:00"},
        {"scheduled_time": "2026-11-02T09:00:00+25:00"},
        {"execution_type": "sometimes"},
    ],
    TriggerType.MANUAL: [
        {"environment": "production", "version": "1.4"},
        {"environment": "moon"},
        {"version": "1.4.2"},
        {"environment": "staging", "fail": ""},
        {"environment": "staging", "fail": "x" * 201},
        {"environment": "staging", "notify": "yes", "extra": 1},
    ],
}


def golden_instances(trigger_type: TriggerType, schema: dict[str, Any]) -> Iterator[Any]:
    """The type's examples, each with every parameter (declared in any branch, or unknown) set
    to every bad value, or missing; and the hand-made parameters."""
    kind = KINDS[trigger_type]
    defaults = kind.default_parameters(registered_trigger(trigger_type).config)
    examples = [{**defaults, **e.parameters} for e in SPECS[trigger_type].parameter_examples]
    for example in examples:
        yield example
        for name in [*parameter_names(schema), "zz_unknown"]:
            yield from ({**example, name: value} for value in BAD_VALUES)
        yield from ({k: v for k, v in example.items() if k != name} for name in example)
    yield from ({**defaults, **hand_made} for hand_made in HAND_MADE[trigger_type])
    yield from HAND_MADE[trigger_type]


@pytest.mark.parametrize("trigger_type", list(TriggerType))
@pytest.mark.parametrize("which", ["spec", "demo"])
def test_the_verdicts_agree_on_examples_and_hand_made_parameters(
    trigger_type: TriggerType, which: str
) -> None:
    schema = SCHEMAS[f"{trigger_type.value} {which}"]
    instances = list(golden_instances(trigger_type, schema))
    found = [(i, d) for i in instances if (d := disagreement(schema, i))]
    assert found == []
    # Both verdicts occur: the cases test the fast path's refusals as well as its acceptances
    # (but MANUAL's spec takes any object).
    any_object = trigger_type is TriggerType.MANUAL and which == "spec"
    verdicts = {compiled_schema(schema).accepts(i) for i in instances}
    assert verdicts == ({True} if any_object else {True, False})


@pytest.mark.parametrize("trigger_type", list(TriggerType))
def test_the_verdicts_agree_on_configs(trigger_type: TriggerType) -> None:
    kind = KINDS[trigger_type]
    config = registered_trigger(trigger_type).config
    names = [*kind.config_schema.get("properties", {}), "zz_unknown"]
    configs = [config, *({**config, n: v} for n in names for v in BAD_VALUES)]
    assert [(c, d) for c in configs if (d := disagreement(kind.config_schema, c))] == []


# Generated parameters ----------------------------------------------------------------------

EDGE_TEXTS = [t for t in BAD_VALUES if isinstance(t, str)] + ["push", "message", "opened", "é"]
NAMES = ["a", "name", "event_type", "ref", "text", "zz_unknown", "X-Header"]
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(EDGE_TEXTS)
    | st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


def places(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a member or an item inside `value`."""
    members = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else []
    )
    for key, member in members:
        yield (*at, key)
        yield from places(member, (*at, key))


@st.composite
def broken(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, Any]:
    """Parameters the schema accepts, then changed one to three times: a parameter set to any
    JSON value, one removed, a value anywhere inside replaced."""
    parameters = copy.deepcopy(draw(parameters_of(schema)))
    for _ in range(draw(st.integers(1, 3))):
        change = draw(st.sampled_from(["set", "remove", "replace"]))
        inside = list(places(parameters))
        if change == "set" or not inside:
            name = draw(st.sampled_from([*parameter_names(schema), "zz_unknown"]))
            parameters[name] = draw(JSON_VALUES)
        elif change == "remove":
            del parameters[draw(st.sampled_from(sorted(parameters)))]
        else:
            *path, last = draw(st.sampled_from(inside))
            parent: Any = parameters
            for key in path:
                parent = parent[key]
            parent[last] = draw(JSON_VALUES)
    return parameters


class Tally:
    """Verdicts counted across a property's examples, of schemas with a fast path (the others
    are jsonschema's alone); a harmful disagreement fails at once."""

    def __init__(self) -> None:
        self.cases = self.accepted = self.harmless = 0

    def add(self, schema: Any, instance: Any) -> None:
        found = disagreement(schema, instance)
        assert found != "HARMFUL", (schema, instance)
        if compiled_schema(schema).fast is None:
            return
        self.cases += 1
        self.accepted += compiled_schema(schema).accepts(instance)
        self.harmless += found == "harmless"


PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.parametrize("trigger_type", list(TriggerType))
def test_the_verdicts_agree_on_generated_and_broken_parameters(trigger_type: TriggerType) -> None:
    schema = trigger_spec(demo_trigger(trigger_type)).parameter_schema
    tally = Tally()

    @given(st.one_of(parameters_of(schema), broken(schema)))
    @PROPERTY_SETTINGS
    def check(parameters: dict[str, Any]) -> None:
        tally.add(schema, parameters)

    check()
    assert tally.accepted > 0
    assert tally.harmless <= tally.cases // 50, vars(tally)


# Input schemas a MANUAL trigger declares ---------------------------------------------------

# Patterns in the syntax both engines read alike, and patterns outside it (which make their
# schema jsonschema's alone), among them ones only RE2 reads.
ALIKE_PATTERNS = [
    r"^[0-9]+\.[0-9]+\.[0-9]+$",
    r"^(a|aa)+$",
    r"^[a-z][a-z0-9_]{0,5}$",
    r"\d",
    r"^\w+$",
    r"^[^\r\n]*$",
    r"[\x00-\x1f]",
    r"^(?:ab|c)*?$",
    r"^.{2,4}$",
    r"^[\w.+-]+@[\w-]+\.[a-z]{2,}$",
    "",
]
OTHER_PATTERNS = [r"^\s+$", r"\bab", r"^\p{Lu}", r"(?i)^ab$", r"^\S+$", r"[[:alpha:]]", r"^a{,2}$"]
FORMAT_NAMES = [
    *("iso-date-time", "mailbox", "base64", "ipv4", "ipv6", "regex", "email"),
    *("date", "date-time", "time", "uri", "hostname", "uuid", "duration", "no-such-format"),
]
PATTERNS = st.sampled_from(ALIKE_PATTERNS + OTHER_PATTERNS)
FORMATS = st.sampled_from(FORMAT_NAMES)
TEXT_VALUES = [
    *EDGE_TEXTS,
    *("1.4.2", "a", "aa", "ab", "abc", "Ab", "x_1", "a.b@ex.com", "  ", "12", "P1D", "\t"),
    *("550e8400-e29b-41d4-a716-446655440000", "09:00:00Z", "example.com", "https://x.y/z"),
]
TEXTS = st.sampled_from(TEXT_VALUES)


@pytest.mark.parametrize(
    "keyword",
    [("pattern", p) for p in ALIKE_PATTERNS + OTHER_PATTERNS]
    + [("format", f) for f in FORMAT_NAMES],
)
def test_the_verdicts_agree_on_each_pattern_and_format_a_schema_may_declare(
    keyword: tuple[str, str],
) -> None:
    name, value = keyword
    field = {"type": "string", name: value}
    schemas: list[dict[str, Any]] = [
        {"type": "object", "properties": {"p": field}, "additionalProperties": False},
        {"type": "object", "properties": {"p": {"not": field}}},
    ]
    fast = [compiled_schema(schema).fast is not None for schema in schemas]
    assert fast == [value not in OTHER_PATTERNS] * 2
    found = [(s, t, d) for s in schemas for t in TEXT_VALUES if (d := disagreement(s, {"p": t}))]
    assert found == []


def property_schemas() -> st.SearchStrategy[dict[str, Any]]:
    scalar: st.SearchStrategy[Any] = st.none() | st.booleans() | st.integers(-3, 3) | TEXTS
    text = st.fixed_dictionaries(
        {"type": st.just("string")},
        optional={
            "pattern": PATTERNS,
            "format": FORMATS,
            "minLength": st.integers(0, 3),
            "maxLength": st.integers(0, 8),
        },
    )
    number = st.fixed_dictionaries(
        {"type": st.sampled_from(["integer", "number"])},
        optional={
            "minimum": st.integers(-5, 5) | st.floats(-5, 5),
            "exclusiveMaximum": st.integers(-5, 5),
        },
    )
    return st.one_of(
        text,
        number,
        st.just({"type": "boolean"}),
        st.fixed_dictionaries({"enum": st.lists(scalar, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"const": scalar}),
        st.fixed_dictionaries(
            {"type": st.just("array"), "items": text | number},
            optional={"maxItems": st.integers(0, 3), "uniqueItems": st.booleans()},
        ),
        FORMATS.map(lambda f: {"not": {"format": f}}),
        PATTERNS.map(lambda p: {"not": {"pattern": p}}),
        st.just({"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}),
    )


INPUT_NAMES = ["a", "env", "version", "Upper", "x y", "ab"]


@st.composite
def input_schemas(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(INPUT_NAMES), min_size=1, max_size=4, unique=True))
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: draw(property_schemas()) for name in names},
    }
    if draw(st.booleans()):
        schema["required"] = draw(st.lists(st.sampled_from(names), unique=True))
    if draw(st.booleans()):
        schema["patternProperties"] = {draw(PATTERNS): draw(property_schemas())}
    closing = draw(st.sampled_from([None, "additionalProperties", "unevaluatedProperties"]))
    if closing:
        schema[closing] = draw(st.sampled_from([False, {"type": "string"}]))
    if draw(st.booleans()):
        schema["$schema"] = JSON_SCHEMA_DIALECT
    return schema


def inputs(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    values = TEXTS | st.integers(-6, 6) | st.floats(-6, 6) | st.booleans() | st.none()
    names = st.sampled_from([*schema["properties"], "zz", "Upper2", "abc"])
    return st.dictionaries(names, values | st.lists(values, max_size=3), max_size=5)


def test_the_verdicts_agree_on_declared_input_schemas() -> None:
    tally, compiled, schemas = Tally(), 0, 0

    @given(st.data())
    @settings(
        max_examples=400,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(data: st.DataObject) -> None:
        nonlocal compiled, schemas
        schema = data.draw(input_schemas())
        assume(schema_problems(schema, "") == [])  # what a MANUAL trigger may declare
        schemas += 1
        compiled += compiled_schema(schema).fast is not None
        for instance in data.draw(st.lists(inputs(schema), min_size=1, max_size=5)):
            tally.add(schema, instance)

    check()
    assert compiled > schemas // 4, (compiled, schemas)
    assert tally.accepted > 0
    assert tally.harmless <= tally.cases // 50, vars(tally)


# Patterns ----------------------------------------------------------------------------------

ATOMS = [
    *("a", "b", "1", "é", "\u0663", " ", "-", "_", ".", r"\.", r"\-", r"\\", r"\/", r"\$"),
    *(r"\d", r"\D", r"\w", r"\W", r"\r", r"\n", r"\t", r"\f", r"\v", r"\x41", r"\x0b"),
    *("[a-c]", r"[^a\d]", r"[\w.+-]", "[^\n]", r"[\x00-\x1f]", "[é-ü]", r"[\]\\]", r"[^\W_]"),
]
QUANTIFIERS = ["*", "+", "?", "{2}", "{1,3}", "{0,}", "*?", "+?", "{1,2}?"]
GRAMMAR_PATTERNS = st.recursive(
    st.sampled_from(ATOMS),
    lambda inner: st.one_of(
        st.tuples(inner, inner).map("".join),
        st.tuples(inner, inner).map("|".join),
        inner.map(lambda p: f"({p})"),
        inner.map(lambda p: f"(?:{p})"),
        st.tuples(inner, st.sampled_from(QUANTIFIERS)).map(lambda q: f"(?:{q[0]}){q[1]}"),
    ),
    max_leaves=6,
).flatmap(lambda p: st.sampled_from([p, f"^{p}", f"{p}$", f"^{p}$"]))
PATTERN_TEXTS = st.text(alphabet="ab1Aé\u0663ü _-.$\\/\n\r\t\x0b\x0c\x1f\u00a0\u2028]", max_size=8)


@settings(max_examples=400, deadline=None)
@given(GRAMMAR_PATTERNS, PATTERN_TEXTS)
def test_patterns_of_the_shared_syntax_match_alike(pattern: str, text: str) -> None:
    try:
        expected = search(pattern, text)
    except RegexError:
        assume(False)  # not a pattern this service runs at all
    # (`&&`, `--`, `~~` anywhere are taken for the regex crate's operations on classes.)
    assume(not any(operation in pattern for operation in ("&&", "--", "~~")))
    matched = compiled_schema({"type": "string", "pattern": pattern})
    named = compiled_schema({"patternProperties": {pattern: False}})
    assert matched.fallback is None
    assert named.fallback is None
    assert matched.accepts(text) == expected
    assert named.accepts({text: 1}) == (not expected)


@pytest.mark.parametrize(
    "pattern", [r"^\d$", r"^\D$", r"^\w$", r"^\W$", r"^.$", r"^[^a]$", r"^[\w.+-]$", r"^[^\d]$"]
)
def test_class_escapes_mean_the_same_on_both_engines(pattern: str) -> None:
    # Every code point below U+3000 and a sample above (a sweep of all of them agreed).
    points = [*range(0x3000), *range(0x3000, 0x110000, 61)]
    compiled = compiled_schema({"pattern": pattern})
    differ = [
        hex(p)
        for p in points
        if not 0xD800 <= p <= 0xDFFF and compiled.accepts(chr(p)) != search(pattern, chr(p))
    ]
    assert differ == []


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ({"pattern": r"^\s$"}, "pattern"),  # Unicode spaces to jsonschema-rs, ASCII to RE2
        ({"pattern": r"\bé"}, "pattern"),
        ({"pattern": r"^\p{Lu}"}, "pattern"),
        ({"pattern": r"(?i)^k$"}, "pattern"),
        ({"patternProperties": {r"^\S": False}}, "pattern"),
        ({"pattern": r"[[:alpha:]]"}, "pattern"),
        ({"pattern": r"^\u0041$"}, "RE2 cannot run"),
        ({"multipleOf": 0.1}, "multipleOf"),
        ({"$schema": "http://json-schema.org/draft-07/schema#"}, "dialect"),
        ({"$ref": "https://example.com/schema.json"}, "not local"),
        ({"$dynamicRef": "#meta"}, "$dynamicRef"),
        ({"$id": "https://example.com/s", "type": "object"}, "$id"),
    ],
)
def test_what_may_differ_is_left_to_jsonschema(schema: dict[str, Any], reason: str) -> None:
    compiled = compiled_schema(schema)
    assert compiled.fast is None
    assert compiled.fallback is not None
    assert reason in compiled.fallback


class Level(enum.IntEnum):
    ONE = 1


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ({"type": "array"}, (1, 2)),  # an array to jsonschema-rs, not to jsonschema
        ({"not": {"minItems": 1}}, ()),
        ({"maximum": 5}, float("inf")),  # no number to jsonschema-rs
        ({"minimum": 5}, float("-inf")),
        ({"not": {"type": "number"}}, float("inf")),
        ({"maximum": 5}, float("nan")),
        ({"maxProperties": 1}, dict.fromkeys(["\ud800", "\ud801"], 1)),
        ({"type": "object", "properties": {"?": False}}, {"\ud800": 1}),
        ({"type": "string"}, "\ud800"),
        ({"type": "integer"}, Level.ONE),
        ({"type": "string"}, b"x"),
        ({"type": "array"}, nested(200)),
    ],
)
def test_values_read_otherwise_are_left_to_jsonschema(schema: Any, instance: Any) -> None:
    assert compiled_schema(schema).fast is not None
    assert not compiled_schema(schema).accepts(instance)
    assert validate(schema, instance) == jsonschema_errors(schema, instance)


# Linear time, and the cache ----------------------------------------------------------------


def test_the_compiled_patterns_run_in_linear_time() -> None:
    # `^(a|aa)+$` takes exponential time on a backtracking engine; jsonschema-rs's `regex`
    # engine, like RE2, takes linear time on this valid string and on it made invalid.
    text = "a" * 262_143
    schema = {
        "type": "object",
        "properties": {"code": {"type": "string", "pattern": "^(a|aa)+$"}},
        "patternProperties": {"^(a|aa)+$": {"type": "integer"}},
    }
    compiled = compiled_schema(schema)
    assert compiled.fast is not None
    started = time.perf_counter()
    assert compiled.accepts({"code": text, text: 1})
    assert not compiled.accepts({"code": text + "b"})
    assert not compiled.accepts({text: "not an integer"})
    assert validate(schema, {"code": text}) == []
    assert time.perf_counter() - started < 1.0


def test_a_schema_seen_again_is_not_serialised_again(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = {"type": "object", "properties": {"fresh": {"type": "integer"}}}
    first = compiled_schema(schema)
    assert compiled_schema(json.loads(json.dumps(schema))) is first  # equal: compiled once

    def refuse(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("serialised again")

    monkeypatch.setattr(json, "dumps", refuse)  # (the module validation reads it from)
    assert compiled_schema(schema) is first
    assert validate(schema, {"fresh": 1}) == []
