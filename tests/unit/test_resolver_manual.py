"""MANUAL: typed inputs declared by the trigger, defaults applied, validated."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.models import TriggerType
from contracts.triggers import trigger_spec
from tests.factories import FIXED_TIME, demo_request, demo_trigger
from tests.unit.resolver_helpers import error_paths
from worker.resolvers import InvalidInvocation, prepare_invocation

MANUAL = TriggerType.MANUAL


def resolve(parameters: dict[str, Any], **config: Any) -> Any:
    request = demo_request(MANUAL, parameters=parameters)
    return prepare_invocation(request, demo_trigger(MANUAL, **config)).event


def test_manual_inputs_take_their_declared_defaults() -> None:
    event = resolve({"version": "1.2.3"})
    inputs = {"environment": "staging", "notify": True, "version": "1.2.3"}
    assert event.input_data == inputs
    assert event.trigger_data == {
        "inputs": inputs,
        "triggered_by": "demo-user",
        "trigger_time": FIXED_TIME.isoformat(),
    }


def test_manual_inputs_are_validated_against_the_trigger_schema() -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve({"environment": "moon", "version": "one", "unknown": 1})
    assert error_paths(exc) == [
        "/parameters/environment",
        "/parameters/unknown",
        "/parameters/version",
    ]


def test_missing_required_input_is_reported_at_its_own_path() -> None:
    schema = {
        "type": "object",
        "required": ["ticket"],
        "properties": {"ticket": {"type": "string"}},
    }
    with pytest.raises(InvalidInvocation) as exc:
        resolve({}, input_schema=schema)
    assert error_paths(exc) == ["/parameters/ticket"]
    assert exc.value.errors[0].code == "required"


def test_manual_trigger_without_input_schema_takes_any_object() -> None:
    request = demo_request(MANUAL, parameters={"anything": [1]})
    trigger = demo_trigger(MANUAL)
    trigger.config.pop("input_schema")
    assert prepare_invocation(request, trigger).event.input_data == {"anything": [1]}


@pytest.mark.parametrize(
    "bad_schema", [{"type": "string"}, {"type": "object", "properties": {"a": {"type": 5}}}, 7]
)
def test_broken_input_schema_in_trigger_config_is_a_clear_error(bad_schema: Any) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve({}, input_schema=bad_schema)
    assert all(p.startswith("/trigger_config/input_schema") for p in error_paths(exc))


def test_schema_of_a_manual_trigger_is_its_declared_inputs() -> None:
    spec = trigger_spec(demo_trigger(MANUAL))
    assert set(spec.parameter_schema["properties"]) == {"environment", "version", "notify", "fail"}
    assert spec.default_parameters == {"environment": "staging", "notify": True}
