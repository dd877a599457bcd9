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
