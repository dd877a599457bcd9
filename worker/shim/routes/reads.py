"""Reads: the caller's workflows, their triggers and parameter schemas, invocation statuses.
They go straight to PostgreSQL and Redis.
(No `from __future__ import annotations`: FastAPI must see the dependency annotations.)"""

from fastapi import APIRouter

from contracts.models import InvokeResult
from contracts.specs import Trigger
from contracts.triggers import (
    TriggerDescription,
    describe_trigger,
    display_name,
    shown_config,
    trigger_spec,
)
from worker import store
from worker.shim.dependencies import Context, ReadableTrigger, ReadableWorkflow, User, readable
from worker.shim.models import TriggerList, TriggerSummary, WorkflowList, WorkflowSummary
from worker.shim.problems import READ_ERRORS, Problem, not_found, problem_responses

router = APIRouter()


def triggers_url(workflow_id: str) -> str:
    return f"/api/v1/workflows/{workflow_id}/triggers"


@router.get("/api/v1/workflows", responses=problem_responses(401, 503))
async def list_workflows(user: User, context: Context) -> WorkflowList:
    """The workflows the caller may read (the panel's workflow chooser)."""
    workflows = await store.list_workflows(context.resources.pool, user)
    return WorkflowList(
        workflows=[
            WorkflowSummary(
                id=w.id, name=w.name, role=w.role.name.lower(), triggers_url=triggers_url(w.id)
            )
            for w in workflows
        ]
    )


@router.get("/api/v1/workflows/{workflow_id}/triggers", responses=READ_ERRORS)
async def list_triggers(workflow_id: str, _: ReadableWorkflow, context: Context) -> TriggerList:
    """The workflow's triggers, each with its name and where its schema and invoke live."""
    triggers = await store.list_triggers(context.resources.pool, workflow_id)
    return TriggerList(
        workflow_id=workflow_id,
        triggers=[_trigger_summary(t, triggers_url(workflow_id)) for t in triggers],
    )


def _trigger_summary(trigger: Trigger, base: str) -> TriggerSummary:
    shown = shown_config(trigger)
    return TriggerSummary(
        id=trigger.id,
        type=trigger.type,
        enabled=trigger.enabled,
        manual_invocation=trigger.manual_invocation,
        manual_invocation_supported=trigger_spec(trigger).supported,
        config=shown,
        name=display_name(trigger, shown),
        schema_url=f"{base}/{trigger.id}/manual-invoke/schema",
        invoke_url=f"{base}/{trigger.id}/manual-invoke",
    )


@router.get(
    "/api/v1/workflows/{workflow_id}/triggers/{trigger_id}/manual-invoke/schema",
    responses=READ_ERRORS,
)
async def trigger_schema(trigger: ReadableTrigger) -> TriggerDescription:
    """The trigger's parameters: JSON Schema narrowed to its config, defaults, examples."""
    return describe_trigger(trigger)


@router.get(
    "/api/v1/invocations/{invocation_id}", response_model=InvokeResult, responses=READ_ERRORS
)
async def get_invocation(invocation_id: str, user: User, context: Context) -> InvokeResult:
    result = await context.statuses.get(invocation_id)
    if result is None:
        raise not_found("Invocation")
    try:
        await readable(context, result.workflow_id, user)
    except Problem:
        raise not_found("Invocation") from None
    return result
