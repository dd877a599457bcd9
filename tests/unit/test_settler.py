"""Coalesced settling (`worker.amqp.consuming.Settler`) against a model of the broker's view of
one channel: whatever the order in which a channel's deliveries are acked, rejected or
requeued, and however those fall into loop turns, every delivery is settled exactly once, as
its handler said, dead letters keep the order they were given in, and no `multiple` ack covers
a delivery that is still held (for a retry, or in work)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from worker.amqp.consuming import Settler


class Channel:
    """What the broker sees of one channel: the outstanding deliveries, and a fault for any
    frame that settles a tag twice or one that is not outstanding."""

    def __init__(self) -> None:
        self.outstanding: set[int] = set()
        self.settled: dict[int, str] = {}
        self.rejected: list[int] = []  # the order dead letters reach their queue in
        self.frames = 0

    def settle(self, tag: int, how: str, multiple: bool) -> None:
        self.frames += 1
        tags = {t for t in self.outstanding if t <= tag} if multiple else {tag}
        assert tag in self.outstanding, f"{how} of tag {tag}, which is not outstanding"
        for settled in tags:
            self.outstanding.discard(settled)
            self.settled[settled] = how


class Delivery:
    def __init__(self, channel: Channel, tag: int) -> None:
        self.channel = channel
        self.delivery_tag = tag
        channel.outstanding.add(tag)

    async def ack(self, multiple: bool = False) -> None:
        self.channel.settle(self.delivery_tag, "ack", multiple)

    async def reject(self, requeue: bool = False) -> None:
        self.channel.settle(self.delivery_tag, "reject", False)
        self.channel.rejected.append(self.delivery_tag)

    async def nack(self, requeue: bool = True, multiple: bool = False) -> None:
        self.channel.settle(self.delivery_tag, "requeue", multiple)


OUTCOMES = st.sampled_from(["ack", "reject", "requeue", "held"])


@settings(max_examples=300, deadline=None)
@given(
    outcomes=st.lists(OUTCOMES, min_size=1, max_size=40),
    order=st.randoms(use_true_random=False),
    turns=st.lists(st.integers(min_value=1, max_value=8), min_size=1, max_size=40),
)
def test_every_delivery_is_settled_once_as_its_handler_said(
    outcomes: list[str], order: Any, turns: list[int]
) -> None:
    rejected_in_order: list[int] = []

    async def scenario() -> Channel:
        channel, settler = Channel(), Settler()
        deliveries = [Delivery(channel, tag) for tag in range(1, len(outcomes) + 1)]
        for delivery in deliveries:
            settler.delivered(delivery)  # type: ignore[arg-type]
        settling = [d for d, how in zip(deliveries, outcomes, strict=True) if how != "held"]
        order.shuffle(settling)
        sizes = itertools.cycle(turns)
        while settling:  # a few settled in each loop turn, in any order
            size = next(sizes)
            turn, settling = settling[:size], settling[size:]
            for delivery in turn:
                how = outcomes[delivery.delivery_tag - 1]
                if how == "ack":
                    settler.ack(delivery)  # type: ignore[arg-type]
                elif how == "reject":
                    settler.reject(delivery)  # type: ignore[arg-type]
                    rejected_in_order.append(delivery.delivery_tag)
                else:
                    await settler.requeue(delivery)  # type: ignore[arg-type]
            await asyncio.sleep(0)
        await settler.drained()
        return channel

    channel = asyncio.run(scenario())
    expected = {tag: how for tag, how in enumerate(outcomes, start=1) if how != "held"}
    assert channel.settled == expected
    held = {tag for tag, how in enumerate(outcomes, start=1) if how == "held"}
    assert channel.outstanding == held
    assert channel.rejected == rejected_in_order  # dead letters in the order given


def test_acks_of_one_loop_turn_go_out_as_one_frame() -> None:
    async def scenario() -> Channel:
        channel, settler = Channel(), Settler()
        deliveries = [Delivery(channel, tag) for tag in range(1, 65)]
        for delivery in deliveries:
            settler.delivered(delivery)  # type: ignore[arg-type]
        for delivery in reversed(deliveries):
            settler.ack(delivery)  # type: ignore[arg-type]
        await settler.drained()
        return channel

    channel = asyncio.run(scenario())
    assert channel.frames == 1
    assert channel.outstanding == set()
