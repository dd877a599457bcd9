"""A STAND-IN workflow engine, for demonstrations and tests: it runs nothing.

The platform's workflow engine runs the executions the scheduler records; this stand-in only
pretends to, so that a person (or a test) sees an execution go pending → running →
succeeded (or failed) without the platform. It is also the reference for engine authors: it
does what a real engine must, in the fewest lines, using only the public contract
(contracts/executions.py, docs/amqp.md "Reporting executions"):

1. Find the work. New executions are announced on the PostgreSQL channel `STATUS_CHANNEL`
   when they are recorded; LISTEN to start at once, and sweep the pending rows every
   `SWEEP_SECONDS` anyway, since a notification is lost while the listening connection is.
2. Report each step as an `ExecutionUpdate` on the updates exchange, routing key = the
   status, persistent and publisher-confirmed: first `running`, then a final status.
3. Do not worry about duplicates: the scheduler applies updates forward only, so a step
   reported twice (after a restart, say) or late changes nothing.

Nothing else in the service depends on this module: with no engine running, executions stay
`pending`. Run it with `manual-trigger engine` (`manual-trigger run` starts it too).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from aio_pika.abc import AbstractChannel

from contracts.executions import (
    MAX_ERROR_MESSAGE,
    STATUS_CHANNEL,
    ExecutionError,
    ExecutionStatus,
    ExecutionUpdate,
)
from contracts.topology import execution_update_routing_key
from worker import amqp, store
from worker.outage import BROKER_ERRORS, BROKER_FAILURES, OUTAGE_ERRORS
from worker.settings import Settings

log = structlog.get_logger(__name__)

ENGINE_NAME = "manual-trigger stand-in engine"  # the `engine` of its updates
SWEEP_SECONDS = 3.0  # pending rows are looked for at least this often
MAX_IN_HAND = 1000  # executions held at once; more wait for a later sweep
RECHECK_SECONDS = 30.0  # an execution reported on is not taken again for this long
STALE_RUNNING_SECONDS = 30.0  # its own `running` older than this: it was stopped mid-run
RETRY_SECONDS = 1.0  # after a lost broker or database connection
ECHO_MAX_BYTES = 1024  # inputs up to this size (as JSON) are echoed in the output
SUMMARY_KEYS = 20  # input keys named in the output, each cut to 100 characters
FAILURE_MESSAGE = "the workflow input asked for a failure"
PROBLEMS = (*OUTAGE_ERRORS, asyncpg.PostgresError)  # the database is away, or refuses
PUBLISH_PROBLEMS: tuple[type[BaseException], ...] = (*BROKER_ERRORS, *BROKER_FAILURES)


def requested_failure(execution: store.Unfinished) -> str | None:
    """Why the run should fail, when its input asks to: a truthy top-level `fail` in an object
    input (a MANUAL trigger's `inputs` too); a string value is the message."""
    candidates = [execution.input_data]
    if execution.trigger_type == "MANUAL" and isinstance(execution.trigger_data, dict):
        candidates.append(execution.trigger_data.get("inputs"))
    for inputs in candidates:
        if isinstance(inputs, dict) and inputs.get("fail"):
            wanted = inputs["fail"]
            return wanted[:MAX_ERROR_MESSAGE] if isinstance(wanted, str) else FAILURE_MESSAGE
    return None


def _summary(inputs: Any) -> dict[str, Any]:
    size = len(json.dumps(inputs, ensure_ascii=False, separators=(",", ":")).encode())
    if isinstance(inputs, dict):
        keys = [key[:100] for key in sorted(inputs)[:SUMMARY_KEYS]]
        return {"type": "object", "keys": keys, "key_count": len(inputs), "bytes": size}
    if isinstance(inputs, list):
        return {"type": "array", "items": len(inputs), "bytes": size}
    return {"type": "null" if inputs is None else type(inputs).__name__, "bytes": size}


def final_update(execution: store.Unfinished, at: datetime) -> ExecutionUpdate:
    """How the pretend run ends: `failed` when the input asks for it, else `succeeded` with a
    small output made from the input (an engine's output is bounded by the contract)."""
    common: dict[str, Any] = {"execution_id": execution.execution_id, "at": at}
    if (message := requested_failure(execution)) is not None:
        error = ExecutionError(message=message, code="requested_failure")
        failed = ExecutionStatus.FAILED
        return ExecutionUpdate(status=failed, error=error, engine=ENGINE_NAME, **common)
    summary = _summary(execution.input_data)
    output: dict[str, Any] = {"engine": ENGINE_NAME, "trigger_type": execution.trigger_type}
    output["input_summary"] = summary
    if summary["bytes"] <= ECHO_MAX_BYTES:
        output["echo"] = execution.input_data
    return ExecutionUpdate(
        status=ExecutionStatus.SUCCEEDED, output=output, engine=ENGINE_NAME, **common
    )


class StandInEngine:
    """The `engine` role: finds pending executions and reports a pretend run of each."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, broker: amqp.Broker) -> None:
        self._settings = settings
        self._pool = pool
        self._broker = broker
        # Execution id -> when it may be taken again: never while its run is under way.
        self._in_hand: dict[str, float] = {}
        self._runs: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()  # a new execution was announced: sweep now
        self._channel: AbstractChannel | None = None
        self._opening = asyncio.Lock()

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen(stop))
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    self._take(await self._find_work(), stop)
                except PROBLEMS as exc:
                    log.warning("engine could not look for executions", error=repr(exc))
                await _first(stop.wait(), self._wake.wait(), timeout=SWEEP_SECONDS)
        finally:
            listener.cancel()
            for task in self._runs:
                task.cancel()  # a run cut short is found again by the next sweep
            await asyncio.gather(listener, *self._runs, return_exceptions=True)
            if self._channel is not None:
                with contextlib.suppress(*PUBLISH_PROBLEMS):
                    await self._channel.close()

    async def _find_work(self) -> list[store.Unfinished]:
        now = asyncio.get_running_loop().time()
        for execution_id in [k for k, until in self._in_hand.items() if until <= now]:
            del self._in_hand[execution_id]
        room = MAX_IN_HAND - len(self._in_hand)
        if room <= 0:
            return []
        return await store.unfinished_executions(
            self._pool,
            engine=ENGINE_NAME,
            skip=list(self._in_hand),
            running_for=STALE_RUNNING_SECONDS,
            limit=room,
        )

    def _take(self, executions: list[store.Unfinished], stop: asyncio.Event) -> None:
        for execution in executions:
            self._in_hand[execution.execution_id] = math.inf
            task = asyncio.create_task(self._pretend_to_run(execution, stop))
            self._runs.add(task)
            task.add_done_callback(self._runs.discard)

    async def _pretend_to_run(self, execution: store.Unfinished, stop: asyncio.Event) -> None:
        settings = self._settings
        try:
            if execution.status is ExecutionStatus.PENDING:
                await asyncio.sleep(settings.engine_start_seconds)
                running = ExecutionUpdate(
                    execution_id=execution.execution_id,
                    status=ExecutionStatus.RUNNING,
                    at=datetime.now(UTC),
                    engine=ENGINE_NAME,
                )
                await self._report(running, stop)
            await asyncio.sleep(settings.engine_run_seconds)
            await self._report(final_update(execution, datetime.now(UTC)), stop)
        finally:
            loop = asyncio.get_running_loop()
            self._in_hand[execution.execution_id] = loop.time() + RECHECK_SECONDS

    async def _report(self, update: ExecutionUpdate, stop: asyncio.Event) -> None:
        """Publish the update, persistent, mandatory and confirmed; while the broker is away,
        try again (the update is not lost: until it is confirmed, this run holds it)."""
        while not stop.is_set():
            try:
                channel = await self._publishing_channel()
                exchange = await channel.get_exchange(
                    self._settings.topology.updates_exchange, ensure=False
                )
                message_id = f"{update.execution_id}:{update.status.value}"
                with amqp.as_broker_failure():
                    await exchange.publish(
                        amqp.json_message(update.body(), message_id=message_id),
                        routing_key=execution_update_routing_key(update.status),
                        mandatory=True,
                    )
                log.info("reported", execution_id=update.execution_id, status=update.status.value)
                return
            except PUBLISH_PROBLEMS as exc:
                log.warning("could not report; trying again", error=repr(exc))
                self._channel = None
                await asyncio.sleep(RETRY_SECONDS)

    async def _publishing_channel(self) -> AbstractChannel:
        """One confirmed channel on the role's broker connection, opened again once lost."""
        async with self._opening:
            if self._channel is None or self._channel.is_closed:
                connection = await amqp.live_connection(self._broker)
                self._channel = await amqp.confirmed_channel(connection)
            return self._channel

    async def _listen(self, stop: asyncio.Event) -> None:
        """LISTEN on `STATUS_CHANNEL` on a connection of its own, connecting again when it is
        lost; each (re)connection sweeps at once for what was announced meanwhile."""
        dsn = self._settings.database_url.get_secret_value()
        while not stop.is_set():
            lost = asyncio.Event()
            try:
                connection = await asyncpg.connect(dsn)
            except PROBLEMS as exc:
                log.warning("engine cannot listen yet", error=repr(exc))
                await _first(stop.wait(), timeout=RETRY_SECONDS)
                continue
            try:
                connection.add_termination_listener(lambda _connection, event=lost: event.set())
                await connection.add_listener(STATUS_CHANNEL, self._heard)
                self._wake.set()
                await _first(stop.wait(), lost.wait())
            except PROBLEMS as exc:
                log.warning("engine stopped listening", error=repr(exc))
            finally:
                with contextlib.suppress(*PROBLEMS):
                    await connection.close(timeout=2)

    def _heard(self, _connection: Any, _pid: int, _channel: str, execution_id: str) -> None:
        # Its own reports are announced too: only an execution not in hand is news.
        if execution_id not in self._in_hand:
            self._wake.set()


async def _first(*waits: Awaitable[Any], timeout: float | None = None) -> None:
    """Wait until the first of `waits` is done (or `timeout`), and cancel the others."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
