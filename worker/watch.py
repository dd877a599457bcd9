"""Who is told when an execution changes: one LISTEN per process, fanned out in memory.

Every applied transition of an execution (and every newly recorded one) is announced by a
PostgreSQL NOTIFY on `STATUS_CHANNEL` with the execution id as payload, in the transaction
that commits it (contracts/executions.py). An `ExecutionWatch` holds ONE dedicated connection
that listens on that channel and sets a flag on each in-process `Watcher` of that id: the
shim's live status streams and `manual-trigger invoke --wait` share it, however many of them
there are. A watcher then re-reads its row (from the pool): a notification says "look again",
never what changed, so nothing is queued per watcher and a burst of transitions costs one read.

The connection is checked every `probe_seconds`; when it is lost it is opened again with a
backoff, and every watcher is woken (notifications sent meanwhile were missed, so each one
reads its row again). `close` wakes every watcher for the last time: `Watcher.closed` then says
the process is stopping.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import structlog

from contracts.executions import STATUS_CHANNEL, ExecutionStatus
from worker import store

log = structlog.get_logger(__name__)


class TooManyWatchers(Exception):
    """This process already holds as many watchers as it allows."""


class Watcher:
    """One follower of one execution: a flag the watch sets, the follower clears."""

    __slots__ = ("_changed", "_watch", "execution_id")

    def __init__(self, watch: ExecutionWatch, execution_id: str) -> None:
        self._watch = watch
        self.execution_id = execution_id
        self._changed = asyncio.Event()

    @property
    def closed(self) -> bool:
        """The watch is closing: stop following."""
        return self._watch.closed

    def wake(self) -> None:
        self._changed.set()

    async def read(self, pool: asyncpg.Pool) -> store.Execution | None:
        """The execution's row, shared with the watchers woken by the same notification."""
        return await self._watch.read(pool, self.execution_id)

    async def wait(self, timeout: float | None = None) -> bool:
        """Until the execution may have changed (True, and the flag is cleared) or `timeout`
        seconds pass (False). Returns at once when the flag is already set."""
        if not self._changed.is_set():
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except TimeoutError:
                return False
        self._changed.clear()
        return True


class ExecutionWatch:
    """The process's one subscription to execution transitions (see the module docstring)."""

    def __init__(
        self,
        dsn: str,
        *,
        max_watchers: int = 10_000,
        probe_seconds: float = 10.0,
        backoff_seconds: float = 0.5,
        backoff_max_seconds: float = 10.0,
    ) -> None:
        self._dsn = dsn
        self.max_watchers = max_watchers
        self._probe_seconds = probe_seconds
        self._backoff = (backoff_seconds, backoff_max_seconds)
        self._watchers: dict[str, set[Watcher]] = {}
        # Watchers woken by one notification share one read of the row: (id, epoch, the
        # id's notification count) -> that read, while it is in flight.
        self._notified: dict[str, int] = {}
        self._epoch = 0
        self._reads: dict[tuple[str, int, int], asyncio.Future[store.Execution | None]] = {}
        self._count = 0
        self._connection: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self.closed = False
        self.connected = asyncio.Event()
        self.reconnects = 0  # how often the connection was opened again after a loss

    @property
    def watching(self) -> int:
        return self._count

    @property
    def listener_pid(self) -> int | None:
        """The server process of the listening connection (operators, tests), if connected."""
        return self._connection.get_server_pid() if self._connection is not None else None

    async def start(self, timeout: float | None = 10.0) -> None:
        """Open the listening connection (keeps trying in the background), waiting up to
        `timeout` seconds for the first; the process serves either way."""
        self._supervisor = asyncio.create_task(self._supervise(), name="execution-watch")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), timeout)

    async def close(self) -> None:
        """Stop listening and wake every watcher for the last time."""
        if self.closed:
            return
        self.closed = True
        self.wake_all()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await self._drop_connection()

    @contextlib.contextmanager
    def watch(self, execution_id: str) -> Iterator[Watcher]:
        """A watcher of `execution_id` for the duration of the block. Raises TooManyWatchers
        past `max_watchers`. Subscribe first, then read the row: nothing is missed between."""
        if self._count >= self.max_watchers:
            raise TooManyWatchers(f"{self._count} watchers already")
        watcher = Watcher(self, execution_id)
        self._watchers.setdefault(execution_id, set()).add(watcher)
        self._count += 1
        try:
            yield watcher
        finally:
            self._count -= 1
            same = self._watchers.get(execution_id)
            if same is not None:
                same.discard(watcher)
                if not same:
                    del self._watchers[execution_id]
                    self._notified.pop(execution_id, None)

    async def read(self, pool: asyncpg.Pool, execution_id: str) -> store.Execution | None:
        """The row as it is now, read once for every watcher woken by the same notification
        (a read that started before a notification is never reused after it)."""
        key = (execution_id, self._epoch, self._notified.get(execution_id, 0))
        shared = self._reads.get(key)
        if shared is None:
            # A task of its own: a reader that goes away (its client disconnected) does not
            # cancel the read the others wait for.
            shared = asyncio.ensure_future(store.get_execution(pool, execution_id))
            self._reads[key] = shared
            shared.add_done_callback(lambda _: self._reads.pop(key, None))
        return await asyncio.shield(shared)

    def notify(self, execution_id: str) -> None:
        """Wake the watchers of `execution_id` (what a notification does)."""
        if execution_id not in self._watchers:
            return
        self._notified[execution_id] = self._notified.get(execution_id, 0) + 1
        for watcher in self._watchers[execution_id]:
            watcher.wake()

    def wake_all(self) -> None:
        self._epoch += 1
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher.wake()

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.notify(payload)

    def _terminated(self, _conn: Any) -> None:
        self._lost.set()

    async def _supervise(self) -> None:
        delay, delay_max = self._backoff
        first = True
        while not self.closed:
            try:
                await self._listen()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("execution watch: cannot listen", error=f"{type(exc).__name__}: {exc}")
                await self._drop_connection()
                await asyncio.sleep(delay)
                delay = min(delay * 2, delay_max)
                continue
            if not first:
                self.reconnects += 1
                log.info("execution watch: listening again; waking every watcher")
            # Notifications sent while nobody listened are lost: every watcher reads again.
            self.wake_all()
            first, delay = False, self._backoff[0]
            await self._until_lost()
            await self._drop_connection()
            log.warning("execution watch: listening connection lost")

    async def _listen(self) -> None:
        self._lost.clear()
        connection = await asyncio.wait_for(asyncpg.connect(self._dsn), 10)
        self._connection = connection
        connection.add_termination_listener(self._terminated)
        await connection.add_listener(STATUS_CHANNEL, self._heard)
        self.connected.set()

    async def _until_lost(self) -> None:
        """Returns when the connection is gone: closed under us, or not answering a probe."""
        while not self.closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self._probe_seconds)
            if self._lost.is_set() or self._connection is None:
                return
            try:
                await self._connection.fetchval("SELECT 1", timeout=self._probe_seconds)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                return

    async def _drop_connection(self) -> None:
        self.connected.clear()
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            try:
                await asyncio.wait_for(connection.close(), 2)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                connection.terminate()


def step_of(execution: store.Execution) -> int:
    """0 pending, 1 running, 2 finished (`ExecutionStatus.step`); an unknown status reads as
    pending."""
    try:
        return ExecutionStatus(execution.status).step
    except ValueError:
        return 0


def is_final(execution: store.Execution) -> bool:
    return step_of(execution) == ExecutionStatus.SUCCEEDED.step


# While an execution is not recorded yet, its row is also read again this often (a
# notification of the new row is enough, but it must not be the only way to see one).
FIRST_SIGHT_POLL_SECONDS = 0.25


async def first_sight(
    pool: asyncpg.Pool, watcher: Watcher, within: float
) -> store.Execution | None:
    """The watcher's execution, waiting up to `within` seconds for it to be recorded (an
    invocation is answered 202 before the scheduler records its execution)."""
    deadline = time.monotonic() + within
    while True:
        execution = await watcher.read(pool)
        left = deadline - time.monotonic()
        if execution is not None or left <= 0 or watcher.closed:
            return execution
        await watcher.wait(min(left, FIRST_SIGHT_POLL_SECONDS))


async def follow(
    pool: asyncpg.Pool,
    watcher: Watcher,
    current: store.Execution,
    *,
    after_step: int = -1,
    heartbeat: float | None = None,
) -> AsyncIterator[store.Execution | None]:
    """Each state of the execution whose step is above `after_step`, starting with `current`
    (read after the watcher subscribed), until a final one; None when `heartbeat` seconds
    pass with nothing new. Ends early when the watch closes or the row disappears."""
    seen = after_step
    execution: store.Execution | None = current
    while execution is not None:
        if step_of(execution) > seen:
            seen = step_of(execution)
            yield execution
        if is_final(execution) or watcher.closed:
            return
        if not await watcher.wait(heartbeat):
            yield None
            continue
        if watcher.closed:
            return
        execution = await watcher.read(pool)
