"""The trigger types' parameter schemas say enough for a form made from them: a title and a
description on every field, the formats the worker checks, per-event fields, long texts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contracts.kinds import KINDS, SPECS
from contracts.models import TriggerType
from contracts.triggers import trigger_spec
from contracts.validation import schema_problems, validate
from tests.unit.resolver_helpers import registered_trigger


def fields(schema: Any, at: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema a form draws as a field (each property, array item and value of a map),
    with where it is, through nested objects and every branch."""
    if not isinstance(schema, dict):
        return
    drawn = [(f"{at}/{name}", prop) for name, prop in schema.get("properties", {}).items()]
    drawn += [(f"{at}/items", schema["items"])] if isinstance(schema.get("items"), dict) else []
    if isinstance(schema.get("additionalProperties"), dict):
        drawn.append((f"{at}/additionalProperties", schema["additionalProperties"]))
    for where, field in drawn:
        yield where, field
        yield from fields(field, where)
    for keyword in ("anyOf", "oneOf", "allOf"):
        for i, branch in enumerate(schema.get(keyword, [])):
            yield from fields(branch, f"{at}/{keyword}/{i}")
    for keyword in ("then", "else"):
        yield from fields(schema.get(keyword), f"{at}/{keyword}")


# Each type's spec, its kind's schema for its example config, and the demo trigger's.
SCHEMAS = {
    **{f"{t.value} spec": SPECS[t].parameter_schema for t in TriggerType},
    **{f"{t.value} example": k.parameter_schema(k.example_config) for t, k in KINDS.items()},
    **{f"{t.value} demo": trigger_spec(registered_trigger(t)).parameter_schema for t in KINDS},
}


@pytest.mark.parametrize("name", [n for n in SCHEMAS if n != "MANUAL demo"])
def test_every_field_has_a_title_and_a_description(name: str) -> None:
    # (Not the demo MANUAL trigger's: its config declares those inputs, not this code.)
    schema = SCHEMAS[name]
    untitled = [at for at, field in fields(schema) if not field.get("title")]
    undescribed = [at for at, field in fields(schema) if not field.get("description")]
    assert (untitled, undescribed) == ([], [])


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_schema_is_one_a_declared_input_schema_could_be(name: str) -> None:
    assert schema_problems(SCHEMAS[name], "") == []


def test_every_branch_says_what_it_is_for() -> None:
    for trigger_type in (TriggerType.GITHUB, TriggerType.SLACK):
        for entry in SPECS[trigger_type].parameter_schema["allOf"]:
            assert entry["then"]["title"] and entry["then"]["description"], entry["if"]


@pytest.mark.parametrize(
    ("trigger_type", "example"),
    [(t, e) for t in TriggerType for e in SPECS[t].parameter_examples],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_every_spec_example_is_valid_for_the_demo_trigger(
    trigger_type: TriggerType, example: Any
) -> None:
    # trigger_spec leaves out an example its trigger's schema refuses, without a word.
    trigger = registered_trigger(trigger_type)
    kind = KINDS[trigger_type]
    parameters = {**kind.default_parameters(trigger.config), **example.parameters}
    assert validate(kind.parameter_schema(trigger.config), parameters) == []
    assert example in trigger_spec(trigger).parameter_examples


def test_a_github_trigger_offers_only_its_events_and_their_fields() -> None:
    config = {"repository": "octo/repo", "event_types": ["pull_request", "deployment", "push"]}
    schema = KINDS[TriggerType.GITHUB].parameter_schema(config)
    event_type = schema["properties"]["event_type"]
    assert (event_type["enum"], event_type["default"]) == (config["event_types"], "pull_request")
    assert [entry["then"]["title"] for entry in schema["allOf"]] == [
        "Push",
        "Pull request",
        "Other event",
    ]
    assert set(schema["properties"]) == {"event_type", "repository", "sender", "payload"}
    assert schema["unevaluatedProperties"] is False and "additionalProperties" not in schema


def test_a_github_trigger_of_any_event_keeps_the_event_type_free() -> None:
    schema = KINDS[TriggerType.GITHUB].parameter_schema({"repository": "o/r", "event_types": ["*"]})
    assert "enum" not in schema["properties"]["event_type"]
    assert validate(schema, {"event_type": "deployment_status", "action": "created"}) == []
    assert len(schema["allOf"]) == 7


@pytest.mark.parametrize(
    ("parameters", "errors"),
    [
        ({"event_type": "push", "ref": "refs/heads/main", "before": "abc123"}, []),
        (
            {"event_type": "push", "number": 4},
            [("/number", "unknown", "'number' does not apply when event_type is 'push'")],
        ),
        (
            {"event_type": "issues", "action": "synchronize"},
            [("/action", "enum", None)],
        ),
        (
            {"event_type": "release", "tag_name": 3, "head_ref": "x"},
            [
                ("/head_ref", "unknown", "'head_ref' does not apply when event_type is 'release'"),
                ("/tag_name", "type", None),
            ],
        ),
        ({"event_type": "ping", "zz": 1}, [("/zz", "unknown", "unknown parameter 'zz'")]),
        # A field of a failing branch is reported by that branch, not once more as unknown.
        ({"event_type": "push", "before": "xyz"}, [("/before", "pattern", None)]),
    ],
)
def test_github_fields_apply_per_event(
    parameters: dict[str, Any], errors: list[tuple[str, str, str | None]]
) -> None:
    schema = trigger_spec(registered_trigger(TriggerType.GITHUB)).parameter_schema
    found = sorted((e.path, e.code, e.message) for e in validate(schema, parameters))
    assert [(path, code) for path, code, _ in found] == [(path, code) for path, code, _ in errors]
    for (_, _, message), (_, _, expected) in zip(found, errors, strict=True):
        assert expected is None or message == expected


def test_slack_fields_apply_per_event() -> None:
    schema = KINDS[TriggerType.SLACK].parameter_schema({"event_types": ["reaction_added"]})
    assert schema["properties"]["event_type"]["enum"] == ["reaction_added"]
    assert [entry["then"]["title"] for entry in schema["allOf"]] == ["Reaction added"]
    parameters = {"event_type": "reaction_added", "reaction": "tada", "thread_ts": None}
    assert [(e.path, e.code) for e in validate(schema, parameters)] == [("/thread_ts", "unknown")]
    # A message's text is a message's own: a reaction has none, a message has no emoji
    reaction = {"event_type": "reaction_added", "text": "hi"}
    assert [(e.path, e.code) for e in validate(schema, reaction)] == [("/text", "unknown")]
    messages = KINDS[TriggerType.SLACK].parameter_schema({"event_types": ["message"]})
    message = {"event_type": "message", "reaction": "tada"}
    assert [(e.path, e.code) for e in validate(messages, message)] == [("/reaction", "unknown")]


@pytest.mark.parametrize(
    ("trigger_type", "path", "media_type"),
    [
        (TriggerType.EMAIL, "/body", "text/plain"),
        (TriggerType.EMAIL, "/body_html", "text/html"),
        (TriggerType.SLACK, "/allOf/0/then/text", "text/plain"),
        (TriggerType.SLACK, "/allOf/1/then/text", "text/plain"),
        (TriggerType.GITHUB, "/allOf/1/then/body", "text/markdown"),
        (TriggerType.GITHUB, "/allOf/2/then/body", "text/markdown"),
        (TriggerType.GITHUB, "/allOf/3/then/body", "text/markdown"),
        (TriggerType.GITHUB, "/allOf/0/then/commits/items/message", "text/plain"),
    ],
)
def test_long_texts_say_their_media_type(
    trigger_type: TriggerType, path: str, media_type: str
) -> None:
    found = dict(fields(SPECS[trigger_type].parameter_schema))
    assert found[path]["contentMediaType"] == media_type


@pytest.mark.parametrize(
    ("trigger_type", "path", "format_name"),
    [
        (TriggerType.CRON, "/scheduled_time", "iso-date-time"),
        (TriggerType.CRON, "/trigger_time", "iso-date-time"),
        (TriggerType.EMAIL, "/from", "mailbox"),
        (TriggerType.EMAIL, "/to/items", "mailbox"),
        (TriggerType.EMAIL, "/cc/items", "mailbox"),
        (TriggerType.EMAIL, "/attachments/items/anyOf/1/content", "base64"),
        (TriggerType.GITHUB, "/allOf/0/then/commits/items/timestamp", "iso-date-time"),
    ],
)
def test_formats_are_declared_where_the_worker_checks_them(
    trigger_type: TriggerType, path: str, format_name: str
) -> None:
    found = dict(fields(SPECS[trigger_type].parameter_schema))
    assert found[path]["format"] == format_name
