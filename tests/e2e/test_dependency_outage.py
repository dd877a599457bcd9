"""While a dependency is known to be down, invocations are answered 503 with Retry-After at
once, and a keyed retry never queues another copy of its invocation.

PostgreSQL is reached through a proxy that the test cuts; the machine's PostgreSQL itself is
never touched.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection
from redis.asyncio import Redis

from tests.faults.proxy import FaultProxy, proxy_for
from tests.helpers import eventually, running
from worker.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

MANUAL = "/api/v1/workflows/wf_demo/triggers/trig_manual_1/manual-invoke"


@pytest.fixture
async def proxied(settings: Settings) -> AsyncIterator[tuple[FaultProxy, str]]:
    """PostgreSQL behind a proxy, and the URL through it."""
    async with proxy_for(settings.database_url.get_secret_value()) as made:
        yield made


async def test_a_keyed_retry_during_a_database_outage_is_503_at_once_and_queues_nothing(
    settings: Settings,
    pool: asyncpg.Pool,  # the demo workflow, seeded
    broker: AbstractRobustConnection,
    redis: Redis,
    proxied: tuple[FaultProxy, str],
    tmp_path: Any,
) -> None:
    database_proxy, database_url = proxied
    async with running(
        "run",
        settings,
        broker,
        redis,
        tmp_path / "run.log",
        database_url=database_url,
        reply_timeout_seconds=3,
    ) as system:
        invoke_queue = system.settings.topology.invoke_queue
        channel = await broker.channel()

        async def waiting() -> int:
            declared = await channel.declare_queue(invoke_queue, passive=True)
            return declared.declaration_result.message_count or 0

        key = f"outage-{uuid.uuid4()}"
        headers = {**system.token("demo-user"), "Idempotency-Key": key}
        body = {"parameters": {"environment": "staging"}, "description": key}
        async with httpx.AsyncClient(base_url=system.url, timeout=30) as http:
            # Given the database cut just after a keyed request was queued: the worker holds
            # it, and its caller got no answer in time
            database_proxy.cut()
            first = await http.post(MANUAL, headers=headers, json=body)
            assert first.status_code in (503, 504), first.text

            async def database_down() -> bool:
                ready = await http.get("/readyz")
                return ready.status_code == 503 and ready.json()["checks"]["database"] == "down"

            # When the shim knows the database is down
            await eventually(database_down, timeout=15, interval=0.2)
            held = await waiting()
            # Then every retry is answered 503 with Retry-After at once, and queues nothing
            for _ in range(5):
                started = time.monotonic()
                retry = await http.post(MANUAL, headers=headers, json=body)
                assert retry.status_code == 503, retry.text
                assert int(retry.headers["Retry-After"]) > 0
                assert "database" in retry.json()["detail"]
                assert time.monotonic() - started < 1.5
            assert await waiting() == held
            # When the database is back, the retry is accepted, and it made one execution
            database_proxy.restore()

            async def answered() -> httpx.Response | None:
                response = await http.post(MANUAL, headers=headers, json=body)
                return response if response.status_code == 202 else None

            accepted = await eventually(answered, timeout=60, interval=0.5)
            assert accepted.json()["status"] in ("accepted", "queued")

            async def recorded() -> int:
                return int(
                    await pool.fetchval(
                        "SELECT count(*) FROM workflow_executions"
                        " WHERE metadata->>'invocation_description' = $1",
                        key,
                    )
                )

            assert await eventually(recorded, timeout=30) == 1
            # And a retry after its answer was kept is answered from it, queueing nothing
            again = await http.post(MANUAL, headers=headers, json=body)
            assert again.status_code == 202
            assert await waiting() == 0
        await channel.close()
    assert system.process.returncode == 0
