"""A replay: the matching dead letters of a queue, sent again in queue order, each acked only
once its own replay is confirmed."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

from aio_pika.abc import AbstractChannel, AbstractRobustConnection

from worker import amqp
from worker.replay.acks import Ack, AckRuns
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
        acks = _Acks(letters)
        for index, letter in enumerate(letters):
            if not self._options.filters.accept(letter):
                self.summary.skipped += 1
                await acks.kept(index)
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
            task = asyncio.create_task(self._one(letter, index, acks))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running)
        await acks.finish()

    async def _one(self, letter: DeadLetter, index: int, acks: _Acks) -> None:
        replayed = False
        try:
            outcome = await self._send(letter)
            replayed = outcome is ReplayOutcome.REPLAYED
            if replayed:  # acked only now that its replay is confirmed
                await acks.replayed(index)
            self.summary.count(outcome)
            self._on_progress(self.summary)
        except Unavailable as exc:
            self._halts.append(exc)
        finally:
            self._gate.release()
            if not replayed:
                await acks.kept(index)

    def finish(self) -> ReplaySummary:
        for halt in self._halts:
            self.summary.stopped(halt)
        return self.summary


class _Acks:
    """The acks of a replay's letters, decided by `AckRuns` and sent in the order they were
    decided. A run's ack settles every tag still outstanding below its own: an earlier ack
    that reached the broker after it would name a settled tag, and the broker would close the
    channel (a full write queue of the connection can hold one task's frame while another's
    goes)."""

    def __init__(self, letters: list[DeadLetter]) -> None:
        self._letters = letters
        self._runs = AckRuns(len(letters))
        self._sending = asyncio.Lock()  # first come, first served: the order of deciding

    async def replayed(self, index: int) -> None:
        await self._send(self._runs.replayed(index))

    async def kept(self, index: int) -> None:
        await self._send(self._runs.kept(index))

    async def finish(self) -> None:
        await self._send(self._runs.finish())

    async def _send(self, acks: list[Ack]) -> None:
        if not acks:
            return
        async with self._sending:  # taken before any await since the acks were decided
            for ack in acks:
                message = self._letters[ack.last].message
                assert message.delivery_tag is not None  # held messages all came with one
                # Queued in order, not waited for until written: the next ack need not wait
                # for this one's write (a lost ack only hands the letter back, to be replayed
                # again as the same invocation).
                await message.channel.basic_ack(
                    message.delivery_tag, multiple=ack.multiple, wait=False
                )
                for letter in self._letters[ack.first : ack.last + 1]:
                    letter.acked = True
