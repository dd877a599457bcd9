"""Properties every resolver shares: pure, example-proof, crash-proof, marked as manual."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.ids import manual_event_id
from contracts.kinds import SPECS
from contracts.models import ManualInvocationMetadata, TriggerEvent, TriggerType
from tests.factories import FIXED_TIME
from tests.unit.resolver_helpers import registered_request, registered_trigger
from tests.unit.schema_strategies import parameter_names as declared_names
from worker.resolvers import RESOLVERS, InvalidInvocation, prepare_invocation

# Every registered type (contracts/registry.py), whatever worker/demo.yaml configures.
SUPPORTED = sorted(t for t, spec in SPECS.items() if spec.supported)


def test_every_trigger_type_is_supported() -> None:
    assert set(SUPPORTED) == set(TriggerType) == set(RESOLVERS)


@pytest.mark.parametrize("trigger_type", SUPPORTED)
def test_every_spec_has_at_least_two_examples_and_describes_its_parameters(
    trigger_type: TriggerType,
) -> None:
    spec = SPECS[trigger_type]
    assert len(spec.parameter_examples) >= 2
    assert spec.parameter_schema["$schema"].endswith("2020-12/schema")
    for name, prop in spec.parameter_schema.get("properties", {}).items():
        assert prop.get("description"), f"{trigger_type}: {name} has no description"


@pytest.mark.parametrize(
    ("trigger_type", "example"),
    [(t, e) for t in SUPPORTED for e in SPECS[t].parameter_examples],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_every_spec_example_resolves(trigger_type: TriggerType, example: Any) -> None:
    request = registered_request(trigger_type, parameters=example.parameters)
    event = prepare_invocation(request, registered_trigger(trigger_type)).event
    assert event.trigger_type is trigger_type


@pytest.mark.parametrize(
    ("trigger_type", "example"),
    [(t, e) for t in SUPPORTED for e in SPECS[t].parameter_examples],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_every_example_s_event_reads_back_into_parameters_that_make_it_again(
    trigger_type: TriggerType, example: Any
) -> None:
    # `params_from` is the inverse of `resolve`: what it reads resolves (another request) to
    # an event it reads the same. (Per type, what the event says: tests/unit/test_reproduce.py.)
    trigger = registered_trigger(trigger_type)
    resolver = RESOLVERS[trigger_type]
    request = registered_request(trigger_type, parameters=example.parameters)
    parameters = resolver.params_from(
        prepare_invocation(request, trigger).event.trigger_data, trigger.config
    )
    again = prepare_invocation(registered_request(trigger_type, parameters=parameters), trigger)
    assert resolver.params_from(again.event.trigger_data, trigger.config) == parameters


@pytest.mark.parametrize("trigger_type", SUPPORTED)
def test_defaults_alone_resolve_and_mark_the_event_manual(trigger_type: TriggerType) -> None:
    request = registered_request(trigger_type, description="why")
    event = prepare_invocation(request, registered_trigger(trigger_type)).event
    assert event.event_id == manual_event_id(request.invocation_id)
    assert event.occurred_at == FIXED_TIME
    assert event.routing_key() == f"{trigger_type.value.lower()}.wf_demo.{request.trigger_id}"
    metadata = ManualInvocationMetadata.model_validate(event.metadata)
    assert metadata.trigger_type == "MANUAL_INVOCATION"
    assert metadata.original_trigger_type is trigger_type
    assert metadata.initiated_by == "demo-user"
    assert metadata.invocation_description == "why"


@pytest.mark.parametrize("trigger_type", SUPPORTED)
def test_resolution_is_pure(trigger_type: TriggerType) -> None:
    example = SPECS[trigger_type].parameter_examples[-1].parameters
    request = registered_request(trigger_type, parameters=example)
    first = prepare_invocation(request, registered_trigger(trigger_type)).event
    again = prepare_invocation(
        request.model_copy(deep=True), registered_trigger(trigger_type)
    ).event
    assert first.body() == again.body()
    other = request.model_copy(update={"invocation_id": "another"})
    assert (
        prepare_invocation(other, registered_trigger(trigger_type)).event.event_id != first.event_id
    )


@pytest.mark.parametrize("trigger_type", SUPPORTED)
def test_unknown_parameters_are_rejected_with_their_path(trigger_type: TriggerType) -> None:
    # (MANUAL: the demo trigger's input_schema forbids additional properties.)
    request = registered_request(trigger_type, parameters={"no_such_parameter": 1})
    with pytest.raises(InvalidInvocation) as exc:
        prepare_invocation(request, registered_trigger(trigger_type))
    assert [e.path for e in exc.value.errors] == ["/parameters/no_such_parameter"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def parameter_names(trigger_type: TriggerType) -> st.SearchStrategy[str]:
    declared = declared_names(SPECS[trigger_type].parameter_schema)
    return (st.sampled_from(declared) if declared else st.nothing()) | st.text(max_size=6)


@st.composite
def invocations(draw: st.DrawFn) -> tuple[TriggerType, dict[str, Any]]:
    trigger_type = draw(st.sampled_from(SUPPORTED))
    example = draw(st.sampled_from(SPECS[trigger_type].parameter_examples)).parameters
    # Start from a valid example and break it anywhere, so both outcomes are explored.
    changes = draw(st.dictionaries(parameter_names(trigger_type), json_values, max_size=3))
    dropped = draw(st.sets(st.sampled_from(sorted(example) or [""]), max_size=2))
    parameters = {k: v for k, v in {**example, **changes}.items() if k not in dropped}
    return trigger_type, parameters


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invocations())
def test_no_parameters_whatever_crash_a_resolver(case: tuple[TriggerType, dict[str, Any]]) -> None:
    trigger_type, parameters = case
    request = registered_request(trigger_type, parameters=parameters)
    try:
        event = prepare_invocation(request, registered_trigger(trigger_type)).event
    except InvalidInvocation as exc:
        assert exc.errors
        assert all(error.path.startswith("/parameters") for error in exc.errors)
    else:
        assert TriggerEvent.parse(event.body()) == event
