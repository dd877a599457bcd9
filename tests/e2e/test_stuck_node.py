"""A broker node that keeps the connection but confirms nothing (cut off from its cluster):
/readyz says so, and the process moves to the next node of its list.

The node is the machine's broker behind a proxy that holds every byte (`FaultProxy.pause`),
as a partition holds a node's quorum writes; the machine's broker itself is never touched.
"""

from __future__ import annotations

import asyncio
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
from tests.helpers import Service, eventually, running
from worker.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

WEBHOOK = "/api/v1/workflows/wf_demo/triggers/trig_webhook_1/manual-invoke"
BOUND = 2.0  # MTI_PROGRESS_BOUND_SECONDS here: a probe is sent every 2 s


@pytest.fixture
async def proxied(settings: Settings) -> AsyncIterator[tuple[FaultProxy, str]]:
    """The broker behind a proxy, and the URL through it."""
    async with proxy_for(settings.amqp_url.get_secret_value()) as made:
        yield made


async def readyz(service: Service) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=service.url, timeout=5) as http:
        response = await http.get("/readyz")
        return response.status_code, response.json()


async def test_readyz_fails_while_the_node_confirms_nothing_and_passes_after(
    settings: Settings,
    broker: AbstractRobustConnection,
    redis: Redis,
    proxied: tuple[FaultProxy, str],
    tmp_path: Any,
) -> None:
    proxy, url = proxied
    # Given a shim whose only broker node is behind the proxy
    async with running(
        "shim",
        settings,
        broker,
        redis,
        tmp_path / "shim.log",
        amqp_url=url,
        progress_bound_seconds=BOUND,
    ) as shim:
        assert (await readyz(shim))[0] == 200
        # When the node stops confirming (the connection stays open)
        proxy.pause()
        paused = time.monotonic()

        async def unready() -> bool:
            code, body = await readyz(shim)
            return code == 503 and body["checks"]["broker"] == "down"

        # Then /readyz fails within the probe's interval and bound (and some slack)
        await eventually(unready, timeout=20, interval=0.2)
        assert time.monotonic() - paused <= 15
        # And an invocation meanwhile is answered 503 with Retry-After, at once
        async with httpx.AsyncClient(base_url=shim.url, timeout=30) as http:
            started = time.monotonic()
            response = await http.post(WEBHOOK, headers=shim.token("demo-user"), json={})
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"]
            assert "broker" in response.json()["detail"]
            assert time.monotonic() - started < 2
        # When the node answers again, /readyz passes again
        proxy.restore()

        async def ready() -> bool:
            return (await readyz(shim))[0] == 200

        await eventually(ready, timeout=30, interval=0.2)
    assert shim.process.returncode == 0


async def test_a_process_leaves_a_node_that_confirms_nothing_for_the_next_one(
    settings: Settings,
    pool: asyncpg.Pool,  # the demo workflow, seeded
    broker: AbstractRobustConnection,
    redis: Redis,
    proxied: tuple[FaultProxy, str],
    tmp_path: Any,
) -> None:
    proxy, url = proxied
    # Given the whole system on a list of two nodes, the first behind the proxy
    direct = settings.amqp_url.get_secret_value().split(",")[0]
    async with running(
        "run",
        settings,
        broker,
        redis,
        tmp_path / "run.log",
        amqp_url=f"{url},{direct}",
        progress_bound_seconds=BOUND,
    ) as system:
        async with httpx.AsyncClient(base_url=system.url, timeout=30) as http:

            async def invoke(key: str) -> httpx.Response:
                headers = {**system.token("demo-user"), "Idempotency-Key": key}
                return await http.post(WEBHOOK, headers=headers, json={"description": key})

            first = await invoke(f"before-{uuid.uuid4()}")
            assert first.status_code == 202 and first.json()["status"] == "accepted"
            # When the first node stops confirming, with the connections still open
            proxy.pause()
            paused = time.monotonic()
            # Then requests are answered at once or within the reply timeout, never hang
            keys = [f"during-{n}-{uuid.uuid4()}" for n in range(3)]
            answers = await asyncio.gather(*(invoke(key) for key in keys))
            assert {a.status_code for a in answers} <= {202, 503, 504}, [a.text for a in answers]

            # And the process moves to the next node: a new request is served there, and
            # the ones sent meanwhile are accepted on a retry with their keys
            async def served() -> bool:
                response = await invoke(f"probe-{uuid.uuid4()}")
                return response.status_code == 202 and response.json()["status"] == "accepted"

            await eventually(served, timeout=40, interval=0.5)
            moved_after = time.monotonic() - paused
            for key in keys:

                async def accepted(key: str = key) -> bool:
                    return (await invoke(key)).status_code == 202

                await eventually(accepted, timeout=40, interval=1)
        moves = [line for line in system.log.read_text().splitlines() if "no progress" in line]
        assert moves, "no process said it left the node"
        assert moved_after <= 30, f"served again only after {moved_after:.1f} s"
        proxy.restore()
    assert system.process.returncode == 0
    # Each request made exactly one execution, the stalled ones included
    for key in keys:
        rows = await pool.fetchval(
            "SELECT count(*) FROM workflow_executions"
            " WHERE metadata->>'invocation_description' = $1",
            key,
        )
        assert rows == 1, key
