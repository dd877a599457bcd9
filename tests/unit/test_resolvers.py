"""Resolvers are pure: the same request and config give the same event, with no I/O."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.ids import manual_event_id
from contracts.models import ManualInvocationMetadata, TriggerEvent, TriggerType
from contracts.specs import SPECS
from tests.factories import FIXED_TIME, invoke_request, trigger
from worker.redaction import REDACTED
from worker.resolvers import RESOLVERS, InvalidInvocation, prepare_invocation, trigger_spec
from worker.resolvers.webhook import merge_headers

DEPLOY_INPUTS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["environment"],
    "properties": {
        "environment": {"type": "string", "enum": ["staging", "production"], "default": "staging"},
        "version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
        "notify": {"type": "boolean", "default": True},
    },
}


def paths(exc: pytest.ExceptionInfo[InvalidInvocation]) -> list[str]:
    return [error.path for error in exc.value.errors]


def test_webhook_event_has_every_field_of_a_real_request() -> None:
    config = {"webhook_url": "/webhook/abc", "secret": "s3cr3t-value"}
    request = invoke_request(
        parameters={"body": {"test": True}, "headers": {"X-Source": "manual-test"}},
        description="Testing deployment webhook",
    )
    prepared = prepare_invocation(request, trigger(config=config))
    event = prepared.event
    assert event.trigger_type is TriggerType.WEBHOOK
    assert event.event_id == manual_event_id(request.invocation_id)
    assert event.occurred_at == FIXED_TIME
    assert event.trigger_data == {
        "method": "POST",
        "headers": {
            "Content-Type": "application/json",
            "User-Agent": "Manual-Trigger-System/1.0",
            "X-Source": "manual-test",
            "X-Manual-Invocation": "true",
        },
        "body": {"test": True},
        "query_params": {},
        "source_ip": "127.0.0.1",
        "webhook_url": "/webhook/abc",
        "trigger_time": FIXED_TIME.isoformat(),
    }
    assert event.input_data == {"test": True}
    assert prepared.resolved_parameters == event.trigger_data
    metadata = ManualInvocationMetadata.model_validate(event.metadata)
    assert metadata.trigger_type == "MANUAL_INVOCATION"
    assert metadata.original_trigger_type is TriggerType.WEBHOOK
    assert metadata.initiated_by == "demo-user"
    assert metadata.invocation_description == "Testing deployment webhook"
    assert event.metadata["original_webhook_config"]["secret"] == REDACTED
    assert "s3cr3t-value" not in event.model_dump_json()


def test_resolution_is_pure() -> None:
    request = invoke_request(parameters={"body": [1, "two"], "method": "PUT"})
    first = prepare_invocation(request, trigger()).event
    second = prepare_invocation(request.model_copy(), trigger()).event
    assert first.body() == second.body()


def test_headers_merge_case_insensitively_and_the_marker_cannot_be_removed() -> None:
    config = {"headers": {"x-team": "core", "user-agent": "Ingress/2"}}
    request = invoke_request(
        parameters={"headers": {"content-type": "text/plain", "X-Manual-Invocation": "false"}}
    )
    headers = prepare_invocation(request, trigger(config=config)).event.trigger_data["headers"]
    assert headers == {
        "content-type": "text/plain",
        "user-agent": "Ingress/2",
        "x-team": "core",
        "X-Manual-Invocation": "true",
    }


def test_merge_headers_keeps_the_winning_spelling() -> None:
    assert merge_headers({"A-B": "1"}, {"a-b": "2"}) == {"a-b": "2"}


def test_webhook_method_defaults_to_the_trigger_config() -> None:
    event = prepare_invocation(invoke_request(), trigger(config={"method": "PUT"})).event
    assert event.trigger_data["method"] == "PUT"


@pytest.mark.parametrize(
    ("parameters", "expected_paths"),
    [
        ({"method": "TELEPORT"}, ["/parameters/method"]),
        ({"source_ip": "not-an-ip"}, ["/parameters/source_ip"]),
        ({"headers": {"X-Count": 3}}, ["/parameters/headers/X-Count"]),
        ({"query_params": {"a": {"b": 1}}}, ["/parameters/query_params/a"]),
        ({"bogus": 1, "other": 2}, ["/parameters/bogus", "/parameters/other"]),
        ({"method": 1, "headers": []}, ["/parameters/headers", "/parameters/method"]),
    ],
)
def test_invalid_webhook_parameters_are_reported_with_paths(
    parameters: dict[str, Any], expected_paths: list[str]
) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        prepare_invocation(invoke_request(parameters=parameters), trigger())
    assert sorted(set(paths(exc))) == expected_paths


def test_ipv6_source_address_is_accepted() -> None:
    event = prepare_invocation(invoke_request(parameters={"source_ip": "2001:db8::1"}), trigger())
    assert event.event.trigger_data["source_ip"] == "2001:db8::1"


def manual_trigger(input_schema: Any = DEPLOY_INPUTS) -> Any:
    return trigger(TriggerType.MANUAL, {"input_schema": input_schema}, "trig_manual_1")


def test_manual_inputs_take_their_declared_defaults() -> None:
    request = invoke_request(trigger_id="trig_manual_1", parameters={"version": "1.2.3"})
    event = prepare_invocation(request, manual_trigger()).event
    inputs = {"environment": "staging", "notify": True, "version": "1.2.3"}
    assert event.input_data == inputs
    assert event.trigger_data == {
        "inputs": inputs,
        "triggered_by": "demo-user",
        "trigger_time": FIXED_TIME.isoformat(),
    }


def test_manual_inputs_are_validated_against_the_trigger_schema() -> None:
    request = invoke_request(
        trigger_id="trig_manual_1",
        parameters={"environment": "moon", "version": "one", "unknown": 1},
    )
    with pytest.raises(InvalidInvocation) as exc:
        prepare_invocation(request, manual_trigger())
    assert sorted(paths(exc)) == [
        "/parameters/environment",
        "/parameters/unknown",
        "/parameters/version",
    ]


def test_missing_required_input_is_reported_at_its_own_path() -> None:
    schema = {**DEPLOY_INPUTS, "properties": {"environment": {"type": "string"}}}
    with pytest.raises(InvalidInvocation) as exc:
        prepare_invocation(invoke_request(trigger_id="trig_manual_1"), manual_trigger(schema))
    assert paths(exc) == ["/parameters/environment"]
    assert exc.value.errors[0].code == "required"


def test_manual_trigger_without_input_schema_takes_any_object() -> None:
    request = invoke_request(trigger_id="trig_manual_1", parameters={"anything": [1]})
    event = prepare_invocation(request, trigger(TriggerType.MANUAL, {}, "trig_manual_1")).event
    assert event.input_data == {"anything": [1]}


@pytest.mark.parametrize(
    "bad_schema", [{"type": "string"}, {"type": "object", "properties": {"a": {"type": 5}}}, 7]
)
def test_broken_input_schema_in_trigger_config_is_a_clear_error(bad_schema: Any) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        prepare_invocation(invoke_request(trigger_id="trig_manual_1"), manual_trigger(bad_schema))
    assert all(p.startswith("/trigger_config/input_schema") for p in paths(exc))


def test_schema_of_a_manual_trigger_is_its_declared_inputs() -> None:
    spec = trigger_spec(manual_trigger())
    assert spec.parameter_schema["properties"] == DEPLOY_INPUTS["properties"]
    assert spec.default_parameters == {"environment": "staging", "notify": True}


@pytest.mark.parametrize("trigger_type", [t for t in TriggerType if t not in RESOLVERS])
def test_types_without_a_resolver_are_refused_not_crashed(trigger_type: TriggerType) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        prepare_invocation(invoke_request(), trigger(trigger_type))
    assert exc.value.errors[0].code == "unsupported_trigger_type"
    assert not SPECS[trigger_type].supported


@pytest.mark.parametrize(
    ("trigger_type", "example"),
    [(t, e) for t, spec in SPECS.items() if spec.supported for e in spec.parameter_examples],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_every_spec_example_resolves(trigger_type: TriggerType, example: Any) -> None:
    request = invoke_request(parameters=example.parameters)
    event = prepare_invocation(request, trigger(trigger_type)).event
    assert event.trigger_type is trigger_type


def test_every_supported_spec_has_defaults_that_validate() -> None:
    for trigger_type, spec in SPECS.items():
        if spec.supported:
            prepare_invocation(invoke_request(parameters={}), trigger(trigger_type))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
webhook_keys = st.sampled_from(["method", "headers", "body", "query_params", "source_ip", "x"])


@settings(max_examples=300, deadline=None)
@given(
    trigger_type=st.sampled_from(sorted(RESOLVERS)),
    parameters=st.dictionaries(webhook_keys | st.text(max_size=6), json_values, max_size=5),
)
def test_no_parameters_whatever_crash_a_resolver(
    trigger_type: TriggerType, parameters: dict[str, Any]
) -> None:
    config = {"input_schema": DEPLOY_INPUTS} if trigger_type is TriggerType.MANUAL else {}
    request = invoke_request(parameters=parameters)
    try:
        event = prepare_invocation(request, trigger(trigger_type, config)).event
    except InvalidInvocation as exc:
        assert exc.errors
        assert all(error.path.startswith("/parameters") for error in exc.errors)
    else:
        assert TriggerEvent.parse(event.body()) == event
