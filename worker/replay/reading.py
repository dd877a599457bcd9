"""Reading a dead-letter queue without consuming or reordering it, and choosing letters from it.

Messages are fetched unacknowledged (streamed by consumers, one share after another, until
the queue says it is empty), and whatever is not acknowledged is handed back in its order
(`dead_letters`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from contracts.models import TriggerType
from worker.paths import get_path
from worker.replay.letters import DeadLetter, DeadLetterQueue

MAX_HELD = 1_000_000  # dead letters looked at in one go (about: a consumer may overshoot)
DELIVERY_PAUSE_SECONDS = 0.05  # no delivery for this long: the consumer has taken its share
# What one consumer holds unacknowledged. With no limit a quorum queue stops a consumer at
# 2,000 (RabbitMQ 3.x), and a get per letter took the rest: 20,000 letters took 14 s. And the
# more one consumer holds, the slower its deliveries come, faster than linearly: 20,000
# letters took 2.5 s in shares of 4,000 or 8,000, 50 s in shares of 16,000, 85 s in one.
PER_CONSUMER = 4_000


@dataclass
class Filters:
    workflow: str | None = None
    trigger: str | None = None
    trigger_type: TriggerType | None = None
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    matches: list[tuple[list[str], Any]] = field(default_factory=list)
    # An invoke request names no type: the (workflow, trigger) pairs of `trigger_type`, from
    # the store, stand in for it.
    of_type: frozenset[tuple[str, str]] = frozenset()

    def accept(self, letter: DeadLetter) -> bool:
        wanted = (self.workflow, self.trigger, self.trigger_type)
        if any(wanted) and not letter.parses:
            return False
        if (
            (self.workflow and letter.workflow_id != self.workflow)
            or (self.trigger and letter.trigger_id != self.trigger)
            or (self.trigger_type and not self._of_type(letter))
        ):
            return False
        if self.reason and letter.reason != self.reason:
            return False
        if (self.since or self.until) and letter.died_at is None:
            return False
        if self.since and letter.died_at and letter.died_at < self.since:
            return False
        if self.until and letter.died_at and letter.died_at > self.until:
            return False
        return all(_matches(letter.document, path, value) for path, value in self.matches)

    def _of_type(self, letter: DeadLetter) -> bool:
        assert self.trigger_type is not None
        if letter.kind is DeadLetterQueue.invoke:
            return (letter.workflow_id, letter.trigger_id) in self.of_type
        return letter.event is not None and letter.event.trigger_type is self.trigger_type


def _matches(document: Any, path: list[str], value: Any) -> bool:
    try:
        found = get_path(document, path)
    except KeyError:
        return False
    return bool(found == value or str(found) == str(value))


@contextlib.asynccontextmanager
async def dead_letters(
    connection: AbstractRobustConnection,
    queue: str,
    kind: DeadLetterQueue = DeadLetterQueue.events,
) -> AsyncIterator[list[DeadLetter]]:
    """Every message in `queue` now, oldest first, held unacknowledged.

    The whole queue is taken before anything is looked at, and whatever is not acked is
    handed back in its original order: RabbitMQ 3.x puts returned messages at the back of a
    quorum queue, so returning only part of it would move that part behind the rest. (A crash
    returns everything held at once, which keeps the order too of what one consumer's share
    held: up to PER_CONSUMER letters.)
    """
    channel = await connection.channel(publisher_confirms=False)
    held: list[DeadLetter] = []
    try:
        await channel.set_qos(prefetch_count=PER_CONSUMER)  # for each consumer of the channel
        source = await channel.declare_queue(queue, passive=True)
        held = [DeadLetter.of(message, kind) for message in await _take_all(source)]
        yield held
        underlay = await channel.get_underlay_channel()
        for last in _last_of_each_share(held):
            await underlay.basic_nack(last, multiple=True, requeue=True)
    finally:
        await channel.close()


def _last_of_each_share(held: list[DeadLetter]) -> list[int]:
    """Where each nack of the hand-back ends: one per run of letters not acked that one taker
    holds (a consumer's share, or a letter a get took alone), in queue order.

    A `multiple` nack returns every outstanding tag up to its own (a tag already acked there
    would close the channel), and a quorum queue returns what one taker held in its order. What
    several takers held it may return grouped by taker instead, when the channel has many
    commands in flight (RabbitMQ 3.10 then holds them back per taker): so a queue of up to
    PER_CONSUMER letters, which one consumer takes, keeps its order, and a longer one as far as
    the broker allows."""
    ends: list[int] = []
    taker: str | None = None
    for letter in held:
        if letter.acked:
            continue
        tag = letter.message.delivery_tag
        assert tag is not None  # every held message came with its delivery tag
        if ends and taker is not None and letter.message.consumer_tag == taker:
            ends[-1] = tag
        else:
            ends.append(tag)
            taker = letter.message.consumer_tag
    return ends


async def _take_all(source: AbstractQueue) -> list[AbstractIncomingMessage]:
    """Every message of the queue, unacknowledged, in queue order.

    A consumer takes the bulk (the broker streams it, where a `basic.get` costs a round trip
    per message), up to PER_CONSUMER; once deliveries pause it is cancelled, and a `basic.get`
    asks the queue itself for the next message. "Empty" ends the fetch: only that answer does,
    since the count in queue.declare-ok can lag behind messages just returned. A message means
    the consumer was full (or the broker slow), and the next consumer takes the next share.
    """
    taken: list[AbstractIncomingMessage] = []
    arrived = asyncio.Event()

    async def hold(message: AbstractIncomingMessage) -> None:
        taken.append(message)
        arrived.set()

    while len(taken) < MAX_HELD:
        tag = await source.consume(hold)
        try:
            await _until_deliveries_pause(arrived, taken)
        finally:
            await source.cancel(tag)
        # Deliveries sent before the cancel-ok are already handed to `hold`, which runs
        # within the next turns of the loop; the get is a round trip, far longer than that.
        message = await source.get(no_ack=False, fail=False)
        if message is None:
            break
        taken.append(message)
    await asyncio.sleep(0)
    # Delivery tags count up in the order the channel received the messages: queue order.
    taken.sort(key=lambda message: message.delivery_tag or 0)
    return taken


async def _until_deliveries_pause(arrived: asyncio.Event, taken: list[Any]) -> None:
    """Until no delivery has come for DELIVERY_PAUSE_SECONDS, or MAX_HELD are held."""
    while len(taken) < MAX_HELD:
        arrived.clear()
        try:
            await asyncio.wait_for(arrived.wait(), DELIVERY_PAUSE_SECONDS)
        except TimeoutError:
            return


async def plan(
    connection: AbstractRobustConnection,
    queue: str,
    filters: Filters,
    limit: int | None,
    sample: int = 5,
    kind: DeadLetterQueue = DeadLetterQueue.events,
) -> tuple[int, list[dict[str, Any]]]:
    """How many dead letters a replay would take, and a few of them; nothing moves."""
    count, shown = 0, list[dict[str, Any]]()
    async with dead_letters(connection, queue, kind) as letters:
        for letter in letters:
            if filters.accept(letter):
                count += 1
                if len(shown) < sample:
                    shown.append(letter.summary())
                if limit is not None and count >= limit:
                    break
    return count, shown
