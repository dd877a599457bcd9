"""Consuming a queue: deliveries handed out in batches, acks coalesced per channel, retries after
a backoff counted by the broker, and a graceful stop. What a handler does with its messages is
worker/consume.py's lifecycle.

Deliveries that arrive in one turn of the event loop (up to `max_batch`) go to one call of the
batch handler: a role that does each stage once for the lot (the invoke worker: one Redis
call per stage, its events' confirms in flight together) pays per-message costs once per batch. A
role that handles messages one by one gets a task per message, as before.

Acks and rejects are coalesced (`Settler`): those given in one loop turn go out together at
its end, rejects first in the order given (so dead letters keep it), then the acks as one
`basic.ack` with `multiple` up to the highest delivery tag below which nothing is left
unsettled on the channel (a message held for a retry, or still being handled, is never
covered), and one by one above it. A requeue after a backoff goes out at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import structlog
from aio_pika import IncomingMessage
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue
from aiormq.abc import DeliveredMessage
from pamqp.commands import Basic

from worker import metrics

log = structlog.get_logger(__name__)

Handler = Callable[[AbstractIncomingMessage], Awaitable[None]]
BatchHandler = Callable[[list[AbstractIncomingMessage]], Awaitable[None]]
# Past this many doublings every backoff is at its cap anyway; a forged header cannot overflow.
MAX_BACKOFF_DOUBLINGS = 32
MAX_BATCH = 64  # deliveries per batch
MAX_BATCHES_IN_FLIGHT = 2  # one at work while the next one's I/O is awaited


class Ended(enum.Enum):
    """Why a consumer stopped: the role asked it to, its channel was lost (nothing in flight
    can be acked any more), or the broker cancelled it (the channel still acks what is in
    flight; the caller consumes anew)."""

    STOPPED = "stopped"
    LOST = "lost"
    CANCELLED = "cancelled by the broker"


class Settler:
    """The settling of one channel's deliveries. Acks and rejects given in one loop turn go
    out together at its end, without the caller waiting: the rejects first, in the order they
    were given (dead letters keep it), then the acks, as one `multiple` ack up to the lowest
    delivery still unsettled and one by one above it. Requeues (after a backoff) go at once.
    Knows every delivery not yet settled, so a `multiple` ack never covers one of them."""

    def __init__(self) -> None:
        self._unsettled: dict[int, AbstractIncomingMessage] = {}
        self._acks: list[AbstractIncomingMessage] = []
        self._rejects: list[AbstractIncomingMessage] = []
        self._flushing: asyncio.Task[None] | None = None

    def delivered(self, message: AbstractIncomingMessage) -> None:
        self._unsettled[_tag(message)] = message

    def ack(self, message: AbstractIncomingMessage) -> None:
        self._settle_later(message, self._acks)

    def reject(self, message: AbstractIncomingMessage) -> None:
        """Dead-letter the message (rejected without requeue)."""
        self._settle_later(message, self._rejects)

    async def requeue(self, message: AbstractIncomingMessage) -> None:
        self._unsettled.pop(_tag(message), None)
        await message.nack(requeue=True)

    def holds(self, message: AbstractIncomingMessage) -> bool:
        """Whether the message is still to be settled (by this channel's knowledge)."""
        return _tag(message) in self._unsettled

    async def drained(self) -> None:
        """Every ack and reject given so far has been written."""
        while self._flushing is not None:
            await asyncio.shield(self._flushing)

    def _settle_later(
        self, message: AbstractIncomingMessage, into: list[AbstractIncomingMessage]
    ) -> None:
        self._unsettled.pop(_tag(message), None)
        into.append(message)
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(0)  # let the rest of this loop turn add its own
            rejects, self._rejects = self._rejects, []
            acks, self._acks = sorted(self._acks, key=_tag), []
            for message in rejects:
                await message.reject(requeue=False)
            barrier = min(self._unsettled, default=None)
            covered = [m for m in acks if barrier is None or _tag(m) < barrier]
            if covered:
                await covered[-1].ack(multiple=len(covered) > 1)
            for message in acks[len(covered) :]:
                await message.ack()
        except Exception:  # the channel is gone: the broker hands the messages out again
            log.warning("could not settle; the broker redelivers", exc_info=True)
        finally:
            self._flushing = None
            if self._acks or self._rejects:  # given while this flush was writing
                self._flushing = asyncio.get_running_loop().create_task(self._flush())


def _tag(message: AbstractIncomingMessage) -> int:
    return message.delivery_tag or 0


# The settler of the channel the message being handled came on (set for each handler task).
_SETTLER: contextvars.ContextVar[Settler | None] = contextvars.ContextVar("settler", default=None)


async def ack(message: AbstractIncomingMessage) -> None:
    """Ack a consumed message: coalesced with the others of its channel when it came through
    `consume_until`, at once otherwise."""
    settler = _SETTLER.get()
    if settler is None:
        await message.ack()
    else:
        settler.ack(message)


async def reject(message: AbstractIncomingMessage) -> None:
    """Dead-letter a consumed message (rejected without requeue): in order with the other
    rejects of its channel when it came through `consume_until`, at once otherwise."""
    settler = _SETTLER.get()
    if settler is None:
        await message.reject(requeue=False)
    else:
        settler.reject(message)


def delivery_count(message: AbstractIncomingMessage) -> int:
    """How often the quorum queue delivered this message before (its own count, not ours).
    A publisher can forge the header on a first delivery: anything odd counts as 0."""
    count = (message.headers or {}).get("x-delivery-count", 0)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        return 0
    return count


async def retry_later(
    message: AbstractIncomingMessage, *, role: str, base: float, cap: float
) -> None:
    """Return a message to its queue after an exponential backoff; the queue counts the tries."""
    attempt = delivery_count(message)
    delay = min(cap, base * 2 ** min(attempt, MAX_BACKOFF_DOUBLINGS))
    metrics.TRANSIENT_FAILURES.labels(role=role).inc()
    log.warning("transient failure, will retry", attempt=attempt + 1, retry_in_s=delay)
    await asyncio.sleep(delay)
    settler = _SETTLER.get()
    if settler is None:
        await message.nack(requeue=True)
    else:
        await settler.requeue(message)


async def _dead_letter_unsettled(messages: list[AbstractIncomingMessage]) -> None:
    """The settling path is total: a handler that failed even to ack, nack or retry must not
    leave its messages unacked, holding prefetch slots until the process restarts."""
    log.exception("message handling failed; dead-lettering what it left unsettled")
    settler = _SETTLER.get()
    for message in messages:
        if not (settler.holds(message) if settler is not None else not message.processed):
            continue
        try:
            await reject(message)
        except Exception:  # the channel is gone: the broker hands the message back by itself
            log.warning("could not dead-letter; the broker redelivers it", exc_info=True)


def one_by_one(handler: Handler) -> BatchHandler:
    """A batch handler that handles each message on its own task, concurrently."""

    async def each(messages: list[AbstractIncomingMessage]) -> None:
        for message in messages:
            _spawn(_guarded(handler, message))

    return each


async def _guarded(handler: Handler, message: AbstractIncomingMessage) -> None:
    try:
        await handler(message)
    except Exception:
        await _dead_letter_unsettled([message])


# Every handler task of this process still running, so that a stop can wait for them.
_RUNNING: contextvars.ContextVar[set[asyncio.Task[None]] | None] = contextvars.ContextVar(
    "running", default=None
)


def beside(work: Awaitable[None]) -> None:
    """Run `work` beside the batch that asks (a retry waiting out its backoff): the batch is
    done without it, and a stop of `consume_until` still waits for it."""
    if _RUNNING.get() is not None:
        _spawn(work)
        return
    task = asyncio.ensure_future(work)  # a batch handled outside consume_until (tests)
    _OUTSIDE.add(task)
    task.add_done_callback(_OUTSIDE.discard)


_OUTSIDE: set[asyncio.Future[None]] = set()


def _spawn(work: Awaitable[None]) -> asyncio.Task[None]:
    running = _RUNNING.get()
    assert running is not None, "handlers run inside consume_until"
    task = asyncio.ensure_future(work)
    running.add(task)
    task.add_done_callback(running.discard)
    return task


async def consume_until(
    queue: AbstractQueue,
    handler: Handler | None,
    stop: asyncio.Event,
    grace_seconds: float,
    *,
    batches: BatchHandler | None = None,
    max_batch: int = MAX_BATCH,
) -> None:
    """Consume until `stop` is set, the channel is lost or the broker cancels the consumer,
    handing the deliveries to `handler` one by one, or in batches to `batches`; on `stop` or
    a cancel, stop consuming, let in-flight messages finish within the grace period and cancel
    the rest (their messages go back to the queue unacked)."""
    handle_batch = batches if batches is not None else one_by_one(_required(handler))
    settler = Settler()
    running: set[asyncio.Task[None]] = set()
    inbox: list[AbstractIncomingMessage] = []
    arrived = asyncio.Event()

    async def deliver(delivered: DeliveredMessage) -> None:
        # Straight from aiormq (aio-pika's own consumer would add a task per message).
        message = IncomingMessage(delivered, no_ack=False)
        settler.delivered(message)
        inbox.append(message)
        arrived.set()

    tokens = _SETTLER.set(settler), _RUNNING.set(running)
    try:
        ended = await _consume(queue, deliver, arrived, inbox, handle_batch, max_batch, stop)
        await _stop_consuming(queue, ended, running, settler, grace_seconds)
    finally:
        _SETTLER.reset(tokens[0])
        _RUNNING.reset(tokens[1])


async def _consume(
    queue: AbstractQueue,
    deliver: Callable[[DeliveredMessage], Coroutine[Any, Any, None]],
    arrived: asyncio.Event,
    inbox: list[AbstractIncomingMessage],
    handle_batch: BatchHandler,
    max_batch: int,
    stop: asyncio.Event,
) -> Ended:
    underlay = await queue.channel.get_underlay_channel()
    # The broker may end the consumer and keep the channel (Basic.Cancel, as when the queue is
    # deleted); a consumer that waited on would receive nothing, for ever.
    cancelled = asyncio.get_running_loop().create_future()
    tag: str | None = None

    def on_cancel(frame: Basic.Cancel) -> None:
        if frame.consumer_tag == tag and not cancelled.done():
            cancelled.set_result(None)

    underlay.on_consumer_cancel_callbacks.add(on_cancel)
    tag = (await underlay.basic_consume(queue.name, deliver)).consumer_tag
    assert tag is not None
    log.info("consuming", queue=queue.name)
    stopping = asyncio.ensure_future(stop.wait())
    lost = asyncio.ensure_future(queue.channel.closed())
    batches: set[asyncio.Task[None]] = set()
    ends = {stopping, lost, cancelled}
    try:
        while not any(end.done() for end in ends):
            waiting = asyncio.ensure_future(arrived.wait())
            await asyncio.wait({waiting, *ends}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            await asyncio.sleep(0)  # the rest of this turn's deliveries join the batch
            # While enough batches are at work, deliveries wait and join the next one: under
            # load batches grow by themselves, and an idle consumer starts one at once.
            while len(batches) >= MAX_BATCHES_IN_FLIGHT and not lost.done():
                await asyncio.wait({*batches, lost}, return_when=asyncio.FIRST_COMPLETED)
            while inbox and not lost.done():
                batch, inbox[:] = inbox[:max_batch], inbox[max_batch:]
                task = _spawn(_batch_guarded(handle_batch, batch))
                batches.add(task)
                task.add_done_callback(batches.discard)
            arrived.clear()
    finally:
        underlay.on_consumer_cancel_callbacks.discard(on_cancel)
        stopping.cancel()
        lost.cancel()
    if lost.done() and not lost.cancelled():
        return Ended.LOST
    if cancelled.done():
        log.warning("consumer cancelled by the broker", queue=queue.name)
        return Ended.CANCELLED
    await queue.cancel(tag)
    return Ended.STOPPED


async def _batch_guarded(handle_batch: BatchHandler, batch: list[AbstractIncomingMessage]) -> None:
    try:
        await handle_batch(batch)
    except Exception:
        await _dead_letter_unsettled(batch)


def _required(handler: Handler | None) -> Handler:
    if handler is None:
        raise TypeError("consume_until needs a handler or batches")
    return handler


async def _stop_consuming(
    queue: AbstractQueue,
    ended: Ended,
    running: set[asyncio.Task[None]],
    settler: Settler,
    grace_seconds: float,
) -> None:
    pending: set[asyncio.Task[None]] = set()
    if ended is Ended.LOST:
        # The channel or its connection is gone: no message in flight can be acked any more,
        # and the broker hands every one of them out again; the caller consumes anew.
        pending = set(running)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        log.warning("consumer lost its channel", queue=queue.name, cancelled=len(pending))
        return
    while running:  # a batch handler may spawn message handlers while it finishes
        _, pending = await asyncio.wait(set(running), timeout=grace_seconds)
        if pending:
            break
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    await settler.drained()
    log.info("stopped consuming", queue=queue.name, cancelled=len(pending), why=ended.value)
