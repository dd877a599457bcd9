"""Permanent means permanent: every schema-valid parameter set resolves or is refused with a
path; never an exception (which the worker would retry), never an oversized event.

Parameters come from each trigger type's own published schema (as the schema endpoint shows
it for the demo trigger), and from the same schema with edge values in every field: years 1
and 9999, huge integers, odd unicode.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.models import TriggerType
from contracts.triggers import trigger_spec
from tests.factories import demo_request, demo_trigger
from tests.unit.schema_strategies import branch_schemas, parameters_of
from worker.resolvers import InvalidInvocation, prepare_invocation
from worker.safety import MAX_OUTPUT_BYTES

EDGE_STRINGS = [
    "",
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59+00:00",
    "9999-12-31T23:59:59",
    "0001-01-01",
    "2026-02-29T09:00:00",
    "2026-03-29T02:30:00",  # a time a DST change skips in Europe/Berlin
    "24:00",
    "\U0001f680\u202e\u0130\u00df",
    "=?utf-8?q?=C3=A9?=",
    "long " * 1000,
    "-1",
    "1e400",
    "<@U0DEMOBOT>",
    "refs/heads/\u00e9",
    "C0DEMO001",
    "x@example.com",
]
EDGE_NUMBERS = [0, -1, 1, 2**31, 2**63, 10**40, -(10**40), 1e308, -1e-308, 0.5]


def edge_value(schema: Any) -> st.SearchStrategy[Any]:
    kinds = schema.get("type") if isinstance(schema, dict) else None
    kinds = kinds if isinstance(kinds, list) else [kinds]
    options: list[st.SearchStrategy[Any]] = [st.sampled_from(EDGE_STRINGS)]
    if "integer" in kinds or "number" in kinds:
        options.append(st.sampled_from(EDGE_NUMBERS))
    if "array" in kinds:
        items = schema.get("items", {})
        options.append(st.lists(edge_value(items), max_size=3))
    if "object" in kinds or None in kinds:
        names = st.sampled_from(["a", "name", "id"])
        options.append(st.dictionaries(names, st.sampled_from(EDGE_STRINGS), max_size=2))
    return st.one_of(options)


def with_edges(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        [
            st.fixed_dictionaries(
                {}, optional={n: edge_value(p) for n, p in flat.get("properties", {}).items()}
            )
            for flat in branch_schemas(schema)
        ]
    )


@pytest.mark.parametrize("trigger_type", list(TriggerType))
def test_every_schema_valid_parameter_set_resolves_or_is_refused_with_a_path(
    trigger_type: TriggerType,
) -> None:
    trigger = demo_trigger(trigger_type)
    schema = trigger_spec(trigger).parameter_schema

    @given(st.one_of(parameters_of(schema), with_edges(schema)))
    @settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(parameters: dict[str, Any]) -> None:
        request = demo_request(trigger_type, parameters=parameters)
        try:
            prepared = prepare_invocation(request, trigger)
        except InvalidInvocation as exc:
            assert exc.errors
            assert all(e.path.startswith("/parameters") for e in exc.errors), exc.errors
            return
        assert len(prepared.event.body()) <= MAX_OUTPUT_BYTES

    check()
