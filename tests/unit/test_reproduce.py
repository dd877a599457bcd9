"""Reproducing a recorded event: each type's `params_from` (the inverse of `resolve`) gives
parameters that resolve again to the event's meaningful content, redacted or not, and that the
invoke path accepts; `reproduction` picks what an execution's parameters are.

What is meaningful is defined here per type, from what the event says, not from how the
resolver builds it: what differs between two resolutions of the same parameters (the
request's own time, ids derived from its invocation id) is left out, and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from contracts.kinds import SPECS
from contracts.models import TriggerEvent, TriggerType
from contracts.specs import Trigger
from contracts.triggers import trigger_redaction, trigger_spec
from contracts.validation import validate
from tests.factories import FIXED_TIME
from tests.unit.resolver_helpers import registered_request, registered_trigger
from tests.unit.test_resolver_properties import with_edges
from tests.unit.test_resolvers import json_values
from worker import store
from worker.reproduce import reproduction
from worker.resolvers import RESOLVERS, InvalidInvocation, prepare_invocation
from worker.safety import MAX_DEPTH, url_errors
from worker.suspicious import suspicious_content

# --- what an event of each type says -------------------------------------------------------


def _without(document: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in names}


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _cron(data: dict[str, Any]) -> Any:
    return {
        **_without(data, "scheduled_time", "trigger_time"),
        "scheduled_time": _instant(data["scheduled_time"]),  # the same moment, however spelt
        "trigger_time": _instant(data["trigger_time"]),
    }


def _webhook(data: dict[str, Any]) -> Any:
    # Method, URL, query, client, the exact body bytes, every header (the signature too: it
    # signs the same bytes with the same secret).
    return _without(data, "trigger_time")


def _email(data: dict[str, Any]) -> Any:
    # Date and Message-ID are the request's; the MIME boundaries in Content-Type derive from it.
    headers = {
        name: value
        for name, value in data["headers"].items()
        if name.lower() not in ("date", "message-id") and not name.lower().startswith("content-")
    }
    return {**_without(data, "received_at", "message_id", "raw_message"), "headers": headers}


def _github(data: dict[str, Any]) -> Any:
    payload = dict(data["payload"])
    if isinstance(payload.get("hook"), dict):  # a ping's hook: its times are the request's
        payload["hook"] = _without(payload["hook"], "created_at", "updated_at")
    return {
        **_without(data, "delivery_id", "headers", "raw_body", "received_at", "payload"),
        "payload": payload,
        "event": data["headers"]["X-GitHub-Event"],
    }


def _slack(data: dict[str, Any]) -> Any:
    # The message's time and client id are the request's, its blocks are made from its text.
    event = _without(data["payload"]["event"], "ts", "event_ts", "client_msg_id", "blocks")
    envelope = _without(data["payload"], "event", "event_id", "event_time", "token")
    return {"event": event, "envelope": envelope, "summary": data["event_type"]}


def _manual(data: dict[str, Any]) -> Any:
    return data["inputs"]


MEANINGFUL: dict[TriggerType, Callable[[dict[str, Any]], Any]] = {
    TriggerType.CRON: _cron,
    TriggerType.WEBHOOK: _webhook,
    TriggerType.EMAIL: _email,
    TriggerType.GITHUB: _github,
    TriggerType.SLACK: _slack,
    TriggerType.MANUAL: _manual,
}


def test_every_registered_type_says_what_is_meaningful_in_its_events() -> None:
    assert set(MEANINGFUL) == set(TriggerType)


# --- the round trip ----------------------------------------------------------------------------


def resolved(trigger: Trigger, parameters: dict[str, Any], **request: Any) -> TriggerEvent:
    return prepare_invocation(
        registered_request(trigger.type, parameters=parameters, **request), trigger
    ).event


def shown(trigger: Trigger, data: dict[str, Any]) -> dict[str, Any]:
    """The trigger data as an execution shows it: redacted."""
    redacted: dict[str, Any] = trigger_redaction(trigger).record({"trigger_data": data})
    return redacted["trigger_data"]


def assert_sendable(trigger: Trigger, parameters: dict[str, Any]) -> None:
    """What the invoke path checks before it resolves: the trigger's own schema, the URLs, the
    suspicious-content patterns."""
    schema = trigger_spec(trigger).parameter_schema
    assert validate(schema, parameters) == []
    assert url_errors(parameters, "") == []
    assert suspicious_content(trigger.type, trigger.config, parameters) == []


def assert_reproduced(trigger: Trigger, original: TriggerEvent) -> dict[str, Any]:
    """From the event as recorded and as shown, parameters that the invoke path accepts and
    that resolve (another request, another day, another user) to the same meaningful event."""
    meaningful = MEANINGFUL[trigger.type]
    found = []
    for data in (original.trigger_data, shown(trigger, original.trigger_data)):
        parameters = RESOLVERS[trigger.type].params_from(data, trigger.config)
        assert_sendable(trigger, parameters)
        again = resolved(
            trigger,
            parameters,
            requested_at=FIXED_TIME + timedelta(days=3, hours=5),
            user_id="someone-else",
        )
        assert meaningful(again.trigger_data) == meaningful(original.trigger_data)
        found.append(parameters)
    assert found[0] == found[1]  # nothing meaningful is hidden by the redaction
    return found[0]


EXAMPLES = [(t, e) for t in SPECS for e in SPECS[t].parameter_examples]


@pytest.mark.parametrize(
    ("trigger_type", "example"), EXAMPLES, ids=lambda v: getattr(v, "name", str(v))
)
def test_every_example_of_every_type_is_reproduced(trigger_type: TriggerType, example: Any) -> None:
    trigger = registered_trigger(trigger_type)
    assert_reproduced(trigger, resolved(trigger, example.parameters))


@pytest.mark.parametrize("trigger_type", list(TriggerType))
def test_schema_generated_parameters_are_reproduced(trigger_type: TriggerType) -> None:
    trigger = registered_trigger(trigger_type)
    schema = {k: v for k, v in trigger_spec(trigger).parameter_schema.items() if k != "$schema"}

    @given(st.one_of(from_schema(schema), with_edges(schema)))
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(parameters: dict[str, Any]) -> None:
        try:
            original = resolved(trigger, parameters)
        except InvalidInvocation:
            assume(False)  # refused parameters make no event to reproduce
            return
        assert_reproduced(trigger, original)

    check()


def mutations(document: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """The document with any of its members, at any depth, left out or replaced by anything."""
    if not isinstance(document, dict) or depth > 4:
        return json_values
    members = {k: st.just(v) | mutations(v, depth + 1) for k, v in document.items()}
    return st.fixed_dictionaries({}, optional=members) | json_values


@pytest.mark.parametrize(
    ("trigger_type", "example"), EXAMPLES, ids=lambda v: getattr(v, "name", str(v))
)
def test_whatever_a_record_holds_its_reading_is_sendable(
    trigger_type: TriggerType, example: Any
) -> None:
    # Real ingresses publish what they like: params_from never fails, and never gives what
    # the invoke path would refuse.
    trigger = registered_trigger(trigger_type)
    resolver = RESOLVERS[trigger_type]
    recorded = resolved(trigger, example.parameters).trigger_data

    @given(st.dictionaries(st.text(max_size=6), json_values, max_size=3), mutations(recorded))
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def check(extra: dict[str, Any], data: Any) -> None:
        data = {**extra, **data} if isinstance(data, dict) else extra
        parameters = resolver.params_from(data, trigger.config)
        defaults = resolver.default_parameters(trigger.config)
        assert validate(trigger_spec(trigger).parameter_schema, {**defaults, **parameters}) == []
        assert url_errors(parameters, "") == []
        assert suspicious_content(trigger_type, trigger.config, parameters) == []

    check()


def test_a_value_that_cannot_be_sent_again_is_left_out_not_sent_invalid() -> None:
    trigger = registered_trigger(TriggerType.WEBHOOK)
    data = resolved(trigger, {"headers": {"X-Source": "cli"}}).trigger_data
    data = {
        **data,
        "method": "BREW",  # no HTTP method a request may name
        "source_ip": "not an address",
        "query_params": {"ok": "1", "bad": {"nested": True}},
        "headers": {**data["headers"], "X-Script": "<script>alert(1)</script>"},
    }
    parameters = RESOLVERS[TriggerType.WEBHOOK].params_from(data, trigger.config)
    assert "method" not in parameters and "source_ip" not in parameters
    assert parameters["query_params"] == {"ok": "1"}
    assert "X-Script" not in parameters["headers"]
    assert parameters["headers"]["X-Source"] == "cli"


# --- which parameters an execution has ---------------------------------------------------------


def execution(event: TriggerEvent, **changes: Any) -> store.Execution:
    """The event's row as the scheduler writes it: redacted where its trigger says."""
    row = {
        "execution_id": "exec_1",
        "event_id": event.event_id,
        "workflow_id": event.workflow_id,
        "trigger_id": event.trigger_id,
        "trigger_type": event.trigger_type.value,
        "status": "pending",
        "trigger_data": event.trigger_data,
        "input_data": event.input_data,
        "metadata": event.metadata,
        "created_at": FIXED_TIME,
    }
    return store.Execution(**{**row, **changes})


def test_a_manual_run_is_reproduced_by_its_own_parameters_as_its_trigger_shows_them() -> None:
    trigger = registered_trigger(TriggerType.WEBHOOK)
    given = {
        "body": {"n": 1},
        "headers": {"X-Source": "cli", "Authorization": "Bearer typed-by-the-user"},
    }
    event = resolved(trigger, given)
    # What it was invoked with (over the defaults), not what a reading of its event would give
    # (its User-Agent, say); and no header the trigger's redaction hides, as in its trigger data
    defaults = RESOLVERS[TriggerType.WEBHOOK].default_parameters(trigger.config)
    expected = {**defaults, "body": {"n": 1}, "headers": {"X-Source": "cli"}}
    assert reproduction(execution(event), trigger) == expected
    assert event.trigger_data["headers"]["Authorization"] == "Bearer typed-by-the-user"
    # (its trigger gone, the headers every trigger hides are still hidden)
    assert reproduction(execution(event), None) == expected


def test_a_real_event_is_reproduced_by_reading_its_trigger_data() -> None:
    trigger = registered_trigger(TriggerType.SLACK)
    manual = resolved(trigger, {"text": "hello", "event_type": "message"})
    real = manual.model_copy(update={"metadata": {"ingress": "slack-gateway"}})
    found = reproduction(execution(real), trigger)
    assert found == RESOLVERS[TriggerType.SLACK].params_from(real.trigger_data, trigger.config)
    assert found is not None and found["text"] == "hello"
    # Nothing to read it with: its trigger gone, or of another type now
    assert reproduction(execution(real), None) is None
    other = registered_trigger(TriggerType.WEBHOOK)
    assert reproduction(execution(real), Trigger(**{**vars(other), "id": trigger.id})) is None


def test_a_replay_is_reproduced_by_the_event_it_replayed() -> None:
    # A replay's own parameters are edits of the dead letter (`set`), not the trigger's
    trigger = registered_trigger(TriggerType.WEBHOOK)
    event = resolved(trigger, {"body": {"order": 7}})
    metadata = {**event.metadata, "replay_of": "evt-dead", "simulated_parameters": {"set": {}}}
    found = reproduction(execution(event, metadata=metadata), trigger)
    assert found is not None and found["body"] == {"order": 7}


def test_an_event_deeper_than_any_request_is_not_read() -> None:
    trigger = registered_trigger(TriggerType.MANUAL)
    deep: Any = "bottom"
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    event = resolved(trigger, {}).model_copy(update={"metadata": {}})
    assert reproduction(execution(event, trigger_data={"inputs": {"x": deep}}), trigger) is None
