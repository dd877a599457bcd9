"""One message's lifecycle, the same for every consuming role (the invoke worker, the scheduler).

    parse (size bound, model) --malformed--> role.malformed --> its Outcome (dead letter)
      | the logging context (role.context), bound where the message's own lines are logged
      v
    role.admit (before any I/O of the role's own; e.g. the worker's authentication)
      | None: go on                       an Outcome: settle it now
      v
    role.run, run again after each outage of PostgreSQL/Redis (`Dependencies.wait_out`)
      | returned: ACK                     raised: role.failed decides RETRY or DEAD_LETTER
      v
    settle: ack / retry later (backoff from the broker's delivery count) / dead-letter
      | acked after run
      v
    role.done (the role's metrics and log line)

What a role does differently stays in the role: the worker's replies to malformed and
unauthenticated requests, the scheduler's batching and the order of its dead letters. A
settling step that itself fails is caught by `amqp.consume_until`, which dead-letters the
message rather than leave it unacked.
"""

from __future__ import annotations

import enum
import time
from typing import Any, Generic, Protocol, TypeVar

import structlog
from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError

from worker import amqp
from worker.outage import OUTAGE_ERRORS, Dependencies
from worker.settings import Settings

T = TypeVar("T")
R = TypeVar("R")


class Outcome(enum.Enum):
    """How a message leaves the consumer."""

    ACK = "ack"  # handled, or answered for good (a refusal is an answer)
    RETRY = "retry"  # back to its queue after a backoff; the delivery limit bounds the tries
    DEAD_LETTER = "dead_letter"  # no retry can help: rejected without requeue, to the DLQ


class TooLarge(ValueError):
    """A message body over the role's size bound (refused before it is parsed)."""


class Role(Protocol[T, R]):
    """What one consuming role supplies to the lifecycle; `T` is the parsed message, `R` what
    handling it produced."""

    name: str  # the `role` label of manual_trigger_transient_failures_total
    kind: str  # what a message is called in errors ("invoke message")
    max_bytes: int | None  # the size bound of a message body, if the role sets one

    def parse(self, body: bytes) -> T:
        """The message's model; raises ValidationError or ValueError when malformed."""
        ...

    async def malformed(
        self, message: AbstractIncomingMessage, error: ValidationError | ValueError
    ) -> Outcome:
        """Log, count (and answer, if the role does) a message that does not parse."""
        ...

    def context(self, item: T) -> dict[str, Any]:
        """The logging context: bound while a message is handled alone, and around a batch
        item's failure (a batch role's refusals in `admit` and its `done` line log it
        themselves: binding it for every item of every batch cost a fortieth of the worker)."""
        ...

    async def admit(self, message: AbstractIncomingMessage, item: T) -> Outcome | None:
        """None to go on; else the outcome of a message refused before any work."""
        ...

    async def run(self, message: AbstractIncomingMessage, item: T) -> R:
        """The work; raises for a failure. Run again after an outage, so it is idempotent."""
        ...

    def failed(self, item: T, error: Exception) -> Outcome:
        """Log and classify a failure that was no outage: RETRY or DEAD_LETTER."""
        ...

    def done(self, message: AbstractIncomingMessage, item: T, result: R, seconds: float) -> None:
        """The role's metrics and log line, once the message is acked."""
        ...


class BatchRole(Role[T, R], Protocol):
    """A role that does each stage of its work once for a batch of messages."""

    async def run_batch(
        self, items: list[tuple[AbstractIncomingMessage, T]]
    ) -> list[R | Exception]:
        """The work of each item, in order: what it produced, or the failure that was its own
        (one item's failure never fails the others). Run again after an outage for the items
        it failed, so it is idempotent."""
        ...


class Consumer(Generic[T, R]):
    """The lifecycle of `role`'s messages; its `handle` is the queue's handler."""

    def __init__(
        self, role: Role[T, R], settings: Settings, dependencies: Dependencies | None
    ) -> None:
        self._role = role
        self._dependencies = dependencies
        self._backoff = settings.retry_backoff_seconds
        self._backoff_cap = settings.retry_backoff_max_seconds

    async def handle(self, message: AbstractIncomingMessage) -> None:
        started = time.perf_counter()
        role = self._role
        try:
            item = self.parse(message.body)
        except (ValidationError, ValueError) as exc:
            await self.settle(message, await role.malformed(message, exc))
            return
        with structlog.contextvars.bound_contextvars(**role.context(item)):
            outcome = await role.admit(message, item)
            if outcome is not None:
                await self.settle(message, outcome)
                return
            try:
                result = await self._through_outages(message, item)
            except Exception as exc:
                await self.settle(message, role.failed(item, exc))
                return
            # Nothing may suspend between the end of the work and the ack: the scheduler's
            # dead letters keep arrival order because handlers woken in order ack in order.
            await self.settle(message, Outcome.ACK)
            role.done(message, item, result, time.perf_counter() - started)

    def parse(self, body: bytes) -> T:
        limit = self._role.max_bytes
        if limit is not None and len(body) > limit:
            raise TooLarge(f"{self._role.kind} larger than {limit} bytes")
        return self._role.parse(body)

    async def _through_outages(self, message: AbstractIncomingMessage, item: T) -> R:
        """Run the work; while PostgreSQL or Redis is unreachable, hold the message and run it
        again once they are back, so an outage spends no delivery."""
        while True:
            try:
                return await self._role.run(message, item)
            except Exception as exc:
                if self._dependencies is None or not await self._dependencies.wait_out(exc):
                    raise

    async def settle(self, message: AbstractIncomingMessage, outcome: Outcome) -> None:
        """Ack (coalesced with the channel's other acks: no suspension), retry or dead-letter."""
        if outcome is Outcome.ACK:
            await amqp.ack(message)
        elif outcome is Outcome.RETRY:
            await amqp.retry_later(
                message, role=self._role.name, base=self._backoff, cap=self._backoff_cap
            )
        else:
            await amqp.reject(message)


class BatchConsumer(Consumer[T, R]):
    """The same lifecycle for a batch of messages at a time (`handle_batch`, the queue's batch
    handler): each message is parsed, admitted and settled on its own, and the admitted ones
    are run together by the role."""

    def __init__(
        self, role: BatchRole[T, R], settings: Settings, dependencies: Dependencies | None
    ) -> None:
        super().__init__(role, settings, dependencies)
        self._batch_role = role

    async def handle_batch(self, messages: list[AbstractIncomingMessage]) -> None:
        """Parse and admit each message, run the admitted ones together, then settle every
        message in arrival order (an ack or a dead letter does not suspend, so the batches
        that a role finishes in order settle in order: dead letters keep arrival order)."""
        started = time.perf_counter()
        role = self._batch_role
        settled: dict[int, Outcome] = {}
        admitted: list[tuple[AbstractIncomingMessage, T]] = []
        for index, message in enumerate(messages):
            try:
                item = self.parse(message.body)
            except (ValidationError, ValueError) as exc:
                settled[index] = await role.malformed(message, exc)
                continue
            outcome = await role.admit(message, item)  # a refusal logs with the item's context
            if outcome is None:
                admitted.append((message, item))
            else:
                settled[index] = outcome
        results = iter(zip(admitted, await self._batch_through_outages(admitted), strict=True))
        for index, message in enumerate(messages):
            if index in settled:
                await self._settle_in_line(message, settled[index])
                continue
            (_, item), result = next(results)
            if isinstance(result, Exception):
                with structlog.contextvars.bound_contextvars(**role.context(item)):
                    await self._settle_in_line(message, role.failed(item, result))
            else:  # the common case binds no context: `done` logs the item's own
                await self.settle(message, Outcome.ACK)
                role.done(message, item, result, time.perf_counter() - started)

    async def _settle_in_line(self, message: AbstractIncomingMessage, outcome: Outcome) -> None:
        if outcome is Outcome.RETRY:
            # Each retry waits out its own backoff beside the batch, never holding it up
            amqp.beside(self.settle(message, Outcome.RETRY))
        else:
            await self.settle(message, outcome)  # an ack or a dead letter: queued, no wait

    async def _batch_through_outages(
        self, admitted: list[tuple[AbstractIncomingMessage, T]]
    ) -> list[R | Exception]:
        """The batch's results; the items that failed because PostgreSQL or Redis could not be
        reached are held and run again once they are back (an outage spends no delivery)."""
        results: list[R | Exception] = [Exception("not run")] * len(admitted)
        pending = list(range(len(admitted)))
        while pending:
            ran = await self._batch_role.run_batch([admitted[i] for i in pending])
            again = []
            for index, result in zip(pending, ran, strict=True):
                results[index] = result
                if isinstance(result, OUTAGE_ERRORS):
                    again.append(index)
            if not again or self._dependencies is None:
                break
            if not await self._dependencies.wait_out(results[again[0]]):  # type: ignore[arg-type]
                break
            pending = again
        return results
