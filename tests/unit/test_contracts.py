"""Contracts: message round trips, ids, topology names and the exported schemas."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts import asyncapi
from contracts.export import ASYNCAPI_PATH, SCHEMA_DIR, rendered_schemas
from contracts.ids import dashed, execution_id_for_event, manual_event_id, uuid5_hex
from contracts.kinds import SPECS
from contracts.models import InvokeRequest, TriggerEvent, TriggerType
from contracts.topology import Topology, dead_letter_exchange, dead_letter_queue
from tests.factories import FIXED_TIME, invoke_request


def test_exported_schemas_are_current() -> None:
    # Given the schemas the code renders now
    expected = rendered_schemas()
    # Then every file under contracts/schemas/ holds exactly that (run `make schemas` if not)
    on_disk = {
        str(path.relative_to(SCHEMA_DIR)): path.read_text() for path in SCHEMA_DIR.rglob("*.json")
    }
    assert on_disk == expected


def test_the_asyncapi_document_is_current() -> None:
    # `make schemas` writes it; the shim serves the same at /asyncapi.json
    assert ASYNCAPI_PATH.read_text() == asyncapi.rendered()


def test_every_trigger_type_has_a_spec_and_a_parameter_schema() -> None:
    assert set(SPECS) == set(TriggerType)
    assert {f"parameters/{t.value.lower()}.schema.json" for t in TriggerType} <= set(
        rendered_schemas()
    )


def test_invoke_request_round_trips_through_its_body() -> None:
    request = invoke_request(parameters={"body": {"a": [1, 2]}}, description="why")
    assert InvokeRequest.parse(request.body()) == request


def test_invoke_request_rejects_unknown_fields_and_bad_ids() -> None:
    body = json.loads(invoke_request().body())
    with pytest.raises(ValidationError, match="extra"):
        InvokeRequest.model_validate({**body, "surprise": 1})
    with pytest.raises(ValidationError, match="workflow_id"):
        InvokeRequest.model_validate({**body, "workflow_id": "wf.with.dots"})
    with pytest.raises(ValidationError, match="requested_at"):
        InvokeRequest.model_validate({**body, "requested_at": "2026-01-01T00:00:00"})


def test_trigger_event_routing_key_is_type_workflow_trigger() -> None:
    event = TriggerEvent(
        event_id="e1",
        workflow_id="wf_1",
        trigger_id="trig-2",
        trigger_type=TriggerType.GITHUB,
        occurred_at=FIXED_TIME,
        trigger_data={},
    )
    assert event.routing_key() == "github.wf_1.trig-2"
    assert TriggerEvent.parse(event.body()) == event


def test_trigger_event_ignores_fields_a_newer_ingress_adds() -> None:
    body = {
        "event_id": "e1",
        "workflow_id": "wf",
        "trigger_id": "t",
        "trigger_type": "WEBHOOK",
        "occurred_at": "2026-01-01T00:00:00Z",
        "trigger_data": {},
        "added_later": True,
    }
    assert TriggerEvent.model_validate(body).event_id == "e1"


def test_ids_are_deterministic_and_distinct() -> None:
    assert manual_event_id("inv-1") == manual_event_id("inv-1")
    assert manual_event_id("inv-1") != manual_event_id("inv-2")
    event_id = manual_event_id("inv-1")
    assert execution_id_for_event(event_id) == execution_id_for_event(event_id)
    assert execution_id_for_event(event_id).startswith("exec_")


@given(namespace=st.uuids(), name=st.text())
def test_derived_ids_are_the_standard_name_based_uuids(namespace: uuid.UUID, name: str) -> None:
    expected = uuid.uuid5(namespace, name)
    assert uuid5_hex(namespace, name) == expected.hex
    assert dashed(uuid5_hex(namespace, name)) == str(expected)


def test_topology_names_carry_the_namespace() -> None:
    plain, spaced = Topology(), Topology("tenant7")
    assert plain.trigger_exchange == "triggers.events"
    assert spaced.trigger_exchange == "tenant7.triggers.events"
    assert spaced.invoke_queue.startswith("tenant7.")
    assert spaced.scheduler_queue.startswith("tenant7.")
    assert dead_letter_queue(spaced.scheduler_queue) == "tenant7.scheduler.trigger-events.dlq"
    assert dead_letter_exchange(spaced.invoke_queue).endswith(".dlx")
    assert spaced.redis_key("invocation", "x") == "tenant7:mti:invocation:x"
    assert plain.redis_key("invocation", "x") != spaced.redis_key("invocation", "x")


def test_platform_exchange_is_used_verbatim() -> None:
    assert Topology("ns", "platform.triggers").trigger_exchange == "platform.triggers"
