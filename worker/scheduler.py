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
import enum
from typing import Any

import asyncpg
import structlog
from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError

from contracts.models import TriggerEvent
from contracts.redaction import Redaction
from contracts.triggers import trigger_redaction
from worker import metrics, store
from worker.consume import BatchConsumer, Outcome
from worker.outage import Dependencies
from worker.settings import Settings

log = structlog.get_logger(__name__)

BATCH_SIZE = 200
BATCH_WAIT_SECONDS = 0.025  # per-batch costs (a statement, a commit, a pool reset) dwarf rows
REDACTION_TTL_SECONDS = 10.0  # a trigger's config change reaches its records within this


class EventOutcome(enum.Enum):
    """What became of one trigger event (the `outcome` label of
    manual_trigger_scheduler_events_total and of the `trigger event handled` log line)."""

    RECORDED = "recorded"  # its execution row was committed
    DUPLICATE = "duplicate"  # seen before: its row exists already
    REJECTED = "rejected"  # malformed, or its row refused: dead-lettered


def _count(trigger_type: str, outcome: EventOutcome) -> None:
    metrics.SCHEDULER_EVENTS.labels(trigger_type=trigger_type, outcome=outcome.value).inc()


class Scheduler:
    """The scheduler role: `handle` is its queue's handler (`worker.consume.Consumer`)."""

    name = "scheduler"
    kind = "trigger event"
    max_bytes: int | None = None  # the broker's own message size limit bounds an event

    def __init__(self, settings: Settings, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._consumer = BatchConsumer(
            self,
            settings,
            Dependencies.of("scheduler", settings, pool),
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
        await self._consumer.handle(message)

    async def handle_batch(self, messages: list[AbstractIncomingMessage]) -> None:
        await self._consumer.handle_batch(messages)

    # The role's part of the lifecycle (worker/consume.py).

    def parse(self, body: bytes) -> TriggerEvent:
        return TriggerEvent.parse(body)

    async def malformed(
        self, message: AbstractIncomingMessage, error: ValidationError | ValueError
    ) -> Outcome:
        # No retry can fix a malformed event: dead-letter it at once for inspection.
        log.warning(
            "malformed trigger event dead-lettered",
            routing_key=message.routing_key,
            errors=error.error_count() if isinstance(error, ValidationError) else 1,
        )
        _count("unknown", EventOutcome.REJECTED)
        # Dead letters keep arrival order: the events that came before it settle first.
        await self._earlier_settled()
        return Outcome.DEAD_LETTER

    def context(self, event: TriggerEvent) -> dict[str, Any]:
        return {
            "event_id": event.event_id,
            "workflow_id": event.workflow_id,
            "trigger_id": event.trigger_id,
            "trigger_type": event.trigger_type.value,
        }

    async def admit(self, message: AbstractIncomingMessage, event: TriggerEvent) -> None:
        return None  # every event that parses is recorded

    async def run(self, message: AbstractIncomingMessage, event: TriggerEvent) -> str | None:
        """Its execution id once its row is committed (the ack follows), None if seen before."""
        return await self._record(event)

    async def run_batch(
        self, items: list[tuple[AbstractIncomingMessage, TriggerEvent]]
    ) -> list[str | Exception | None]:
        """Each event's execution id once its row is committed, None if seen before; or why
        it was not recorded. The events join the next batch insert together."""
        recorded = [self._record(event) for _, event in items]
        results: list[str | Exception | None] = []
        for result in await asyncio.gather(*recorded, return_exceptions=True):
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result  # cancelled: the batch goes back to the queue unacked
            results.append(result)
        return results

    def failed(self, event: TriggerEvent, error: Exception) -> Outcome:
        if isinstance(error, store.UnrecordableEvent):
            log.warning("event the database refuses dead-lettered", reason=str(error)[:200])
            _count(event.trigger_type.value, EventOutcome.REJECTED)
            return Outcome.DEAD_LETTER
        log.exception("recording the execution failed", exc_info=error)
        return Outcome.RETRY

    def done(
        self,
        message: AbstractIncomingMessage,
        event: TriggerEvent,
        execution_id: str | None,
        seconds: float,
    ) -> None:
        outcome = EventOutcome.RECORDED if execution_id else EventOutcome.DUPLICATE
        _count(event.trigger_type.value, outcome)
        log.info(
            "trigger event handled",
            **self.context(event),
            outcome=outcome.value,
            execution_id=execution_id,
            redelivered=message.redelivered,
        )

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
