"""The registry (contracts/registry.py) is the one list of trigger types: the kinds, specs,
resolvers, the emitted-event contract, the demo workflow and what may be written are all
derived from it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

import worker.resolvers
from contracts.kinds import KINDS, SPECS, kind_of
from contracts.models import TriggerType
from contracts.triggers import trigger_redaction
from tests.unit.resolver_helpers import registered_request, registered_trigger
from worker.catalog import DEMO_FILE, Catalog, demo_catalog, load_catalog
from worker.resolvers import RESOLVERS, prepare_invocation, resolver_of


def test_kinds_specs_and_resolvers_are_the_registrys_types_in_its_order() -> None:
    assert list(KINDS) == list(SPECS) == list(RESOLVERS) == list(TriggerType)
    for trigger_type, resolver in RESOLVERS.items():
        assert isinstance(resolver, type(KINDS[trigger_type]))
        assert SPECS[trigger_type].trigger_type is trigger_type


def test_a_registered_type_without_its_modules_fails_loudly() -> None:
    ghost: Any = SimpleNamespace(value="NO_SUCH_TYPE")
    with pytest.raises(ImportError, match=r"NO_SUCH_TYPE is registered .* no module"):
        kind_of(ghost)
    with pytest.raises(ImportError, match=r"registered .* no module worker.resolvers.no_such_type"):
        resolver_of(ghost)


def test_a_resolver_without_its_inverse_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every execution of every type is reproducible: `params_from` is part of a resolver.
    class OneWay(type(KINDS[TriggerType.CRON])):  # type: ignore[misc]
        def resolve(self, *args: Any) -> None: ...

    found = ("worker.resolvers.cron", OneWay())
    monkeypatch.setattr(worker.resolvers, "registered", lambda *_: found)
    with pytest.raises(ImportError, match="with `resolve` and `params_from` methods"):
        resolver_of(TriggerType.CRON)


def test_an_unknown_type_is_refused_where_triggers_are_written() -> None:
    definition = {"id": "wf", "name": "n", "owner": "o", "triggers": [{"id": "t", "type": "FAX"}]}
    with pytest.raises(ValidationError, match="unknown trigger type 'FAX'; the registered") as exc:
        Catalog.model_validate({"workflows": [definition]})
    assert exc.value.errors()[0]["loc"] == ("workflows", 0, "triggers", 0, "type")


def test_the_demo_workflow_has_a_trigger_of_every_registered_type() -> None:
    (workflow,) = demo_catalog().workflows
    assert [t.type for t in workflow.triggers] == list(TriggerType)
    # the demo file's own triggers are kept as written
    (written,) = load_catalog(DEMO_FILE).workflows
    assert workflow.triggers[: len(written.triggers)] == written.triggers


def _resolved(trigger_type: TriggerType) -> dict[str, Any]:
    request = registered_request(trigger_type)
    event = prepare_invocation(request, registered_trigger(trigger_type)).event
    return event.trigger_data


@pytest.mark.parametrize("trigger_type", list(TriggerType))
def test_signature_headers_are_named_once_by_the_kind(trigger_type: TriggerType) -> None:
    """The headers a kind names are the ones its resolver signs in, and its redaction hides."""
    trigger = registered_trigger(trigger_type)
    names = KINDS[trigger_type].signature_headers(trigger.config)
    headers = _resolved(trigger_type).get("headers", {})
    assert set(names) <= set(headers)  # every demo trigger that signs has its secret
    assert {n for n in headers if "signature" in n.lower()} <= set(names)
    assert {n.lower() for n in names} <= trigger_redaction(trigger).headers


@pytest.mark.parametrize("trigger_type", list(TriggerType))
def test_http_deliveries_are_the_kinds_that_say_so(trigger_type: TriggerType) -> None:
    """A kind whose events are HTTP deliveries (headers and the raw body sent) says so, and the
    emitted-event contract reads their headers back (worker/emitted.py)."""
    data = _resolved(trigger_type)
    assert KINDS[trigger_type].http_delivery is ("raw_body" in data and "headers" in data)
