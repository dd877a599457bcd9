"""A replay: the matching dead letters of a queue, sent again in queue order, each acked only
once its own replay is confirmed."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

from aio_pika.abc import AbstractChannel, AbstractRobustConnection

from worker import amqp
from worker.replay.letters import DeadLetter, DeadLetterQueue
from worker.replay.outcomes import Outcome, ReplayOutcome, ReplaySummary, Unavailable
from worker.replay.reading import dead_letters
from worker.replay.sending import ReplayOptions, republish, resend_request, through_worker
from worker.rpc import InvokeClient

Send = Callable[[DeadLetter], Awaitable[Outcome]]
Progress = Callable[[ReplaySummary], None]


async def replay(
    connection: AbstractRobustConnection,
    queue: str,
    client: InvokeClient,
    options: ReplayOptions,
    stop: asyncio.Event,
    on_progress: Progress = lambda _: None,
) -> ReplaySummary:
    """Replay the matching dead letters, up to `options.window` at a time (each acked only
    once its own replay is confirmed), starting them in queue order at the given rate."""
    pace = _Pace(options.rate)
    publisher = await amqp.confirmed_channel(connection)
    run = _Run(_sender(connection, publisher, client, options, stop), options, stop, on_progress)
    try:
        async with dead_letters(connection, queue, options.kind) as letters:
            await run.start_all(letters, pace)
    finally:
        await publisher.close()
    return run.finish()


def _sender(
    connection: AbstractRobustConnection,
    publisher: AbstractChannel,
    client: InvokeClient,
    options: ReplayOptions,
    stop: asyncio.Event,
) -> Send:
    """How each letter goes: its bytes re-published (`as_is`), an invoke request resent as it
    was, or a trigger event through the manual invocation path."""
    nonce = uuid.uuid4().hex if options.again else ""
    if options.as_is:
        sender = amqp.broker_user(connection)
        return lambda letter: republish(publisher, letter, options.user_id, sender)
    if options.kind is DeadLetterQueue.invoke:
        return lambda letter: resend_request(client, letter, options, nonce, stop)
    return lambda letter: through_worker(client, letter, options, nonce, stop)


class _Pace:
    """At most `rate` starts a second; no pause without a rate."""

    def __init__(self, rate: float | None) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next_at = time.monotonic()

    async def wait(self) -> None:
        if self._interval:
            await asyncio.sleep(max(0.0, self._next_at - time.monotonic()))
            self._next_at = max(self._next_at, time.monotonic()) + self._interval


class _Run:
    """One replay under way: its summary, the letters in flight, and what stopped it."""

    def __init__(
        self, send: Send, options: ReplayOptions, stop: asyncio.Event, on_progress: Progress
    ) -> None:
        self._send = send
        self._options = options
        self._stop = stop
        self._on_progress = on_progress
        self._gate = asyncio.Semaphore(options.window)
        self._halts: list[Unavailable] = []
        self.summary = ReplaySummary()

    async def start_all(self, letters: list[DeadLetter], pace: _Pace) -> None:
        """Start the matching letters in queue order, paced, at most `window` in flight; stop
        at the limit, when asked to, or once the broker or the workers are gone. Then wait
        for the ones in flight."""
        running: set[asyncio.Task[None]] = set()
        for letter in letters:
            if not self._options.filters.accept(letter):
                self.summary.skipped += 1
                continue
            if self._options.limit is not None and self.summary.matched >= self._options.limit:
                break
            await pace.wait()
            await self._gate.acquire()
            if self._stop.is_set() or self._halts:
                self._gate.release()
                self.summary.interrupted = True
                break
            self.summary.matched += 1
            task = asyncio.create_task(self._one(letter))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running)

    async def _one(self, letter: DeadLetter) -> None:
        try:
            outcome = await self._send(letter)
            if outcome is ReplayOutcome.REPLAYED:
                await letter.message.ack()  # only now that its replay is confirmed
            self.summary.count(outcome)
            self._on_progress(self.summary)
        except Unavailable as exc:
            self._halts.append(exc)
        finally:
            self._gate.release()

    def finish(self) -> ReplaySummary:
        for halt in self._halts:
            self.summary.stopped(halt)
        return self.summary
