"""An execution's life after it is recorded: the engine's updates applied (forward only, each
transition announced on `STATUS_CHANNEL` in its own transaction), and what an engine looks for.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import asyncpg

from contracts.executions import STATUS_CHANNEL, ExecutionStatus, ExecutionUpdate
from worker.store.executions import ROW_ERRORS


class Applied(enum.Enum):
    """What applying one update did (the scheduler's `UpdateOutcome` adds `malformed`)."""

    APPLIED = "applied"  # the row moved forward; the transition was announced
    STALE = "stale"  # the row is already there or further on (a duplicate, a late `running`)
    UNKNOWN = "unknown_execution"  # no such execution


class UnstorableUpdate(Exception):
    """PostgreSQL refuses what the update carries for a reason of its own (SQLSTATE classes
    22, 23, 54): no retry can fix it."""


# The step of the status a row has now, in SQL (`ExecutionStatus.step`): 0 pending, 1 running,
# 2 final. An update applies only when its own step is higher.
_CURRENT_STEP = "CASE status WHEN 'pending' THEN 0 WHEN 'running' THEN 1 ELSE 2 END"

# One statement, so one transaction: the forward-only UPDATE, the NOTIFY of the row it changed
# (sent at commit), and whether the execution exists at all (to tell stale from unknown).
# `started_at` is set by the first step out of pending: `running`, or a final status reported
# without a `running` before it. The CTEs run whether or not the outer query reads them
# (a data-modifying one always does; `notified` is read).
_APPLY = f"""
WITH moved AS (
    UPDATE workflow_executions
       SET status = $2,
           started_at = CASE WHEN status = 'pending' THEN $3 ELSE started_at END,
           finished_at = CASE WHEN $4 THEN $3 ELSE NULL END,
           output = $5,
           error = $6,
           engine = coalesce($7, engine),
           updated_at = now()
     WHERE execution_id = $1 AND {_CURRENT_STEP} < $8
 RETURNING execution_id
), notified AS (
    SELECT pg_notify($9, execution_id) FROM moved
)
SELECT (SELECT count(*) FROM notified) AS moved,
       EXISTS (SELECT 1 FROM workflow_executions WHERE execution_id = $1) AS known
"""  # noqa: S608 -- a constant expression


async def apply_update(pool: asyncpg.Pool, update: ExecutionUpdate) -> Applied:
    """Apply one engine update to its execution, forward only, in one transaction."""
    error = update.error.model_dump(exclude_none=True) if update.error else None
    try:
        row = await pool.fetchrow(
            _APPLY,
            update.execution_id,
            update.status.value,
            update.at,
            update.status.final,
            update.output,
            error,
            update.engine,
            update.status.step,
            STATUS_CHANNEL,
        )
    except ROW_ERRORS as exc:
        raise UnstorableUpdate(f"{type(exc).__name__}: {exc}") from exc
    assert row is not None
    if row["moved"]:
        return Applied.APPLIED
    return Applied.STALE if row["known"] else Applied.UNKNOWN


@dataclass(frozen=True)
class Unfinished:
    """An execution an engine should run (or finish): what it needs of the row."""

    execution_id: str
    status: ExecutionStatus
    trigger_type: str
    trigger_data: dict[str, Any]
    input_data: Any


async def unfinished_executions(
    pool: asyncpg.Pool,
    *,
    engine: str,
    skip: list[str],
    running_for: float,
    limit: int,
) -> list[Unfinished]:
    """Oldest first, at most `limit`: the pending executions, and those `engine` reported
    running over `running_for` seconds ago (it was stopped mid-run), except the `skip` ids.
    Served by the partial indexes on pending and running rows."""
    rows = await pool.fetch(
        """SELECT execution_id, status, trigger_type, trigger_data, input_data
             FROM workflow_executions
            WHERE (status = 'pending'
                   OR (status = 'running' AND engine = $2
                       AND updated_at < now() - make_interval(secs => $3)))
              AND NOT (execution_id = ANY($1::text[]))
            ORDER BY created_at
            LIMIT $4""",
        skip,
        engine,
        running_for,
        limit,
    )
    return [
        Unfinished(
            row["execution_id"],
            ExecutionStatus(row["status"]),
            row["trigger_type"],
            row["trigger_data"],
            row["input_data"],
        )
        for row in rows
    ]
