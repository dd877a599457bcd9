"""Process lifecycle: open the shared connections, run the roles, shut down in order.

Each process holds one robust AMQP connection, one Postgres pool and one Redis client, shared
by every role it runs. Shutdown order: stop consuming, finish in-flight work, close the
channels and the connection, then the pools.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, Literal

import asyncpg
import structlog
from prometheus_client import start_http_server
from redis.asyncio import BlockingConnectionPool, Redis

from worker import amqp, store
from worker.invoke import InvokeWorker
from worker.resources import Resources
from worker.scheduler import Scheduler
from worker.settings import Settings

log = structlog.get_logger(__name__)

Role = Literal["shim", "worker", "scheduler"]
REDIS_WAIT_SECONDS = 5.0  # for a free Redis connection; then a transient failure, retried


@contextlib.asynccontextmanager
async def open_resources(settings: Settings, name: str) -> AsyncIterator[Resources]:
    connection = await amqp.connect(settings.amqp_url.get_secret_value(), name)
    pool: asyncpg.Pool | None = None
    redis: Redis | None = None
    try:
        channel = await connection.channel()
        await amqp.declare_topology(channel, settings.topology, settings.delivery_limit)
        await channel.close()
        pool = await store.create_pool(settings.database_url.get_secret_value())
        redis = _redis(settings)
        yield Resources(settings, connection, pool, redis)
    finally:
        await connection.close()
        if pool is not None:
            await pool.close()
        if redis is not None:
            await redis.aclose()


def _redis(settings: Settings) -> Redis:
    """A client whose callers wait for a free connection rather than fail: a worker has up to
    `prefetch` requests in flight, more than redis-py's default pool of 100 would allow, and
    each refused command would send its request back to the queue for a retry."""
    pool = BlockingConnectionPool.from_url(
        settings.redis_url.get_secret_value(),
        max_connections=settings.redis_max_connections,
        timeout=REDIS_WAIT_SECONDS,
    )
    return Redis.from_pool(pool)


async def run_worker(resources: Resources, stop: asyncio.Event) -> None:
    settings = resources.settings
    channel = await amqp.confirmed_channel(resources.connection, settings.prefetch)
    exchange = await channel.get_exchange(settings.topology.trigger_exchange, ensure=False)
    queue = await channel.get_queue(settings.topology.invoke_queue, ensure=False)
    access = store.AccessCache(resources.pool)
    await access.start(settings.database_url.get_secret_value())
    worker = InvokeWorker(
        settings,
        access,
        channel,
        exchange,
        resources.statuses,
        resources.idempotency,
        resources.limiter,
    )
    try:
        await amqp.consume_until(queue, worker.handle, stop, settings.shutdown_grace_seconds)
    finally:
        await channel.close()
        await access.close()


async def run_scheduler(resources: Resources, stop: asyncio.Event) -> None:
    settings = resources.settings
    channel = await resources.connection.channel()
    await channel.set_qos(prefetch_count=settings.prefetch)
    queue = await channel.get_queue(settings.topology.scheduler_queue, ensure=False)
    scheduler = Scheduler(settings, resources.pool)
    await amqp.consume_until(queue, scheduler.handle, stop, settings.shutdown_grace_seconds)
    await channel.close()


async def run_shim(resources: Resources, stop: asyncio.Event) -> None:
    from worker.shim.app import serve  # FastAPI is only imported by processes that serve HTTP

    await serve(resources, stop)


ROLE_RUNNERS: dict[Role, Callable[[Resources, asyncio.Event], Coroutine[Any, Any, None]]] = {
    "shim": run_shim,
    "worker": run_worker,
    "scheduler": run_scheduler,
}


async def run_roles(settings: Settings, roles: list[Role]) -> None:
    """Run the roles until SIGTERM or SIGINT, then shut them down gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if "shim" in roles:
        settings.token_verifier()  # refuse to start now rather than fail every request
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.http_host)
    async with open_resources(settings, "manual-trigger " + "+".join(roles)) as resources:
        log.info("started", roles=roles, namespace=settings.namespace or None)
        tasks = [asyncio.create_task(ROLE_RUNNERS[role](resources, stop)) for role in roles]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        stop.set()  # one role failing stops the others rather than leaving half a process
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    log.info("stopped", roles=roles)
