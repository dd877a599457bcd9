"""Consuming a queue: a handler per message, retries after a backoff counted by the broker,
and a graceful stop. What a handler does with a message is worker/consume.py's lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from worker import metrics

log = structlog.get_logger(__name__)

Handler = Callable[[AbstractIncomingMessage], Awaitable[None]]
# Past this many doublings every backoff is at its cap anyway; a forged header cannot overflow.
MAX_BACKOFF_DOUBLINGS = 32


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
    await message.nack(requeue=True)


async def _dead_letter_unsettled(message: AbstractIncomingMessage) -> None:
    """The settling path is total: a handler that failed even to ack, nack or retry must not
    leave its message unacked, holding a prefetch slot until the process restarts."""
    log.exception("message handling failed; dead-lettering it", message_id=message.message_id)
    if message.processed:
        return
    try:
        await message.reject(requeue=False)
    except Exception:  # the channel is gone: the broker hands the message back by itself
        log.warning("could not dead-letter; the broker redelivers it", exc_info=True)


async def consume_until(
    queue: AbstractQueue, handler: Handler, stop: asyncio.Event, grace_seconds: float
) -> None:
    """Consume until `stop` is set or the channel is lost; on `stop`, stop consuming, let
    in-flight messages finish within the grace period and cancel the rest (their messages go
    back to the queue unacked)."""
    in_flight: set[asyncio.Task[None]] = set()

    async def tracked(message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        in_flight.add(task)
        try:
            await handler(message)
        except Exception:
            await _dead_letter_unsettled(message)
        finally:
            in_flight.discard(task)

    tag = await queue.consume(tracked)
    log.info("consuming", queue=queue.name)
    stopping = asyncio.ensure_future(stop.wait())
    lost = asyncio.ensure_future(queue.channel.closed())
    await asyncio.wait({stopping, lost}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    lost.cancel()
    pending: set[asyncio.Task[None]] = set()
    if not stop.is_set():
        # The channel or its connection is gone: no message in flight can be acked any more,
        # and the broker hands every one of them out again; the caller consumes anew.
        pending = set(in_flight)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        log.warning("consumer lost its channel", queue=queue.name, cancelled=len(pending))
        return
    await queue.cancel(tag)
    if in_flight:
        _, pending = await asyncio.wait(set(in_flight), timeout=grace_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    log.info("stopped consuming", queue=queue.name, cancelled=len(pending))
