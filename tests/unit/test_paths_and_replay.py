"""Typed paths (`a.b.0` or `/a/b/0`) and the replay resolution of a dead-lettered event."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.models import InvocationSource, ManualInvocationMetadata, TriggerEvent, TriggerType
from tests.factories import FIXED_TIME, demo_request, demo_trigger
from worker.paths import get_path, parse_assignment, parse_path, parse_value, set_path
from worker.resolvers import InvalidInvocation, prepare_invocation


@pytest.mark.parametrize(
    ("text", "segments"),
    [("a.b.0", ["a", "b", "0"]), ("/a/b~1c/d~0e", ["a", "b/c", "d~e"]), ("x", ["x"])],
)
def test_paths_parse_dotted_and_pointer_forms(text: str, segments: list[str]) -> None:
    assert parse_path(text) == segments


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("3", 3),
        ('{"a": [1]}', {"a": [1]}),
        ('"quoted"', "quoted"),
        ("plain text", "plain text"),
        ("", ""),
    ],
)
def test_values_are_json_when_they_parse(text: str, value: Any) -> None:
    assert parse_value(text) == value


def test_assignments_set_nested_values_and_replace_list_items() -> None:
    document: dict[str, Any] = {"list": [1, 2]}
    for assignment in ("headers.X-Source=cli", "body.n=3", "list.1=9", "/body/deep/er=x"):
        segments, value = parse_assignment(assignment)
        set_path(document, segments, value)
    assert document == {
        "list": [1, 9],
        "headers": {"X-Source": "cli"},
        "body": {"n": 3, "deep": {"er": "x"}},
    }
    assert get_path(document, ["list", "1"]) == 9
    with pytest.raises(KeyError):
        get_path(document, ["body", "missing"])
    with pytest.raises(ValueError, match="PATH=VALUE"):
        parse_assignment("no-equals-sign")
    with pytest.raises(KeyError):
        set_path(document, ["body", "n", "below-a-number"], 1)


def dead_event(**fields: Any) -> TriggerEvent:
    base: dict[str, Any] = {
        "event_id": "real-1",
        "workflow_id": "wf_demo",
        "trigger_id": "trig_webhook_1",
        "trigger_type": TriggerType.WEBHOOK,
        "occurred_at": "2026-11-20T08:00:00Z",
        "trigger_data": {"body": {"n": 1}, "raw_body": '{"n":1}'},
        "input_data": {"n": 1},
        "metadata": {"ingress": "gateway"},
    }
    return TriggerEvent.model_validate({**base, **fields})


def replay(edits: dict[str, Any] | None = None, **event: Any) -> Any:
    request = demo_request(
        TriggerType.WEBHOOK,
        replay_of=dead_event(**event),
        source=InvocationSource.REPLAY,
        parameters={"set": edits} if edits is not None else {},
    )
    return prepare_invocation(request, demo_trigger(TriggerType.WEBHOOK))


def test_a_replay_emits_the_original_data_as_a_new_marked_event() -> None:
    prepared = replay()
    event = prepared.event
    assert event.event_id != "real-1" and event.occurred_at == FIXED_TIME
    assert event.trigger_data == dead_event().trigger_data
    assert event.input_data == {"n": 1}
    assert event.metadata["ingress"] == "gateway"
    assert event.metadata["original_occurred_at"] == "2026-11-20T08:00:00+00:00"
    metadata = ManualInvocationMetadata.model_validate(event.metadata)
    assert (metadata.replay_of, metadata.source) == ("real-1", InvocationSource.REPLAY)
    assert prepared.warnings == []


def test_replay_edits_apply_and_warn_when_a_signed_body_is_edited() -> None:
    prepared = replay({"/trigger_data/body/n": 2, "/input_data": {"n": 2}})
    assert prepared.event.trigger_data["body"] == {"n": 2}
    assert prepared.event.input_data == {"n": 2}
    assert prepared.warnings == [
        "edited a signed event: raw_body and its signature are the original's"
    ]


@pytest.mark.parametrize(
    ("edits", "event", "path"),
    [
        ({"/event_id": "x"}, {}, "/parameters/set/~1event_id"),
        ({"/trigger_data/body/n/deeper": 1}, {}, "/parameters/set/~1trigger_data~1body~1n~1deeper"),
        ({"/trigger_data/hook": "http://127.0.0.1/"}, {}, "/parameters/set/~1trigger_data~1hook"),
        ({}, {"trigger_id": "trig_other"}, "/replay_of"),
        ({}, {"trigger_type": TriggerType.GITHUB}, "/replay_of"),
    ],
    ids=["not-editable", "below-a-number", "unsafe-url", "other-trigger", "other-type"],
)
def test_bad_replays_are_refused_with_paths(
    edits: dict[str, Any], event: dict[str, Any], path: str
) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        replay(edits, **event)
    assert [e.path for e in exc.value.errors] == [path]
