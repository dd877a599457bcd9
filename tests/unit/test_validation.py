"""Validation reports every problem at a JSON pointer path."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from contracts.validation import from_pydantic, pointer, schema_problems, validate

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["a/b", "c"],
    "properties": {
        "a/b": {"type": "integer"},
        "c": {"type": "array", "items": {"type": "string"}},
        "t~": {"type": "string"},
    },
}


def test_pointer_escapes_slash_and_tilde() -> None:
    assert pointer(["a/b", "t~", 0]) == "/a~1b/t~0/0"
    assert pointer([]) == ""


def test_required_properties_are_reported_at_their_own_path() -> None:
    errors = validate(SCHEMA, {}, "/parameters")
    assert [(e.path, e.code) for e in errors] == [
        ("/parameters/a~1b", "required"),
        ("/parameters/c", "required"),
    ]


def test_every_error_is_reported_not_just_the_first() -> None:
    errors = validate(SCHEMA, {"a/b": "x", "c": ["ok", 3], "zz": 1, "t~": 2})
    assert sorted((e.path, e.code) for e in errors) == [
        ("/a~1b", "type"),
        ("/c/1", "type"),
        ("/t~0", "type"),
        ("/zz", "unknown"),
    ]


def test_valid_instance_has_no_errors() -> None:
    assert validate(SCHEMA, {"a/b": 1, "c": []}) == []


def test_schema_problems_point_into_the_schema() -> None:
    problems = schema_problems({"type": "object", "properties": {"x": {"type": 3}}}, "/s")
    assert problems
    assert problems[0].code == "invalid_schema"
    assert problems[0].path.startswith("/s/properties/x")


def test_pydantic_errors_become_field_errors() -> None:
    class Body(BaseModel):
        items: list[int]

    try:
        Body.model_validate({"items": [1, "x"]})
    except ValidationError as exc:
        errors = from_pydantic(exc, "/body")
    assert [e.path for e in errors] == ["/body/items/1"]


# A pattern only RE2 reads (`re` has no `\p{…}`): a keyword that fell back to `re` would fail.
RE2_ONLY = r"^\p{Lu}"
BRANCHED = {
    "type": "object",
    "unevaluatedProperties": False,
    "properties": {"kind": {"type": "string"}},
    "patternProperties": {RE2_ONLY: {"type": "integer"}},
    "allOf": [
        {
            "if": {"properties": {"kind": {"const": "a"}}, "required": ["kind"]},
            "then": {"properties": {"name": {"type": "string", "pattern": RE2_ONLY}}},
        }
    ],
}


def test_unevaluated_properties_run_on_re2_beside_pattern_properties() -> None:
    assert schema_problems(BRANCHED, "/s") == []
    assert validate(BRANCHED, {"kind": "a", "name": "Ann", "Upper": 1}) == []
    errors = validate(BRANCHED, {"kind": "a", "name": "ann", "Upper": "x", "lower": 1})
    assert sorted((e.path, e.code) for e in errors) == [
        ("/Upper", "type"),
        ("/lower", "unknown"),
        ("/name", "pattern"),
    ]


def test_an_unevaluated_member_is_reported_at_itself_saying_why() -> None:
    errors = validate(BRANCHED, {"kind": "b", "name": "Ann", "x~y": 1}, "/parameters")
    assert [(e.path, e.code, e.message) for e in errors] == [
        ("/parameters/name", "unknown", "'name' does not apply when kind is 'b'"),
        ("/parameters/x~0y", "unknown", "unknown parameter 'x~y'"),
    ]


def test_unevaluated_members_are_checked_against_a_schema_when_it_is_one() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {}},
        "unevaluatedProperties": {"type": "string"},
    }
    assert validate(schema, {"a": 1, "b": "ok"}) == []
    assert [(e.path, e.code) for e in validate(schema, {"b": 2})] == [("/b", "type")]


def test_only_the_passing_alternatives_of_an_any_of_evaluate_members() -> None:
    schema = {
        "type": "object",
        "unevaluatedProperties": False,
        "anyOf": [
            {"properties": {"a": {"type": "string"}}},
            {"properties": {"b": {"type": "string"}}},
        ],
    }
    assert validate(schema, {"a": "x", "b": "y"}) == []
    assert [(e.path, e.code) for e in validate(schema, {"a": "x", "b": 2})] == [("/b", "unknown")]


def test_a_one_of_of_titled_constants_is_reported_as_an_enum() -> None:
    schema = {"oneOf": [{"const": "im", "title": "Direct message"}, {"const": "channel"}]}
    assert [(e.code, e.message) for e in validate(schema, "dm")] == [
        ("enum", "'dm' is not one of ['im', 'channel']")
    ]


def test_members_a_reference_or_a_dependent_schema_declares_are_evaluated() -> None:
    schema = {
        "$defs": {"base": {"properties": {"a": {"type": "string"}}}},
        "$ref": "#/$defs/base",
        "dependentSchemas": {"a": {"properties": {"b": {}}}},
        "unevaluatedProperties": False,
    }
    assert validate(schema, {"a": "x", "b": 1}) == []
    assert [(e.path, e.code) for e in validate(schema, {"b": 1, "c": 2})] == [
        ("/b", "unknown"),
        ("/c", "unknown"),
    ]
