"""worker/watch.py against PostgreSQL: NOTIFY reaches the right watcher once committed, and a
lost listening connection is opened again, waking every watcher to read again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from contracts.executions import STATUS_CHANNEL
from tests.helpers import eventually
from worker.settings import Settings
from worker.watch import ExecutionWatch

pytestmark = pytest.mark.integration


@pytest.fixture
async def watch(settings: Settings) -> AsyncIterator[ExecutionWatch]:
    watch = ExecutionWatch(
        settings.database_url.get_secret_value(), probe_seconds=0.5, backoff_seconds=0.05
    )
    await watch.start()
    assert watch.connected.is_set()
    yield watch
    await watch.close()


async def test_a_committed_notification_wakes_only_its_watchers(
    watch: ExecutionWatch, pool: asyncpg.Pool
) -> None:
    with watch.watch("exec_a") as a, watch.watch("exec_b") as b:
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_notify($1, 'exec_a')", STATUS_CHANNEL)
            # Not before the transaction commits
            assert not await a.wait(0.2)
        assert await a.wait(5)
        assert not await b.wait(0.2)


async def test_a_lost_connection_is_opened_again_and_everyone_reads_again(
    watch: ExecutionWatch, pool: asyncpg.Pool
) -> None:
    with watch.watch("exec_a") as a:
        first = watch.listener_pid
        # When the server ends the listening connection
        await pool.execute("SELECT pg_terminate_backend($1)", first)
        # Then the watcher is woken (what was announced meanwhile was missed) ...
        assert await a.wait(10)
        # ... the watch listens again on a new connection, and hears what follows
        await eventually(lambda: _listening_again(watch, first))
        await pool.execute("SELECT pg_notify($1, 'exec_a')", STATUS_CHANNEL)
        assert await a.wait(5)
        assert watch.reconnects >= 1


async def _listening_again(watch: ExecutionWatch, before: int | None) -> bool:
    return watch.connected.is_set() and watch.listener_pid not in (None, before)
