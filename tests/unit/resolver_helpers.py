"""Shared assertions for resolver tests."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from contracts.models import InvokeRequest, TriggerType
from contracts.specs import Trigger
from tests.factories import invoke_request, trigger
from worker.catalog import demo_catalog
from worker.resolvers import InvalidInvocation


def error_paths(exc: pytest.ExceptionInfo[InvalidInvocation]) -> list[str]:
    return sorted({error.path for error in exc.value.errors})


def error_codes(exc: pytest.ExceptionInfo[InvalidInvocation]) -> list[str]:
    return sorted({error.code for error in exc.value.errors})


def only(items: list[Any]) -> Any:
    assert len(items) == 1, items
    return items[0]


@cache
def _registered_triggers() -> dict[TriggerType, Any]:
    """The demo workflow's trigger of every registered type (`worker.catalog.demo_catalog`)."""
    (workflow,) = demo_catalog().workflows
    return {t.type: t for t in workflow.triggers}


def registered_trigger(trigger_type: TriggerType) -> Trigger:
    """The demo workflow's trigger of this type: of any registered type, including one that
    worker/demo.yaml does not configure (its kind's `example_config`)."""
    definition = _registered_triggers()[trigger_type]
    return trigger(trigger_type, dict(definition.config), definition.id)


def registered_request(trigger_type: TriggerType, **overrides: Any) -> InvokeRequest:
    return invoke_request(trigger_id=_registered_triggers()[trigger_type].id, **overrides)
