"""The invoke worker's answers: every `InvokeResult` it gives, and the pure decisions behind the
refusals (not found, forbidden, unresolvable parameters). No I/O here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import ValidationError

from contracts.ids import execution_id_for_event, execution_url
from contracts.models import (
    FieldError,
    InvokeRequest,
    InvokeResult,
    InvokeStatus,
    RateLimitInfo,
    TriggerData,
)
from contracts.specs import Trigger
from contracts.triggers import trigger_redaction
from contracts.validation import from_pydantic
from worker import metrics, store
from worker.authz import INVOKE_ROLE, Role, can_invoke, can_read
from worker.invocations import PriorUse
from worker.ratelimit import Decision
from worker.resolvers import InvalidInvocation, PreparedInvocation, prepare_invocation

log = structlog.get_logger(__name__)


def answer(
    request: InvokeRequest,
    status: InvokeStatus,
    message: str,
    *,
    errors: list[FieldError] | None = None,
    code: str | None = None,
    path: str = "",
    **fields: Any,
) -> InvokeResult:
    if code is not None:
        errors = [FieldError(path=path, message=message, code=code)]
    return InvokeResult(
        invocation_id=request.invocation_id,
        status=status,
        success=status in (InvokeStatus.ACCEPTED, InvokeStatus.DRY_RUN),
        message=message,
        workflow_id=request.workflow_id,
        trigger_id=request.trigger_id,
        errors=errors or [],
        requested_by=request.user_id,
        completed_at=datetime.now(UTC),
        **fields,
    )


def trigger_type_of(result: InvokeResult) -> str | None:
    return result.trigger_data.trigger_type if result.trigger_data else None


def refusal(
    request: InvokeRequest, access: store.Access | None
) -> tuple[InvokeResult, str | None] | None:
    """The answer to someone who may not invoke this trigger, if so."""
    # Someone who may not read a workflow learns nothing of it, not even that it exists.
    if access is None or not can_read(access.role):
        return answer(
            request,
            InvokeStatus.NOT_FOUND,
            "Workflow not found",
            code="not_found",
            path="/workflow_id",
        ), None
    trigger = access.trigger
    if trigger is None:
        return answer(
            request,
            InvokeStatus.NOT_FOUND,
            "Trigger not found",
            code="not_found",
            path="/trigger_id",
        ), None
    denied = denial(request, access.role, trigger)
    return (denied, trigger.type.value) if denied is not None else None


def denial(request: InvokeRequest, role: Role | None, trigger: Trigger) -> InvokeResult | None:
    forbidden = InvokeStatus.FORBIDDEN
    if not can_invoke(role):
        held = role.name.lower() if role else "none"
        return answer(
            request,
            forbidden,
            f"Role '{held}' may not invoke; '{INVOKE_ROLE.name.lower()}' or higher needed",
            code="insufficient_role",
            path="/workflow_id",
        )
    if not trigger.manual_invocation:
        return answer(
            request,
            forbidden,
            "Manual invocation is disabled for this trigger",
            code="manual_invocation_disabled",
            path="/trigger_id",
        )
    if not trigger.enabled:
        return answer(
            request,
            forbidden,
            "The trigger is disabled",
            code="trigger_disabled",
            path="/trigger_id",
        )
    return None


def prepare(request: InvokeRequest, trigger: Trigger) -> PreparedInvocation | InvalidInvocation:
    """The event, or why there is none. Resolution is pure, so whatever fails in it fails
    again on every redelivery: an exception is refused now (and logged as the bug it is)
    rather than retried into the dead-letter queue."""
    try:
        return prepare_invocation(request, trigger)
    except InvalidInvocation as exc:
        return exc
    except Exception as exc:
        log.exception("resolving the invocation failed")
        return InvalidInvocation(
            [
                FieldError(
                    path="/parameters",
                    code="unresolvable",
                    message=f"these parameters cannot be simulated ({type(exc).__name__})",
                )
            ]
        )


def workflow_label(result: InvokeResult, trigger_type: str | None) -> str:
    """The workflow id as a metric label only when the workflow was found (its trigger type is
    known, or only the trigger was missing): ids that name nothing must not mint series."""
    found = trigger_type is not None or (
        result.status is InvokeStatus.NOT_FOUND
        and bool(result.errors)
        and result.errors[0].path == "/trigger_id"
    )
    return result.workflow_id if found else metrics.UNKNOWN


def malformed(
    correlation_id: str | None, error: ValidationError | ValueError
) -> tuple[InvokeResult, list[FieldError]]:
    """The answer to a request that is no `InvokeRequest` (or too large to read), and why."""
    errors = (
        from_pydantic(error)
        if isinstance(error, ValidationError)
        else [FieldError(path="", message=str(error), code="too_large")]
    )
    result = InvokeResult(
        invocation_id=correlation_id or "unknown",
        status=InvokeStatus.INVALID,
        success=False,
        message="Malformed invoke request",
        workflow_id="",
        trigger_id="",
        errors=errors,
    )
    return result, errors


def limited(request: InvokeRequest, decision: Decision) -> InvokeResult:
    """The answer to a request a rate limit refused."""
    assert decision.scope in ("user", "workflow") and decision.limit is not None
    return answer(
        request,
        InvokeStatus.RATE_LIMITED,
        f"Rate limit exceeded: {decision.limit} invocations per minute per {decision.scope}",
        code="rate_limited",
        path="",
        rate_limit=RateLimitInfo(
            scope=decision.scope,
            limit=decision.limit,
            retry_after_seconds=decision.retry_after_seconds,
        ),
    )


def accepted(prepared: PreparedInvocation, trigger: Any, request: InvokeRequest) -> InvokeResult:
    """The answer to a request whose event the broker confirmed."""
    execution_id = execution_id_for_event(prepared.event.event_id)
    return answer(
        request,
        InvokeStatus.ACCEPTED,
        "Workflow execution started successfully",
        execution_id=execution_id,
        execution_url=execution_url(execution_id),
        **resolved(prepared, trigger, request),
    )


def resolved(prepared: PreparedInvocation, trigger: Any, request: InvokeRequest) -> dict[str, Any]:
    """What an answer says of the event. The event carries the real secrets and signatures to
    the scheduler; the answer is redacted where the trigger declares them, so the service is
    no signing oracle."""
    shown = trigger_redaction(trigger).record(
        {"trigger_data": prepared.resolved_parameters}, computed=request.replay_of is None
    )
    return {
        "event_id": prepared.event.event_id,
        "warnings": prepared.warnings,
        "trigger_data": TriggerData(
            trigger_type=trigger.type, resolved_parameters=shown["trigger_data"]
        ),
    }


def too_many_refusals(request: InvokeRequest, budget: int, decision: Decision) -> InvokeResult:
    """The answer to a refused request past the user's refusal budget."""
    return answer(
        request,
        InvokeStatus.RATE_LIMITED,
        f"Too many refused requests: at most {budget} per minute",
        code="too_many_refusals",
        rate_limit=RateLimitInfo(
            scope="user", limit=budget, retry_after_seconds=decision.retry_after_seconds
        ),
    )


def keyed_answer(
    request: InvokeRequest, prior: PriorUse, first: InvokeResult | None
) -> InvokeResult | None:
    """The answer owed to a request whose idempotency key was used before (`prior`; `first`:
    the answer that use got, if any), or None to carry on."""
    if not prior.same_request:
        return answer(
            request,
            InvokeStatus.CONFLICT,
            "Idempotency-Key was already used with a different request",
            code="idempotency_key_reused",
            path="/idempotency_key",
        )
    if first is not None and not first.status.final:
        first = None  # a refusal, limit or conflict is not replayed: decide afresh
    if prior.invocation_id == request.invocation_id:
        # This very request again (a retry whose invocation id derives from the key, or a
        # redelivery): the first answer if there is one, else carry on; the id keeps the
        # effect exactly-once.
        return first
    if first is None:
        return answer(
            request,
            InvokeStatus.CONFLICT,
            "A request with this Idempotency-Key is still in progress",
            code="idempotency_key_in_progress",
            path="/idempotency_key",
        )
    return first
