"""Execution updates on the real broker and database: the stand-in engine runs what is invoked,
the scheduler applies updates forward only, refuses what it cannot apply into the updates
dead-letter queue, and announces each transition on the status channel.

The module runs its own system (namespace and database): the stand-in engine takes every
pending execution of its database, which must not be the other tests' executions.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from contracts.executions import STATUS_CHANNEL, ExecutionStatus, ExecutionUpdate
from contracts.models import InvokeStatus
from contracts.topology import dead_letter_queue, execution_update_routing_key
from tests.factories import invoke_request
from tests.helpers import (
    delete_redis_keys,
    eventually,
    make_settings,
    publish_raw,
    run_cli,
    take_all,
)
from worker import amqp, store
from worker.catalog import apply_catalog, demo_catalog
from worker.engine import ENGINE_NAME
from worker.resources import Resources
from worker.rpc import InvokeClient
from worker.runtime import open_resources, run_engine, run_scheduler, run_worker
from worker.settings import Settings

pytestmark = pytest.mark.integration


@dataclass
class Own:
    settings: Settings
    resources: Resources
    client: InvokeClient

    @property
    def pool(self) -> asyncpg.Pool:
        return self.resources.pool


@pytest.fixture(scope="module")
async def own(
    urls: dict[str, str], settings: Settings, broker: AbstractRobustConnection, redis: Redis
) -> AsyncIterator[Own]:
    """A worker and a scheduler (with its updates consumer) on a namespace and database of
    this module's own."""
    namespace = f"{settings.namespace}x{uuid.uuid4().hex[:6]}"
    mine = make_settings(urls, namespace, f"mti_test_{namespace}").model_copy(
        update={"engine_start_seconds": 0.1, "engine_run_seconds": 0.4}
    )
    dsn = mine.database_url.get_secret_value()
    await store.migrate(dsn)
    try:
        async with open_resources(mine, "tests updates") as resources:
            await apply_catalog(resources.pool, demo_catalog())
            stop = asyncio.Event()
            roles = [
                asyncio.create_task(run_worker(resources, stop)),
                asyncio.create_task(run_scheduler(resources, stop)),
            ]
            client = await InvokeClient.open(resources.connection, mine.topology)
            try:
                yield Own(mine, resources, client)
            finally:
                stop.set()
                await asyncio.gather(*roles)
                await client.close()
    finally:
        channel = await broker.channel()
        await amqp.delete_topology(channel, mine.topology)
        await channel.close()
        await delete_redis_keys(redis, mine)
        await store.drop_database(dsn)


@asynccontextmanager
async def stand_in_engine(own: Own) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_engine(own.resources, stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@asynccontextmanager
async def notifications(own: Own) -> AsyncIterator[list[str]]:
    """The execution ids announced on the status channel while the block runs, in order."""
    heard: list[str] = []
    connection = await asyncpg.connect(own.settings.database_url.get_secret_value())
    await connection.add_listener(STATUS_CHANNEL, lambda *args: heard.append(args[3]))
    try:
        yield heard
    finally:
        await connection.close()


async def invoked(own: Own, **fields: Any) -> str:
    """An execution, recorded: its id."""
    result = await own.client.call(invoke_request(**fields), timeout=10)
    assert result is not None and result.status is InvokeStatus.ACCEPTED, result
    assert result.execution_id
    await eventually(lambda: store.get_execution(own.pool, result.execution_id or ""))
    return result.execution_id


async def in_status(own: Own, execution_id: str, status: str) -> store.Execution:
    async def probe() -> store.Execution | None:
        found = await store.get_execution(own.pool, execution_id)
        return found if found is not None and found.status == status else None

    return await eventually(probe)


async def report(broker: AbstractRobustConnection, own: Own, body: bytes, key: str) -> None:
    await publish_raw(broker, own.settings.topology.updates_exchange, key, body)


def update(execution_id: str, status: str, at: datetime, **fields: Any) -> ExecutionUpdate:
    return ExecutionUpdate.model_validate(
        {"execution_id": execution_id, "status": status, "at": at, **fields}
    )


def counted(status: str, outcome: str) -> float:
    labels = {"status": status, "outcome": outcome}
    return REGISTRY.get_sample_value("manual_trigger_execution_updates_total", labels) or 0.0


async def test_an_invoked_execution_runs_through_the_stand_in_engine(own: Own) -> None:
    async with notifications(own) as heard, stand_in_engine(own):
        # When a webhook is invoked with the stand-in engine running
        execution_id = await invoked(own, parameters={"body": {"deploy": "v2"}})
        # Then its execution goes pending -> running -> succeeded
        done = await in_status(own, execution_id, "succeeded")
        await eventually(lambda: asyncio.sleep(0, heard.count(execution_id) >= 3))
    assert done.engine == ENGINE_NAME
    assert done.started_at and done.finished_at and done.updated_at
    # (started when `running` was reported, finished a pretend run later)
    assert done.finished_at - done.started_at >= timedelta(seconds=0.3)
    assert done.output == {
        "engine": ENGINE_NAME,
        "trigger_type": "WEBHOOK",
        "input_summary": {"type": "object", "keys": ["deploy"], "key_count": 1, "bytes": 15},
        "echo": {"deploy": "v2"},
    }
    assert done.error is None
    # And each transition, and the insert, was announced once
    assert heard.count(execution_id) == 3


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"trigger_id": "trig_manual_1", "parameters": {"fail": "no deploys today"}},
            "no deploys today",
        ),
        ({"parameters": {"body": {"fail": True}}}, "the workflow input asked for a failure"),
    ],
    ids=["manual", "webhook"],
)
async def test_the_stand_in_engine_fails_a_run_that_asks(
    own: Own, fields: dict[str, Any], message: str
) -> None:
    async with stand_in_engine(own):
        execution_id = await invoked(own, **fields)
        failed = await in_status(own, execution_id, "failed")
    assert failed.error == {"message": message, "code": "requested_failure"}
    assert failed.output is None and failed.finished_at is not None


async def test_late_and_duplicate_updates_change_nothing(
    own: Own, broker: AbstractRobustConnection
) -> None:
    # Given an execution the engine reported succeeded, without a running step
    execution_id = await invoked(own, parameters={"body": {"n": 1}})
    started = datetime.now(UTC)
    async with notifications(own) as heard:
        done = update(execution_id, "succeeded", started, output={"ok": True}, engine="e1")
        await report(broker, own, done.body(), "succeeded")
        first = await in_status(own, execution_id, "succeeded")
        assert first.started_at == first.finished_at == started
        # When a late `running` and a duplicate `succeeded` (another output) arrive
        stale_running, stale_succeeded = counted("running", "stale"), counted("succeeded", "stale")
        late = update(execution_id, "running", started - timedelta(seconds=5), engine="e2")
        await report(broker, own, late.body(), "running")
        again = update(execution_id, "succeeded", started, output={"ok": False}, engine="e2")
        await report(broker, own, again.body(), "succeeded")
        await eventually(
            lambda: asyncio.sleep(
                0,
                counted("running", "stale") > stale_running
                and counted("succeeded", "stale") > stale_succeeded,
            )
        )
        await asyncio.sleep(0.2)  # a wrongly sent notification would have come by now
    # Then nothing changed, and nothing more was announced
    assert await store.get_execution(own.pool, execution_id) == first
    assert first.output == {"ok": True} and first.engine == "e1"
    assert heard == [execution_id]


async def test_a_final_status_after_running_keeps_when_it_started(
    own: Own, broker: AbstractRobustConnection
) -> None:
    execution_id = await invoked(own, parameters={"body": {"n": 2}})
    began = datetime.now(UTC) - timedelta(seconds=3)
    ended = began + timedelta(seconds=2)
    await report(broker, own, update(execution_id, "running", began).body(), "running")
    await in_status(own, execution_id, "running")
    cancelled = update(execution_id, "cancelled", ended, error={"message": "stopped by ops"})
    await report(broker, own, cancelled.body(), "cancelled")
    row = await in_status(own, execution_id, "cancelled")
    assert (row.started_at, row.finished_at) == (began, ended)
    assert row.error == {"message": "stopped by ops"}


async def dead_letters(broker: AbstractRobustConnection, own: Own) -> list[bytes]:
    queue = dead_letter_queue(own.settings.topology.updates_queue)
    return [message.body for message in await take_all(broker, queue, wait=10)]


async def test_an_update_for_an_unknown_execution_is_dead_lettered(
    own: Own, broker: AbstractRobustConnection
) -> None:
    # When an engine reports on an execution nobody recorded
    unknown = update(f"exec_{uuid.uuid4().hex}", "running", datetime.now(UTC))
    await report(broker, own, unknown.body(), execution_update_routing_key(unknown.status))

    # Then it lands in the updates dead-letter queue, where `dlq list --queue updates` shows it
    async def listed() -> list[dict[str, Any]]:
        code, out, err = await run_cli(own.settings, "dlq", "list", "--queue", "updates", "--json")
        assert code == 0, err
        return [row for row in json.loads(out) if row["execution_id"] == unknown.execution_id]

    rows = await eventually(listed)
    assert rows[0]["status"] == "running" and rows[0]["reason"] == "rejected"
    code, out, _ = await run_cli(
        own.settings, "dlq", "show", unknown.execution_id, "--queue", "updates", "--json"
    )
    assert code == 0 and json.loads(out)["update"]["execution_id"] == unknown.execution_id
    # (`replay` of execution updates re-publishes them as they are, or not at all)
    code, _, err = await run_cli(own.settings, "replay", "--queue", "updates", "--yes")
    assert code == 2 and "--as-is" in err
    assert await dead_letters(broker, own) == [unknown.body()]


async def test_malformed_updates_are_dead_lettered(
    own: Own, broker: AbstractRobustConnection
) -> None:
    execution_id = await invoked(own, parameters={"body": {"n": 3}})
    at = datetime.now(UTC).isoformat()
    bodies = [
        b"not json",
        json.dumps({"execution_id": execution_id, "status": "pending", "at": at}).encode(),
        json.dumps({"execution_id": execution_id, "status": "failed", "at": at}).encode(),
        b'{"execution_id": "%s", "status": "succeeded", "at": "%s", "output": {"x": NaN}}'
        % (execution_id.encode(), at.encode()),
    ]
    before = counted("unknown", "malformed")
    for body in bodies:
        await report(broker, own, body, "succeeded")

    async def all_dead() -> list[bytes]:
        found = await dead_letters(broker, own)
        taken.extend(found)
        return taken if len(taken) >= len(bodies) else []

    taken: list[bytes] = []
    assert sorted(await eventually(all_dead)) == sorted(bodies)
    assert counted("unknown", "malformed") == before + len(bodies)
    # And the execution they named is untouched
    row = await store.get_execution(own.pool, execution_id)
    assert row is not None and row.status == ExecutionStatus.PENDING.value


async def test_a_batch_of_new_executions_is_announced_one_by_one(own: Own) -> None:
    async with notifications(own) as heard:
        ids = await asyncio.gather(*(invoked(own, parameters={"body": {"i": i}}) for i in range(5)))
        await eventually(lambda: asyncio.sleep(0, set(ids) <= set(heard)))
    assert sorted(heard) == sorted(ids)
