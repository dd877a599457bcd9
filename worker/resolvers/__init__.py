"""Turn an invoke request and its trigger's config into the trigger event a real ingress would emit.

Everything here is pure: the event depends only on (request, trigger config, the request's own
timestamp and invocation id), so a redelivered request resolves to the very same event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.ids import manual_event_id
from contracts.models import (
    FieldError,
    InvokeRequest,
    ManualInvocationMetadata,
    TriggerEvent,
    TriggerType,
)
from contracts.specs import JSON_SCHEMA_DIALECT, SPECS, ManualInvocationSpec
from worker.resolvers import manual, webhook
from worker.resolvers.base import Resolver
from worker.store import Trigger
from worker.validation import validate

RESOLVERS: dict[TriggerType, Resolver] = {
    TriggerType.WEBHOOK: webhook.RESOLVER,
    TriggerType.MANUAL: manual.RESOLVER,
}


class InvalidInvocation(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors))
        self.errors = errors


def trigger_spec(trigger: Trigger) -> ManualInvocationSpec:
    """The spec of the trigger's type, narrowed to this trigger's config (schema, defaults)."""
    spec = SPECS[trigger.type]
    resolver = RESOLVERS.get(trigger.type)
    if resolver is None or resolver.config_errors(trigger.config):
        return spec
    return spec.model_copy(
        update={
            "parameter_schema": {
                "$schema": JSON_SCHEMA_DIALECT,
                **resolver.parameter_schema(trigger.config),
            },
            "default_parameters": resolver.default_parameters(trigger.config),
        }
    )


@dataclass(frozen=True)
class PreparedInvocation:
    event: TriggerEvent
    resolved_parameters: dict[str, Any]


def prepare_invocation(request: InvokeRequest, trigger: Trigger) -> PreparedInvocation:
    """Validate the parameters and resolve them into the event; raises `InvalidInvocation`."""
    resolver = RESOLVERS.get(trigger.type)
    if resolver is None:
        raise InvalidInvocation(
            [
                FieldError(
                    path="/trigger_id",
                    message=f"manual invocation of {trigger.type.value} triggers is not supported",
                    code="unsupported_trigger_type",
                )
            ]
        )
    if config_errors := resolver.config_errors(trigger.config):
        raise InvalidInvocation(config_errors)
    # User parameters override the defaults, key by key at the top level.
    parameters = {**resolver.default_parameters(trigger.config), **request.parameters}
    if errors := validate(resolver.parameter_schema(trigger.config), parameters, "/parameters"):
        raise InvalidInvocation(errors)
    resolution = resolver.resolve(trigger.config, parameters, request)
    manual_metadata = ManualInvocationMetadata(
        original_trigger_type=trigger.type,
        initiated_by=request.user_id,
        invocation_id=request.invocation_id,
        invocation_description=request.description,
        simulated_parameters=parameters,
        manual_invocation_timestamp=request.requested_at,
        source=request.source,
        replay_of=request.replay_of.event_id if request.replay_of else None,
    )
    event = TriggerEvent(
        event_id=manual_event_id(request.invocation_id),
        workflow_id=trigger.workflow_id,
        trigger_id=trigger.id,
        trigger_type=trigger.type,
        occurred_at=request.requested_at,
        trigger_data=resolution.trigger_data,
        input_data=resolution.input_data,
        metadata={**resolution.metadata, **manual_metadata.model_dump(mode="json")},
    )
    return PreparedInvocation(event=event, resolved_parameters=resolution.trigger_data)
