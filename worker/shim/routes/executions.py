"""Executions as the scheduler recorded them: one by id, or a workflow's, newest first.
(No `from __future__ import annotations`: FastAPI must see the dependency annotations.)"""

from typing import Annotated

from fastapi import APIRouter, Query

from contracts.executions import ExecutionStatus
from contracts.ids import execution_url
from contracts.models import IDENTIFIER_PATTERN, FieldError
from contracts.specs import Trigger
from contracts.validation import pointer
from worker import store
from worker.reproduce import reproduction
from worker.shim.dependencies import Context, User, readable
from worker.shim.models import MAX_PAGE, ExecutionPage, ExecutionRecord, ExecutionSummary
from worker.shim.problems import READ_ERRORS, Problem, invalid, not_found
from worker.shim.records import execution_record

router = APIRouter()


@router.get("/api/v1/executions/{execution_id}", responses=READ_ERRORS)
async def get_execution(execution_id: str, user: User, context: Context) -> ExecutionRecord:
    execution = await store.get_execution(context.resources.pool, execution_id)
    if execution is None:
        raise not_found("Execution")
    trigger = await readable_execution(context, execution, user)
    return execution_record(execution, trigger, reproduction(execution, trigger))


async def readable_execution(
    context: Context, execution: store.Execution, user: str
) -> Trigger | None:
    """The execution's trigger (None: one that no longer exists), whose redaction says how
    `user` may see it; 404, as for one that does not exist, when they may not read its
    workflow."""
    try:
        access = await readable(context, execution.workflow_id, user, execution.trigger_id)
    except Problem:
        raise not_found("Execution") from None
    return access.trigger


@router.get("/api/v1/workflows/{workflow_id}/executions", responses=READ_ERRORS)
async def list_executions(
    workflow_id: str,
    user: User,
    context: Context,
    trigger_id: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    manual: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ExecutionPage:
    """A workflow's executions, newest first; `next_cursor` fetches the next page."""
    # Checked here, not as a dependency: an invalid query is a 400 before anything is read.
    await readable(context, workflow_id, user)
    try:
        after = store.decode_cursor(cursor) if cursor is not None else None
    except store.BadCursor:
        error = FieldError(path=pointer(["cursor"]), message="unknown cursor", code="cursor")
        raise invalid([error]) from None
    rows = await store.list_executions(
        context.resources.pool,
        workflow_id,
        trigger_id=trigger_id,
        manual=manual,
        limit=limit + 1,  # one more than asked says whether a next page exists
        after=after,
    )
    page = rows[:limit]
    triggers = {t.id: t for t in await store.list_triggers(context.resources.pool, workflow_id)}
    return ExecutionPage(
        workflow_id=workflow_id,
        executions=[execution_summary(e, triggers.get(e.trigger_id)) for e in page],
        next_cursor=store.encode_cursor(page[-1]) if len(rows) > limit else None,
    )


def execution_summary(execution: store.Execution, trigger: Trigger | None) -> ExecutionSummary:
    """The execution of `trigger` (None: one that no longer exists) as the list shows it."""
    metadata = execution.metadata if isinstance(execution.metadata, dict) else {}
    manual = metadata.get("manual_invocation") is True
    return ExecutionSummary(
        execution_id=execution.execution_id,
        event_id=execution.event_id,
        trigger_id=execution.trigger_id,
        trigger_type=execution.trigger_type,
        status=ExecutionStatus(execution.status),
        created_at=execution.created_at,
        finished_at=execution.finished_at,
        manual=manual,
        initiated_by=metadata.get("initiated_by") if manual else None,
        description=metadata.get("invocation_description") if manual else None,
        parameters=reproduction(execution, trigger),
        execution_url=execution_url(execution.execution_id),
    )
