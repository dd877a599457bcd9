"""The invoke worker's answers: every `InvokeResult` it gives, and the pure decisions behind the
refusals (not found, forbidden, unresolvable parameters). No I/O here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import ValidationError

from contracts.models import FieldError, InvokeRequest, InvokeResult, InvokeStatus
from contracts.specs import Trigger
from contracts.validation import from_pydantic
from worker import metrics, store
from worker.authz import INVOKE_ROLE, Role, can_invoke, can_read
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
