"""The executions table: recording trigger events (one row each, exactly once) and reading
the executions back, page by page."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from contracts.executions import STATUS_CHANNEL
from contracts.ids import execution_id_for_event
from contracts.models import TriggerEvent


class UnrecordableEvent(Exception):
    """The database refuses this event's row for a reason of the row's own (data it cannot
    hold, a constraint it breaks): no retry can fix it, and it must not hold back others."""


class UnknownTrigger(UnrecordableEvent):
    """The event names a workflow or trigger that does not exist."""


# PostgreSQL error classes about the row itself, not the server: 22 data exception (NUL in
# text, unpaired surrogates, bad JSON numbers), 23 integrity constraint violation, 54
# program limit exceeded (a value too large).
ROW_ERRORS = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.ProgramLimitExceededError,
)


async def record_execution(pool: asyncpg.Pool, event: TriggerEvent) -> str | None:
    """Insert the execution for this event; its id, or None if the event was seen before.
    The new execution is announced on `STATUS_CHANNEL` by the same statement (at its commit).
    Raises `UnrecordableEvent` when the row itself is refused."""
    execution_id = execution_id_for_event(event.event_id)
    try:
        inserted = await pool.fetchval(
            """WITH ins AS (
                   INSERT INTO workflow_executions
                       (execution_id, event_id, workflow_id, trigger_id, trigger_type,
                        trigger_data, input_data, metadata)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                   ON CONFLICT (event_id) DO NOTHING
                   RETURNING execution_id)
               SELECT execution_id, pg_notify($9, execution_id) FROM ins""",
            execution_id,
            event.event_id,
            event.workflow_id,
            event.trigger_id,
            event.trigger_type.value,
            event.trigger_data,
            event.input_data,
            event.metadata,
            STATUS_CHANNEL,
        )
    except asyncpg.ForeignKeyViolationError as exc:
        raise UnknownTrigger(f"{event.workflow_id}/{event.trigger_id}") from exc
    except ROW_ERRORS as exc:
        raise UnrecordableEvent(f"{type(exc).__name__}: {exc}") from exc
    return inserted  # type: ignore[no-any-return]


async def record_executions(
    pool: asyncpg.Pool, events: list[TriggerEvent]
) -> dict[str, str | None]:
    """Insert the executions of many events in one statement: event id -> its execution id,
    or None for an event seen before. Each new execution is announced on `STATUS_CHANNEL` by
    the same statement, still one round trip. Raises UnrecordableEvent if any row is refused (the
    caller then records them one by one to find which)."""
    try:
        rows = await pool.fetch(
            """WITH ins AS (
                   INSERT INTO workflow_executions
                       (execution_id, event_id, workflow_id, trigger_id, trigger_type,
                        trigger_data, input_data, metadata)
                   SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                                        $5::text[], $6::jsonb[], $7::jsonb[], $8::jsonb[])
                   ON CONFLICT (event_id) DO NOTHING
                   RETURNING event_id, execution_id)
               SELECT event_id, execution_id, pg_notify($9, execution_id) FROM ins""",
            [execution_id_for_event(e.event_id) for e in events],
            [e.event_id for e in events],
            [e.workflow_id for e in events],
            [e.trigger_id for e in events],
            [e.trigger_type.value for e in events],
            [e.trigger_data for e in events],
            [e.input_data for e in events],
            [e.metadata for e in events],
            STATUS_CHANNEL,
        )
    except ROW_ERRORS as exc:
        raise UnrecordableEvent("a row of the batch was refused") from exc
    inserted = {row["event_id"]: row["execution_id"] for row in rows}
    return {e.event_id: inserted.get(e.event_id) for e in events}


@dataclass(frozen=True)
class Execution:
    execution_id: str
    event_id: str
    workflow_id: str
    trigger_id: str
    trigger_type: str
    status: str
    trigger_data: dict[str, Any]
    input_data: Any
    metadata: dict[str, Any]
    created_at: datetime  # when the scheduler recorded it
    # What the engine reported (contracts/executions.py); none of it before it does.
    started_at: datetime | None = None
    finished_at: datetime | None = None
    output: Any = None
    error: dict[str, Any] | None = None
    engine: str | None = None
    updated_at: datetime | None = None  # when the last transition was applied


async def get_execution(pool: asyncpg.Pool, execution_id: str) -> Execution | None:
    row = await pool.fetchrow(
        """SELECT execution_id, event_id, workflow_id, trigger_id, trigger_type, status,
                  trigger_data, input_data, metadata, created_at, started_at, finished_at,
                  output, error, engine, updated_at
             FROM workflow_executions WHERE execution_id = $1""",
        execution_id,
    )
    return Execution(**dict(row)) if row else None


class BadCursor(ValueError):
    """A paging cursor this service did not hand out."""


def encode_cursor(execution: Execution) -> str:
    """An opaque position after `execution` in newest-first order: (created_at, id)."""
    key = f"{execution.created_at.isoformat()}|{execution.execution_id}"
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, execution_id = raw.split("|", 1)
        moment = datetime.fromisoformat(created_at)
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors too
        raise BadCursor(cursor) from exc
    if moment.tzinfo is None or not execution_id:
        raise BadCursor(cursor)
    return moment, execution_id


async def list_executions(
    pool: asyncpg.Pool,
    workflow_id: str,
    *,
    trigger_id: str | None,
    manual: bool | None,
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[Execution]:
    """A workflow's executions, newest first, optionally of one trigger and manual or not,
    starting after a cursor position. Served by the (workflow_id[, trigger_id], created_at)
    indexes; ties on created_at are broken by execution_id so that pages never overlap."""
    before_time, before_id = after if after is not None else (None, None)
    rows = await pool.fetch(
        """SELECT execution_id, event_id, workflow_id, trigger_id, trigger_type, status,
                  trigger_data, input_data, metadata, created_at, started_at, finished_at,
                  output, error, engine, updated_at
             FROM workflow_executions
            WHERE workflow_id = $1
              AND ($2::text IS NULL OR trigger_id = $2)
              AND ($3::boolean IS NULL
                   OR (metadata @> '{"manual_invocation": true}'::jsonb) = $3)
              AND ($4::timestamptz IS NULL OR (created_at, execution_id) < ($4, $5::text))
            ORDER BY created_at DESC, execution_id DESC
            LIMIT $6""",
        workflow_id,
        trigger_id,
        manual,
        before_time,
        before_id,
        limit,
    )
    return [Execution(**dict(row)) for row in rows]
