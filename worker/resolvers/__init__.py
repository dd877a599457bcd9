"""Turn an invoke request and its trigger's config into the trigger event a real ingress would emit.

Everything here is pure: the event depends only on (request, trigger config, the request's own
timestamp and invocation id), so a redelivered request resolves to the very same event.

Each registered trigger type `X` (`contracts.registry`) has its resolver in the module
`worker.resolvers.x`, exported as `RESOLVER`: a subclass of the type's kind that adds
`resolve` and its inverse `params_from`. `RESOLVERS` is found from the registry; a type without
one fails here, at import.
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
from contracts.registry import registered
from contracts.specs import Trigger
from contracts.triggers import KINDS, config_problems
from contracts.validation import pointer, validate
from worker.emitted import event_errors
from worker.resolvers.base import InvalidInvocation, Resolution, Resolver, compact_json
from worker.resolvers.replay import resolve_replay
from worker.safety import MAX_OUTPUT_BYTES, shape_errors, url_errors
from worker.suspicious import suspicious_content

__all__ = [
    "RESOLVERS",
    "InvalidInvocation",
    "PreparedInvocation",
    "prepare_invocation",
]


def resolver_of(trigger_type: TriggerType) -> Resolver:
    """The resolver the type's module exports, checked to subclass the type's kind."""
    name, resolver = registered(__name__, trigger_type, "RESOLVER")
    kind = type(KINDS[trigger_type])
    methods = ("resolve", "params_from")
    if not isinstance(resolver, kind) or not all(
        callable(getattr(resolver, m, None)) for m in methods
    ):
        raise ImportError(
            f"{name}.RESOLVER must be a {kind.__name__} with `resolve` and `params_from` methods"
        )
    resolver_: Resolver = resolver  # type: ignore[assignment]
    return resolver_


RESOLVERS: dict[TriggerType, Resolver] = {t: resolver_of(t) for t in TriggerType}


@dataclass(frozen=True)
class PreparedInvocation:
    event: TriggerEvent
    body: bytes  # the event as published, serialised once
    resolved_parameters: dict[str, Any]
    warnings: list[str]


def prepare_invocation(request: InvokeRequest, trigger: Trigger) -> PreparedInvocation:
    """Validate the parameters and resolve them into the event; raises `InvalidInvocation`.

    The event must pass the contract on what goes out (`worker.emitted`) and is bounded
    (`MAX_OUTPUT_BYTES`), so a small request cannot become a huge one.
    """
    prepared = _resolve(request, trigger)
    if len(prepared.body) > MAX_OUTPUT_BYTES:
        raise InvalidInvocation([_too_large(request, len(prepared.body))])
    return prepared


def _too_large(request: InvokeRequest, size: int) -> FieldError:
    """The error for an oversized event, at the parameter that contributes the most."""
    sizes = {name: len(compact_json(value)) for name, value in request.parameters.items()}
    if request.replay_of is not None:
        path = "/replay_of"
    elif sizes:
        path = "/parameters" + pointer([max(sizes, key=lambda name: sizes[name])])
    else:
        path = "/parameters"
    return FieldError(
        path=path,
        code="output_too_large",
        message=f"the simulated event would be {size} bytes; at most {MAX_OUTPUT_BYTES} are "
        "allowed (no request may produce an event, answer or record over that)",
    )


def _resolve(request: InvokeRequest, trigger: Trigger) -> PreparedInvocation:
    if request.replay_of is not None:
        # A dead letter may hold what no store can (it may have died for that very reason).
        original = request.replay_of.model_dump(mode="json", include={"trigger_data", "input_data"})
        if errors := shape_errors(original, "/replay_of"):
            raise InvalidInvocation(errors)
        return _prepared(request, trigger, request.parameters, resolve_replay(request, trigger))
    resolver = RESOLVERS[trigger.type]
    if config_errors := config_problems(trigger):
        raise InvalidInvocation(config_errors)
    # Shape limits first: a schema validator must never walk an absurdly deep or wide value.
    # (Counted from the request body, as the shim counts, so both report the same paths.)
    if errors := shape_errors({"parameters": request.parameters}, ""):
        raise InvalidInvocation(errors)
    # User parameters override the defaults, key by key at the top level.
    parameters = {**resolver.default_parameters(trigger.config), **request.parameters}
    schema = resolver.parameter_schema(trigger.config)
    if errors := validate(schema, parameters, "/parameters") or url_errors(
        request.parameters, "/parameters"
    ):
        raise InvalidInvocation(errors)
    if errors := suspicious_content(trigger.type, trigger.config, request.parameters):
        raise InvalidInvocation(errors)
    resolution = resolver.resolve(trigger.config, parameters, request)
    return _prepared(request, trigger, parameters, resolution)


def _prepared(
    request: InvokeRequest, trigger: Trigger, parameters: dict[str, Any], resolution: Resolution
) -> PreparedInvocation:
    """The event of a resolution, stamped with the manual invocation metadata."""
    manual_metadata = ManualInvocationMetadata(
        original_trigger_type=trigger.type,
        initiated_by=request.user_id,
        invoked_by=request.user_id,
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
    if errors := event_errors(event, request.parameters, replay=request.replay_of is not None):
        raise InvalidInvocation(errors)
    return PreparedInvocation(
        event=event,
        body=event.body(),
        resolved_parameters=resolution.trigger_data,
        warnings=resolution.warnings,
    )
