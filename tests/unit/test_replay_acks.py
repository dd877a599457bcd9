"""The acks a replay sends, against RabbitMQ's rules for a channel's outstanding deliveries:
whatever order the replays finish in, every replayed letter is acked once its replay is
confirmed, no other letter ever is, and no ack names a tag that is not outstanding (which
would close the channel, and with it the whole replay)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from types import SimpleNamespace
from typing import cast

from hypothesis import given
from hypothesis import strategies as st

from worker.replay.acks import Ack, AckRuns
from worker.replay.letters import DeadLetter
from worker.replay.runner import _Acks


class Channel:
    """The broker's view: the outstanding tags (positions here), and what each ack settles."""

    def __init__(self, count: int) -> None:
        self.outstanding = set(range(count))

    def ack(self, ack: Ack) -> set[int]:
        assert ack.last in self.outstanding, f"{ack} names a settled tag: the channel closes"
        settled = {t for t in self.outstanding if t <= ack.last} if ack.multiple else {ack.last}
        self.outstanding -= settled
        return settled


@st.composite
def replays(draw: st.DrawFn) -> tuple[int, list[tuple[int, bool]]]:
    """A queue of letters and the order in which their fates become known: replayed, or
    staying (skipped, refused, halted); some never become known (not reached)."""
    count = draw(st.integers(0, 40))
    decided = draw(st.permutations(range(count)))
    decided = decided[: draw(st.integers(0, count))]
    return count, [(index, draw(st.booleans())) for index in decided]


@given(replays())
def test_every_replayed_letter_and_no_other_is_acked(
    case: tuple[int, list[tuple[int, bool]]],
) -> None:
    count, fates = case
    runs = AckRuns(count)
    channel = Channel(count)
    replayed: set[int] = set()
    acked: set[int] = set()
    for index, was_replayed in fates:
        if was_replayed:
            replayed.add(index)
            acks = runs.replayed(index)
        else:
            acks = runs.kept(index)
        for ack in acks:
            settled = channel.ack(ack)
            assert settled <= replayed, "a letter acked before its replay was confirmed"
            # What the replay marks acked (worker/replay/runner.py) is what the broker settled
            assert settled == set(range(ack.first, ack.last + 1))
            acked |= settled
    for ack in runs.finish():
        acked |= channel.ack(ack)
    assert acked == replayed
    assert channel.outstanding == set(range(count)) - replayed


def test_replays_that_finish_in_order_go_in_one_ack_each_run() -> None:
    runs = AckRuns(6)
    assert runs.replayed(1) == []  # waits for the letter before it
    assert runs.replayed(2) == []
    assert runs.replayed(0) == [Ack(0, 2)]
    assert runs.kept(3) == []
    assert runs.replayed(5) == [Ack(5, 5)]  # after a letter that stays: alone
    assert runs.replayed(4) == [Ack(4, 4)]
    assert runs.finish() == []


def test_letters_waiting_behind_one_that_stays_are_acked_alone() -> None:
    runs = AckRuns(4)
    assert runs.replayed(2) == []
    assert runs.replayed(3) == []
    assert runs.kept(1) == [Ack(2, 2), Ack(3, 3)]
    assert runs.replayed(0) == [Ack(0, 0)]
    assert runs.finish() == []


def test_the_end_acks_what_waited_behind_a_letter_never_reached() -> None:
    runs = AckRuns(3)
    assert runs.replayed(1) == []
    assert runs.finish() == [Ack(1, 1)]


class Message:
    """A held letter's message on a channel whose acks, like aiormq's when the connection's
    write queue is full, may wait their turn before they go out (`delays`: turns of the loop,
    per ack)."""

    def __init__(self, channel: Channel, tag: int, delays: Iterator[int]) -> None:
        self.channel, self.delivery_tag, self._delays, self._broker = self, tag, delays, channel

    async def basic_ack(self, delivery_tag: int, multiple: bool = False, wait: bool = True) -> None:
        for _ in range(next(self._delays)):
            await asyncio.sleep(0)
        self._broker.ack(Ack(0 if multiple else delivery_tag, delivery_tag))


def test_acks_reach_the_broker_in_the_order_they_were_decided() -> None:
    """Every way four replays can finish (order and fate), with every ack either going out
    at once or waiting two turns of the loop for the write queue: a run's ack never overtakes
    one decided before it, and what is acked is exactly what was replayed. (Exhaustive over
    this small scope: a random search met the overtaking once in a hundred cases.)"""

    async def scenario(order: tuple[int, ...], fates: tuple[bool, ...], waits: list[int]) -> None:
        channel = Channel(len(order))
        delays = iter(waits)
        letters = [
            SimpleNamespace(message=Message(channel, tag, delays), acked=False)
            for tag in range(len(order))
        ]
        acks = _Acks(cast(list[DeadLetter], letters))

        async def one(index: int, position: int) -> None:
            for _ in range(position):  # the replays finish in `order`
                await asyncio.sleep(0)
            await (acks.replayed(index) if fates[index] else acks.kept(index))

        await asyncio.gather(*(one(index, position) for position, index in enumerate(order)))
        await acks.finish()
        replayed = {index for index, was_replayed in enumerate(fates) if was_replayed}
        assert channel.outstanding == set(range(len(order))) - replayed
        assert {i for i, letter in enumerate(letters) if letter.acked} == replayed

    async def every_scenario() -> None:
        count = 4
        for order in itertools.permutations(range(count)):
            for fates in itertools.product((True, False), repeat=count):
                for waits in itertools.product((0, 2), repeat=count):
                    await scenario(order, fates, list(waits))

    asyncio.run(every_scenario())


def test_a_run_decided_later_does_not_overtake_an_ack_still_waiting_to_go_out() -> None:
    channel = Channel(3)
    delays = iter([3, 0])  # the first ack waits three turns for the write queue; the run, none
    letters = [SimpleNamespace(message=Message(channel, t, delays), acked=False) for t in range(3)]

    async def replay() -> None:
        acks = _Acks(cast(list[DeadLetter], letters))

        async def later_ones() -> None:
            await acks.replayed(2)
            await acks.replayed(1)  # the run of 1 and 2: one ack, `multiple`

        await asyncio.gather(acks.replayed(0), later_ones())

    asyncio.run(replay())
    assert channel.outstanding == set()
