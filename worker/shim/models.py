"""What the shim's routes take and answer: every body has a model, so OpenAPI (and the
panel's generated types) say each field."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from pydantic.config import JsonDict

from contracts.executions import ExecutionStatus
from contracts.models import InvokeResult, StorableText, TriggerType
from contracts.triggers import WirePreview

MAX_PAGE = 100


class InvokeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Trigger parameters; see the schema endpoint."
    )
    description: StorableText | None = Field(default=None, max_length=2000)
    dry_run: StrictBool = Field(default=False, description="A JSON boolean, not a string.")


class InvokeAnswer(InvokeResult):
    """The HTTP answer to an invocation: the worker's `InvokeResult`, and what its event would
    put on the wire."""

    wire_preview: WirePreview | None = Field(
        default=None,
        description="The resolved event as its receiver would see it; null without "
        "trigger_data. Cut (ending in …) when the answer would be too large.",
    )


class WorkflowSummary(BaseModel):
    id: str
    name: str
    role: str = Field(description="viewer, operator, editor or owner")
    triggers_url: str


class WorkflowList(BaseModel):
    workflows: list[WorkflowSummary]


class TriggerSummary(BaseModel):
    """A trigger as the list shows it."""

    id: str
    type: TriggerType
    enabled: bool
    manual_invocation: bool
    manual_invocation_supported: bool
    config: dict[str, Any] = Field(description="The trigger's config, secrets redacted")
    name: str = Field(description="A name a person recognises, from the trigger's config")
    schema_url: str
    invoke_url: str


class TriggerList(BaseModel):
    workflow_id: str
    triggers: list[TriggerSummary]


class ExecutionFailure(BaseModel):
    """Why an execution failed (or was cancelled), as its engine reported it."""

    message: str
    code: str | None = None
    details: dict[str, Any] | None = None


DATE_TIME: JsonDict = {"format": "date-time"}
REPRODUCING = (
    "The parameters that reproduce this execution, ready to edit and send to its trigger's "
    "manual-invoke endpoint: a manual invocation's own parameters; for an event a real trigger "
    "published, or a replayed dead letter, its trigger data read back into the trigger type's "
    "parameters, without what they cannot express or an invocation would refuse. Redacted as "
    "trigger_data is: what the redaction hides is left out. Null when nothing can be read back "
    "(the trigger of a real event no longer exists)."
)


class ExecutionRecord(BaseModel):
    """An execution as the scheduler recorded it and its engine reported it, redacted where its
    trigger carries credentials."""

    execution_id: str
    event_id: str
    workflow_id: str
    trigger_id: str
    trigger_type: str
    status: ExecutionStatus = Field(
        description="pending → running → succeeded, failed or cancelled; never goes back."
    )
    status_message: str | None = Field(
        description="While pending: what it waits for (the workflow engine); else null."
    )
    trigger_data: dict[str, Any]
    input_data: Any
    metadata: dict[str, Any]
    created_at: str = Field(json_schema_extra=DATE_TIME, description="When it was recorded.")
    started_at: str | None = Field(
        json_schema_extra=DATE_TIME, description="When the engine started it; null before."
    )
    finished_at: str | None = Field(
        json_schema_extra=DATE_TIME, description="When it reached a final status; null before."
    )
    duration_ms: int | None = Field(
        description="finished_at minus started_at in milliseconds; null until both are known."
    )
    output: Any = Field(description="A succeeded run's output summary (any JSON), or null.")
    error: ExecutionFailure | None = Field(description="Why it failed (or was cancelled), or null.")
    events_url: str = Field(description="Its live status stream (Server-Sent Events).")
    parameters: dict[str, Any] | None = Field(description=REPRODUCING)


class ExecutionSummary(BaseModel):
    """An execution as a list shows it: what ran, when, by whom, and the parameters that
    reproduce it."""

    execution_id: str
    event_id: str
    trigger_id: str
    trigger_type: str
    status: ExecutionStatus
    created_at: datetime
    finished_at: datetime | None = Field(
        None, description="When it reached a final status; null before."
    )
    manual: bool = Field(
        description="Invoked by hand (a replay of a dead letter too), not published by a real "
        "trigger."
    )
    initiated_by: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = Field(None, description=REPRODUCING)
    execution_url: str


class ExecutionPage(BaseModel):
    workflow_id: str
    executions: list[ExecutionSummary]
    next_cursor: str | None = None
