"""Session fixtures on the real services, isolated by a namespace and a fresh database.

Every exchange, queue and Redis key of a run carries a unique namespace, the database is
created for the run and dropped after it, and the broker names and keys are deleted on teardown.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection
from redis.asyncio import Redis

from tests.helpers import RunningSystem, make_settings
from tests.services import service_urls
from worker import amqp, store
from worker.catalog import Catalog, apply_catalog, demo_catalog
from worker.logging import configure_logging
from worker.rpc import InvokeClient
from worker.runtime import open_resources, run_scheduler, run_worker
from worker.settings import Settings

LIMITED_WORKFLOW = {
    "id": "wf_limited",
    "name": "A workflow with tight rate limits",
    "owner": "limit-owner",
    "members": {"limit-user": "operator", "limit-user-2": "operator"},
    "rate_limits": {"per_user_per_minute": 3, "per_workflow_per_minute": 5},
    "triggers": [{"id": "trig_manual_1", "type": "MANUAL"}],
}
OTHER_WORKFLOW = {
    "id": "wf_other",
    "name": "Somebody else's workflow",
    "owner": "other-owner",
    "members": {"demo-viewer": "viewer"},
    "triggers": [
        {"id": "trig_webhook_1", "type": "WEBHOOK", "config": {"webhook_url": "/w/o"}},
        {"id": "trig_locked", "type": "WEBHOOK", "manual_invocation": False},
        {"id": "trig_disabled", "type": "WEBHOOK", "enabled": False},
    ],
}


@pytest.fixture(scope="session", autouse=True)
def service_logging() -> None:
    """Log in this process as the services do (JSON, plain tracebacks): structlog's default
    console renderer draws every logged exception with its locals, seconds each, which made
    tests that provoke many transient failures take minutes."""
    configure_logging(Settings(log_format="json"))


@pytest.fixture(scope="session")
def urls() -> Iterator[dict[str, str]]:
    with service_urls() as found:
        yield found


@pytest.fixture(scope="session")
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
async def settings(urls: dict[str, str], namespace: str) -> AsyncIterator[Settings]:
    settings = make_settings(urls, namespace, f"mti_test_{namespace}")
    await store.migrate(settings.database_url.get_secret_value())
    yield settings
    await store.drop_database(settings.database_url.get_secret_value())


@pytest.fixture(scope="session")
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    pool = await store.create_pool(settings.database_url.get_secret_value())
    catalog = demo_catalog()
    extra = {"workflows": [OTHER_WORKFLOW, LIMITED_WORKFLOW]}
    catalog.workflows.extend(Catalog.model_validate(extra).workflows)
    await apply_catalog(pool, catalog)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url.get_secret_value())
    yield client
    # Every namespace a test derives starts with the session's, so one prefix covers them all.
    async for key in client.scan_iter(match=f"{settings.namespace}*"):
        await client.delete(key)
    await client.aclose()


@pytest.fixture(scope="session")
async def broker(settings: Settings) -> AsyncIterator[AbstractRobustConnection]:
    connection = await amqp.connect(settings.amqp_url.get_secret_value(), "tests")
    channel = await connection.channel()
    await amqp.declare_topology(channel, settings.topology, settings.delivery_limit)
    yield connection
    await amqp.delete_topology(channel, settings.topology)
    await connection.close()


@pytest.fixture(scope="session")
async def system(
    settings: Settings, pool: asyncpg.Pool, redis: Redis, broker: AbstractRobustConnection
) -> AsyncIterator[RunningSystem]:
    """An invoke worker and a scheduler running in this process on the test namespace."""
    stop = asyncio.Event()
    async with open_resources(settings, "tests system") as resources:
        roles = [
            asyncio.create_task(run_worker(resources, stop)),
            asyncio.create_task(run_scheduler(resources, stop)),
        ]
        client = await InvokeClient.open(resources.connection, settings.topology)
        yield RunningSystem(resources, client)
        stop.set()
        await asyncio.gather(*roles)
        await client.close()
