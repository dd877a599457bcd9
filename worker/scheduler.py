"""The workflow scheduler: records one `workflow_executions` row per trigger event.

It has no branch for manual events: a manual invocation and a real trigger take the same path
into the same table. The unique event id makes redelivery harmless.
"""

from __future__ import annotations

import asyncpg
import structlog
from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError

from contracts.models import TriggerEvent
from worker import amqp, metrics, store
from worker.settings import Settings

log = structlog.get_logger(__name__)


class Scheduler:
    def __init__(self, settings: Settings, pool: asyncpg.Pool) -> None:
        self._settings = settings
        self._pool = pool

    async def handle(self, message: AbstractIncomingMessage) -> None:
        try:
            event = TriggerEvent.parse(message.body)
        except ValidationError as exc:
            # No retry can fix a malformed event: dead-letter it at once for inspection.
            log.warning(
                "malformed trigger event dead-lettered",
                routing_key=message.routing_key,
                errors=exc.error_count(),
            )
            metrics.SCHEDULER_EVENTS.labels(trigger_type="unknown", outcome="rejected").inc()
            await message.reject(requeue=False)
            return
        bound = log.bind(
            event_id=event.event_id,
            workflow_id=event.workflow_id,
            trigger_id=event.trigger_id,
            trigger_type=event.trigger_type.value,
        )
        try:
            execution_id = await store.record_execution(self._pool, event)
        except store.UnknownTrigger:
            bound.warning("event for unknown workflow or trigger dead-lettered")
            metrics.SCHEDULER_EVENTS.labels(
                trigger_type=event.trigger_type.value, outcome="rejected"
            ).inc()
            await message.reject(requeue=False)
            return
        except Exception:
            bound.exception("recording the execution failed")
            await amqp.retry_later(
                message,
                role="scheduler",
                base=self._settings.retry_backoff_seconds,
                cap=self._settings.retry_backoff_max_seconds,
            )
            return
        # The row is committed (autocommit) before the event is acked.
        await message.ack()
        outcome = "recorded" if execution_id else "duplicate"
        metrics.SCHEDULER_EVENTS.labels(
            trigger_type=event.trigger_type.value, outcome=outcome
        ).inc()
        bound.info("trigger event handled", outcome=outcome, execution_id=execution_id)
