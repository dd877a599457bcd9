"""Golden events: the first example of each registered trigger type resolves to exactly the
stored event, `tests/golden/<type>.json`.

A deliberate change to a resolver updates them with `UPDATE_GOLDEN=1 make test-unit`; review
the diff of `tests/golden/` like any other change of behaviour.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from contracts.kinds import SPECS
from contracts.models import TriggerType
from tests.unit.resolver_helpers import registered_request, registered_trigger
from worker.resolvers import prepare_invocation

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


@pytest.mark.parametrize("trigger_type", sorted(TriggerType))
def test_first_example_resolves_to_the_golden_event(trigger_type: TriggerType) -> None:
    example = SPECS[trigger_type].parameter_examples[0]
    request = registered_request(
        trigger_type,
        invocation_id=f"golden-{trigger_type.value.lower()}",
        parameters=example.parameters,
        description=example.name,
    )
    event = prepare_invocation(request, registered_trigger(trigger_type)).event
    rendered = json.dumps(event.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
    path = GOLDEN / f"{trigger_type.value.lower()}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(rendered)
    assert path.read_text() == rendered, f"{path.name} differs; see the module docstring"
