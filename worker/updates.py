"""Execution updates, applied by the scheduler role: what the workflow engine reports about the
executions the scheduler recorded (contracts/executions.py, docs/amqp.md "Reporting
executions").

Each update is applied in one transaction, forward only (pending → running → a final status),
and the transition it makes is announced on `STATUS_CHANNEL` at its commit. A duplicate or a
late step (`running` after `succeeded`) changes nothing and is acked; an update for an
execution nobody recorded, or one that does not parse, is dead-lettered at once (the
`updates` dead-letter queue: `manual-trigger dlq list --queue updates`). An outage of
PostgreSQL is waited out by the lifecycle (worker/consume.py), like the scheduler's.
"""

from __future__ import annotations

import enum
from typing import Any

import asyncpg
import structlog
from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError

from contracts.executions import MAX_UPDATE_BYTES, ExecutionUpdate
from worker import metrics, store
from worker.consume import Consumer, Outcome
from worker.outage import Dependencies
from worker.settings import Settings

log = structlog.get_logger(__name__)


class UnknownExecution(Exception):
    """The update names an execution that was never recorded."""


class UpdateOutcome(enum.Enum):
    """What became of one update (the `outcome` label of
    manual_trigger_execution_updates_total and of the `execution update handled` log line)."""

    APPLIED = "applied"  # the execution moved forward
    STALE = "stale"  # a duplicate, or a step behind the execution's status: nothing changed
    UNKNOWN_EXECUTION = "unknown_execution"  # no such execution: dead-lettered
    MALFORMED = "malformed"  # does not parse, or holds what PostgreSQL refuses: dead-lettered


def _count(status: str, outcome: UpdateOutcome) -> None:
    metrics.EXECUTION_UPDATES.labels(status=status, outcome=outcome.value).inc()


class ExecutionUpdates:
    """The updates consumer: `handle` is its queue's handler (`worker.consume.Consumer`)."""

    name = "updates"
    kind = "execution update"
    max_bytes: int | None = MAX_UPDATE_BYTES

    def __init__(self, settings: Settings, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._consumer = Consumer(
            self,
            settings,
            Dependencies.of("updates", settings, pool),
        )

    async def handle(self, message: AbstractIncomingMessage) -> None:
        await self._consumer.handle(message)

    # The role's part of the lifecycle (worker/consume.py).

    def parse(self, body: bytes) -> ExecutionUpdate:
        return ExecutionUpdate.parse(body)

    async def malformed(
        self, message: AbstractIncomingMessage, error: ValidationError | ValueError
    ) -> Outcome:
        log.warning(
            "malformed execution update dead-lettered",
            routing_key=message.routing_key,
            errors=error.error_count() if isinstance(error, ValidationError) else 1,
        )
        _count(metrics.UNKNOWN, UpdateOutcome.MALFORMED)
        return Outcome.DEAD_LETTER

    def context(self, update: ExecutionUpdate) -> dict[str, Any]:
        return {"execution_id": update.execution_id, "status": update.status.value}

    async def admit(self, message: AbstractIncomingMessage, update: ExecutionUpdate) -> None:
        return None  # every update that parses is applied

    async def run(self, message: AbstractIncomingMessage, update: ExecutionUpdate) -> bool:
        """True when the execution moved forward, False for a stale or duplicate update;
        raises `UnknownExecution` (dead-lettered) when there is no such execution."""
        applied = await store.apply_update(self._pool, update)
        if applied is store.Applied.UNKNOWN:
            raise UnknownExecution(update.execution_id)
        return applied is store.Applied.APPLIED

    def failed(self, update: ExecutionUpdate, error: Exception) -> Outcome:
        if isinstance(error, UnknownExecution):
            log.warning("update for an unknown execution dead-lettered")
            _count(update.status.value, UpdateOutcome.UNKNOWN_EXECUTION)
            return Outcome.DEAD_LETTER
        if isinstance(error, store.UnstorableUpdate):
            log.warning("update the database refuses dead-lettered", reason=str(error)[:200])
            _count(update.status.value, UpdateOutcome.MALFORMED)
            return Outcome.DEAD_LETTER
        log.exception("applying the execution update failed", exc_info=error)
        return Outcome.RETRY

    def done(
        self,
        message: AbstractIncomingMessage,
        update: ExecutionUpdate,
        moved: bool,
        seconds: float,
    ) -> None:
        outcome = UpdateOutcome.APPLIED if moved else UpdateOutcome.STALE
        _count(update.status.value, outcome)
        log.info(
            "execution update handled",
            outcome=outcome.value,
            engine=update.engine,
            redelivered=message.redelivered,
        )
