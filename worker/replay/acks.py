"""Which acks a replay sends for its letters: runs of them in one ack where it can.

A replay holds every letter of its queue unacknowledged, in queue order (delivery tags count
up on the channel), and acks each once its own replay is confirmed. A `basic.ack` with
`multiple` settles every outstanding tag up to its own, and RabbitMQ applies it to the quorum
queue as one command where single acks cost one each. So the replayed letters right after the
last acked one go in one ack, waiting, if they must, for a letter before them still in flight.

A letter that stays in the queue (skipped by the filters, refused, never reached) must never be
inside such a run: after the first of those, every replayed letter is acked on its own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ack:
    """The letters from `first` to `last` (positions among those held, in queue order): one
    ack of `last`, with `multiple` when it covers more than that one."""

    first: int
    last: int

    @property
    def multiple(self) -> bool:
        return self.first < self.last


class AckRuns:
    def __init__(self, count: int) -> None:
        self._waiting = [False] * count  # replayed, its ack waiting for the run to reach it
        self._acked_below = 0  # every letter before this one is acked
        self._first_kept = count  # the first letter that stays: no run reaches it

    def replayed(self, index: int) -> list[Ack]:
        """The acks to send now that this letter's replay is confirmed."""
        if index > self._first_kept:
            return [Ack(index, index)]
        self._waiting[index] = True
        start = self._acked_below
        while self._acked_below < len(self._waiting) and self._waiting[self._acked_below]:
            self._waiting[self._acked_below] = False
            self._acked_below += 1
        if self._acked_below == start:
            return []
        return [Ack(start, self._acked_below - 1)]

    def kept(self, index: int) -> list[Ack]:
        """This letter stays in the queue: the replayed ones waiting behind it are acked alone.
        (The first kept letter only moves down, so the letters are looked at once in all.)"""
        if index >= self._first_kept:
            return []
        waiting = [i for i in range(index + 1, self._first_kept) if self._waiting[i]]
        for i in waiting:
            self._waiting[i] = False
        self._first_kept = index
        return [Ack(i, i) for i in waiting]

    def finish(self) -> list[Ack]:
        """The replay ends: the first letter not acked stays (never reached, or halted), and
        whatever waited behind it is acked alone."""
        return self.kept(self._acked_below)
