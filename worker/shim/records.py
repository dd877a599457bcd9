"""An execution as the API shows it (`ExecutionRecord`): the row, redacted where its trigger
carries credentials, with what its engine reported and the parameters that reproduce it.
Shared by the read, the live stream and `manual-trigger invoke --wait --json`."""

from datetime import datetime, timedelta
from typing import Any

from contracts.executions import WAITING_FOR_ENGINE, ExecutionStatus
from contracts.ids import execution_url
from contracts.redaction import Redaction
from contracts.specs import Trigger
from contracts.triggers import trigger_redaction
from worker import store
from worker.shim.models import ExecutionFailure, ExecutionRecord


def events_url(execution_id: str) -> str:
    return f"{execution_url(execution_id)}/events"


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _failure(error: Any) -> ExecutionFailure | None:
    """The stored error; anything but the documented object is shown as its message."""
    if error is None:
        return None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        details = error.get("details")
        code = error.get("code")
        return ExecutionFailure(
            message=error["message"],
            code=code if isinstance(code, str) else None,
            details=details if isinstance(details, dict) else None,
        )
    return ExecutionFailure(message=str(error))


def duration_ms(execution: store.Execution) -> int | None:
    if execution.started_at is None or execution.finished_at is None:
        return None
    return max(0, (execution.finished_at - execution.started_at) // timedelta(milliseconds=1))


def execution_record(
    execution: store.Execution, trigger: Trigger | None, parameters: dict[str, Any] | None
) -> ExecutionRecord:
    """The execution of `trigger` (None: one that no longer exists) as the API shows it, with
    the `parameters` that reproduce it (`worker.reproduce.reproduction`). They are the caller's
    to give: they hang on the recorded event alone, so a stream reads them back once, not at
    each status it sends."""
    # The scheduler redacts each record as it writes it; rows written before it did are
    # redacted here at the same locations.
    redaction = trigger_redaction(trigger) if trigger is not None else Redaction()
    recorded = {
        "execution_id": execution.execution_id,
        "event_id": execution.event_id,
        "workflow_id": execution.workflow_id,
        "trigger_id": execution.trigger_id,
        "trigger_type": execution.trigger_type,
        "trigger_data": execution.trigger_data,
        "input_data": execution.input_data,
        "metadata": execution.metadata,
    }
    shown = redaction.record(recorded)
    status = ExecutionStatus(execution.status)
    return ExecutionRecord(
        **shown,
        status=status,
        status_message=WAITING_FOR_ENGINE if status is ExecutionStatus.PENDING else None,
        created_at=execution.created_at.isoformat(),
        started_at=_moment(execution.started_at),
        finished_at=_moment(execution.finished_at),
        duration_ms=duration_ms(execution),
        output=execution.output,
        error=_failure(execution.error),
        events_url=events_url(execution.execution_id),
        parameters=parameters,
    )
