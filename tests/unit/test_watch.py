"""worker/watch.py without a database: who a notification wakes, the bound, closing."""

from __future__ import annotations

import asyncio

import pytest

from worker.watch import ExecutionWatch, TooManyWatchers


def unstarted(max_watchers: int = 10) -> ExecutionWatch:
    return ExecutionWatch("postgresql://nobody@127.0.0.1:1/none", max_watchers=max_watchers)


async def test_a_notification_wakes_the_watchers_of_its_execution_only() -> None:
    watch = unstarted()
    with watch.watch("exec_a") as a1, watch.watch("exec_a") as a2, watch.watch("exec_b") as b:
        # When execution a is announced
        watch.notify("exec_a")
        # Then both of its watchers see a change at once, the other watcher nothing
        assert await a1.wait(0) and await a2.wait(0)
        assert not await b.wait(0.01)
        # And the flag was cleared: nothing more until the next notification
        assert not await a1.wait(0.01)


async def test_many_notifications_before_a_read_are_one_change() -> None:
    watch = unstarted()
    with watch.watch("exec_a") as watcher:
        for _ in range(1000):
            watch.notify("exec_a")  # a flag, not a queue: nothing accumulates
        assert await watcher.wait(0)
        assert not await watcher.wait(0.01)


async def test_a_waiting_watcher_is_woken_when_its_execution_changes() -> None:
    watch = unstarted()
    with watch.watch("exec_a") as watcher:
        waiting = asyncio.create_task(watcher.wait(5))
        await asyncio.sleep(0.01)
        watch.notify("exec_a")
        assert await asyncio.wait_for(waiting, 1)


async def test_watchers_are_bounded_and_forgotten_on_leaving() -> None:
    watch = unstarted(max_watchers=2)
    with watch.watch("exec_a"), watch.watch("exec_b"):
        assert watch.watching == 2
        with pytest.raises(TooManyWatchers), watch.watch("exec_c"):
            pass
    assert watch.watching == 0
    with watch.watch("exec_c"):
        assert watch.watching == 1
    watch.notify("exec_a")  # nobody left to wake: nothing happens


async def test_reconnecting_wakes_everyone_and_closing_says_so() -> None:
    watch = unstarted()
    with watch.watch("exec_a") as a, watch.watch("exec_b") as b:
        watch.wake_all()  # what the watch does once it listens again
        assert await a.wait(0) and await b.wait(0)
        assert not a.closed
        await watch.close()
        assert a.closed and await a.wait(0) and await b.wait(0)


class CountingPool:
    """Just enough of an asyncpg pool for `store.get_execution`: counts the reads."""

    def __init__(self) -> None:
        self.reads = 0

    async def fetchrow(self, *_: object) -> None:
        self.reads += 1
        await asyncio.sleep(0.05)


async def test_watchers_woken_by_one_notification_share_one_read() -> None:
    watch, pool = unstarted(max_watchers=100), CountingPool()
    with watch.watch("exec_a") as first:
        others = [watch.watch("exec_a") for _ in range(49)]
        watchers = [first, *(o.__enter__() for o in others)]
        watch.notify("exec_a")
        assert await asyncio.gather(*(w.read(pool) for w in watchers)) == [None] * 50  # type: ignore[arg-type]
        assert pool.reads == 1
        # A read after the next notification is a new one: never a read that began before it
        watch.notify("exec_a")
        await first.read(pool)  # type: ignore[arg-type]
        assert pool.reads == 2
        for other in others:
            other.__exit__(None, None, None)
