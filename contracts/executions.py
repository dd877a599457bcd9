"""An execution's life after the scheduler records it: what a workflow engine reports.

The platform's workflow engine runs recorded executions and reports each step by publishing an
`ExecutionUpdate` onto the execution updates exchange (docs/amqp.md, "Reporting executions").
The scheduler applies them to `workflow_executions`: forward only (pending → running → a final
status; a late `running` after `succeeded` changes nothing), a duplicate is harmless, an update
for an execution nobody recorded is dead-lettered like any bad event.

Every applied transition is announced on the PostgreSQL channel `STATUS_CHANNEL` (payload: the
execution id), in the transaction that makes it, so that whoever watches an execution (the
shim's live status stream, `manual-trigger invoke --wait`) hears of it once it is committed.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.documents import storable_problems, walk
from contracts.models import StorableText

# NOTIFY channel of committed execution transitions (and of newly recorded executions); the
# payload is the execution id.
STATUS_CHANNEL = "mti_execution_status"
EXECUTION_ID_PATTERN = r"^exec_[0-9a-f]{32}$"
MAX_OUTPUT_BYTES = 64 * 1024  # an output summary or an error's details, as compact JSON
MAX_ERROR_MESSAGE = 4096  # characters
MAX_DEPTH = 64  # levels of nesting in an output or an error's details
# A whole update message: room for an output or an error's details at their bound, and more.
MAX_UPDATE_BYTES = 4 * MAX_OUTPUT_BYTES
WAITING_FOR_ENGINE = "waiting for the workflow engine"


class ExecutionStatus(StrEnum):
    PENDING = "pending"  # recorded by the scheduler; no engine has reported on it yet
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (
            ExecutionStatus.SUCCEEDED,
            ExecutionStatus.FAILED,
            ExecutionStatus.CANCELLED,
        )

    @property
    def step(self) -> int:
        """0 pending, 1 running, 2 finished: a transition only ever raises it. It is also the
        id of the live stream's event for this status (`Last-Event-ID` resumes after it)."""
        if self is ExecutionStatus.PENDING:
            return 0
        return 2 if self.final else 1


def _json_problem(value: Any) -> str | None:
    """Why PostgreSQL's jsonb cannot hold `value` as the engine sent it, or None."""
    if any(depth > MAX_DEPTH for _, depth, _ in walk(value)):
        return f"is nested deeper than {MAX_DEPTH} levels"
    for _, code, problem in storable_problems(value):
        if code == "number_out_of_range":
            return "holds a number JSON cannot (NaN or an infinity)"
        return problem
    return None


def _bounded_json(value: Any, what: str) -> None:
    if problem := _json_problem(value):
        raise ValueError(f"{what} {problem}")
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_OUTPUT_BYTES:
        raise ValueError(f"{what} is {size} bytes as JSON; at most {MAX_OUTPUT_BYTES}")


class ExecutionError(BaseModel):
    """Why an execution failed (or was cancelled), as the engine tells it."""

    model_config = ConfigDict(extra="forbid")

    message: Annotated[StorableText, StringConstraints(min_length=1, max_length=MAX_ERROR_MESSAGE)]
    code: Annotated[StorableText, StringConstraints(min_length=1, max_length=200)] | None = None
    details: dict[str, Any] | None = Field(
        default=None, description=f"Anything more, at most {MAX_OUTPUT_BYTES} bytes as JSON."
    )

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if self.details is not None:
            _bounded_json(self.details, "details")
        return self


class ExecutionUpdate(BaseModel):
    """One step of a recorded execution, reported by the workflow engine that runs it."""

    # A tolerant reader, as for trigger events: fields a newer engine adds are ignored.
    model_config = ConfigDict(extra="ignore")

    execution_id: Annotated[str, StringConstraints(pattern=EXECUTION_ID_PATTERN)]
    status: ExecutionStatus = Field(
        description="running, succeeded, failed or cancelled (pending is the scheduler's)."
    )
    at: AwareDatetime = Field(description="When the execution reached this status.")
    output: Any = Field(
        default=None,
        description=f"A succeeded run's output summary, at most {MAX_OUTPUT_BYTES} bytes as JSON.",
    )
    error: ExecutionError | None = Field(
        default=None, description="Why a run failed (required) or was cancelled (optional)."
    )
    engine: Annotated[StorableText, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="Which engine (and instance) reports."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.status is ExecutionStatus.PENDING:
            raise ValueError("pending is where an execution starts, not an update")
        if self.output is not None:
            if self.status is not ExecutionStatus.SUCCEEDED:
                raise ValueError("only a succeeded execution has an output")
            _bounded_json(self.output, "output")
        if self.error is not None and self.status not in (
            ExecutionStatus.FAILED,
            ExecutionStatus.CANCELLED,
        ):
            raise ValueError("only a failed or cancelled execution has an error")
        if self.status is ExecutionStatus.FAILED and self.error is None:
            raise ValueError("a failed execution says why: error.message")
        return self

    def body(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def parse(cls, body: bytes | str) -> Self:
        return cls.model_validate_json(body)
