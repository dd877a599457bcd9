"""The workflow scheduler: records one `workflow_executions` row per trigger event.

It has no branch for manual events: a manual invocation and a real trigger take the same path
into the same table. The unique event id makes redelivery harmless. Events that arrive
together are inserted together (up to `BATCH_SIZE`, waiting at most `BATCH_WAIT_SECONDS`, and
not at all after a quiet spell), one statement and one commit for the lot; each event is
acked once its row is committed.

Each record is redacted as it is written (docs/security.md, "Secrets: hidden by location"): the
values at the locations its trigger declares secret (signature and credential headers, a
Slack token, URLs built from the config) never reach the table, so no later reader, and no
rotation of the secret, can show them.

One bad event harms only itself: when the database refuses a batch for a row's own reason,
the batch is recorded row by row, and only the refused rows are dead-lettered, at once.
Batches are written one at a time, in arrival order, and a malformed event waits for those
that arrived before it, so dead letters keep that order too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import structlog
from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError

from contracts.models import TriggerEvent
from contracts.redaction import Redaction
from contracts.triggers import trigger_redaction
from worker import amqp, metrics, store
from worker.outage import Dependencies
from worker.settings import Settings

log = structlog.get_logger(__name__)

BATCH_SIZE = 200
BATCH_WAIT_SECONDS = 0.025  # per-batch costs (a statement, a commit, a pool reset) dwarf rows
REDACTION_TTL_SECONDS = 10.0  # a trigger's config change reaches its records within this


class Scheduler:
    def __init__(self, settings: Settings, pool: asyncpg.Pool) -> None:
        self._settings = settings
        self._pool = pool
        self._dependencies = Dependencies(
            pool,
            None,
            role="scheduler",
            base=settings.retry_backoff_seconds,
            cap=settings.retry_backoff_max_seconds,
        )
        self._pending: list[tuple[TriggerEvent, asyncio.Future[str | None]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        # Flushes run one after another (asyncio.Lock is first come, first served), so events
        # settle, and dead letters are rejected, in the order they arrived.
        self._writing = asyncio.Lock()
        self._last_arrival = float("-inf")
        # The future of the event that arrived last: futures settle in arrival order, so once
        # it has settled, so has every event before it.
        self._latest: asyncio.Future[str | None] | None = None
        self._redactions: dict[tuple[str, str], tuple[float, Redaction]] = {}

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
            # Dead letters keep arrival order: the events that came before it settle first.
            await self._earlier_settled()
            await message.reject(requeue=False)
            return
        bound = log.bind(
            event_id=event.event_id,
            workflow_id=event.workflow_id,
            trigger_id=event.trigger_id,
            trigger_type=event.trigger_type.value,
        )
        try:
            execution_id = await self._record_through_outages(event)
        except store.UnrecordableEvent as exc:
            bound.warning("event the database refuses dead-lettered", reason=str(exc)[:200])
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
        # The row is committed before the event is acked.
        await message.ack()
        outcome = "recorded" if execution_id else "duplicate"
        metrics.SCHEDULER_EVENTS.labels(
            trigger_type=event.trigger_type.value, outcome=outcome
        ).inc()
        bound.info(
            "trigger event handled",
            outcome=outcome,
            execution_id=execution_id,
            redelivered=message.redelivered,
        )

    async def _record_through_outages(self, event: TriggerEvent) -> str | None:
        """Record the event; while the database is unreachable, hold it rather than fail it."""
        while True:
            try:
                return await self._record(event)
            except Exception as exc:
                if not await self._dependencies.wait_out(exc):
                    raise

    async def _earlier_settled(self) -> None:
        """Wait until every event that arrived before now has settled (and its handler, woken
        first, has acked or rejected it)."""
        latest = self._latest
        if latest is not None and not latest.done():
            await asyncio.wait([latest])

    def _record(self, event: TriggerEvent) -> asyncio.Future[str | None]:
        """Queue the event for the next batch; resolves to its execution id once committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str | None] = loop.create_future()
        now = loop.time()
        quiet = now - self._last_arrival > BATCH_WAIT_SECONDS and not self._flushes
        self._last_arrival = now
        self._pending.append((event, done))
        self._latest = done
        if len(self._pending) >= BATCH_SIZE:
            self._flush_now()
        elif self._timer is None:
            # An event after a quiet spell is written at once (with whatever arrives in the
            # same turn of the loop); while events keep coming, they gather for a bigger batch.
            wait = 0.0 if quiet else BATCH_WAIT_SECONDS
            self._timer = loop.call_later(wait, self._flush_now)
        return done

    def _flush_now(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.get_running_loop().create_task(self._flush(batch))
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    async def _flush(self, batch: list[tuple[TriggerEvent, asyncio.Future[str | None]]]) -> None:
        async with self._writing:
            await self._write(batch)

    async def _redacted(self, events: list[TriggerEvent]) -> list[TriggerEvent]:
        """Each event as its record is written: redacted where its trigger declares secrets
        (a trigger that does not exist gets the defaults; its row is refused anyway)."""
        now = asyncio.get_running_loop().time()
        keys = {(e.workflow_id, e.trigger_id) for e in events}
        missing = [k for k in keys if self._redactions.get(k, (0.0,))[0] <= now]
        if missing:
            found = await store.load_triggers(self._pool, missing)
            if len(self._redactions) > 10_000:
                self._redactions.clear()
            for key in missing:
                redaction = trigger_redaction(found[key]) if key in found else Redaction()
                self._redactions[key] = (now + REDACTION_TTL_SECONDS, redaction)
        redacted = []
        for event in events:
            redaction = self._redactions[(event.workflow_id, event.trigger_id)][1]
            record = redaction.record(
                {"trigger_data": event.trigger_data, "input_data": event.input_data}
            )
            redacted.append(event.model_copy(update=record))
        return redacted

    async def _write(self, batch: list[tuple[TriggerEvent, asyncio.Future[str | None]]]) -> None:
        try:
            events = await self._redacted([event for event, _ in batch])
            results: dict[str, Any] = await store.record_executions(self._pool, events)
        except store.UnrecordableEvent:
            # Some row of the batch is refused: find out which, one by one; only those fail.
            for event, (_, done) in zip(events, batch, strict=True):
                try:
                    _settle(done, result=await store.record_execution(self._pool, event))
                except Exception as exc:
                    _settle(done, error=exc)
            return
        except Exception as exc:
            for _, done in batch:
                _settle(done, error=exc)
            return
        for event, done in batch:
            _settle(done, result=results[event.event_id])


def _settle(
    future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
