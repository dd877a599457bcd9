"""Process lifecycle: open the shared connections, run the roles, shut down in order.

Each process holds one AMQP connection at a time (`amqp.Broker`: to the next node that answers
when it is lost), one Postgres pool and one Redis client, shared by every role it runs.
Consumers start afresh on every new connection. Shutdown order: stop consuming, finish
in-flight work, close the channels and the connection, then the pools.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, Literal

import asyncpg
import structlog
from aio_pika.abc import AbstractChannel, AbstractConnection
from prometheus_client import start_http_server
from redis.asyncio import BlockingConnectionPool, Redis

from worker import amqp, store
from worker.engine import StandInEngine
from worker.invoke import InvokeWorker
from worker.outage import BROKER_ERRORS, Dependencies
from worker.resources import Resources
from worker.scheduler import Scheduler
from worker.settings import Settings
from worker.updates import ExecutionUpdates

log = structlog.get_logger(__name__)

Role = Literal["shim", "worker", "scheduler", "engine"]
REDIS_WAIT_SECONDS = 5.0  # for a free Redis connection; then a transient failure, retried
# A consumer that lived this long was not lost to a failover in progress.
CONSUMER_STABLE_SECONDS = 10.0
CONSUME_PAUSE_MAX_SECONDS = 4.0


@contextlib.asynccontextmanager
async def open_resources(settings: Settings, name: str) -> AsyncIterator[Resources]:
    broker = progressing_broker(settings, name)
    await broker.start()
    pool: asyncpg.Pool | None = None
    redis: Redis | None = None
    try:
        channel = await broker.connection.channel()
        await amqp.declare_topology(channel, settings.topology, settings.delivery_limit)
        await channel.close()
        pool = await store.create_pool(settings.database_url.get_secret_value())
        redis = _redis(settings)
        yield Resources(settings, broker, pool, redis)
    finally:
        await broker.close()
        if pool is not None:
            await pool.close()
        if redis is not None:
            await redis.aclose()


def progressing_broker(settings: Settings, name: str) -> amqp.Broker:
    """A long-running process's broker link, which leaves a node that cannot make progress."""
    return amqp.Broker(
        settings.amqp_url.get_secret_value(),
        name,
        progress_queue=settings.topology.progress_queue,
        progress_bound=settings.progress_bound_seconds,
    )


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


async def keep_consuming(
    broker: amqp.Broker,
    consume: Callable[[AbstractConnection], Coroutine[Any, Any, None]],
    stop: asyncio.Event,
) -> None:
    """Run `consume` on the broker's connection and, whenever that is lost, on the next one,
    until `stop` is set.

    A consumer lost soon after it started waits longer before the next try (up to
    `CONSUME_PAUSE_MAX_SECONDS`): on RabbitMQ 3.x each loss returns the messages a consumer
    held and counts as one of their deliveries, so a connection that keeps failing during a
    failover must not spend their delivery limit on it. (One such cause, replies to callers
    on a stopped node, is kept off this connection: see `amqp.ReplyPublisher`.)
    """
    pause = amqp.RECONNECT_SECONDS
    loop = asyncio.get_running_loop()
    while (connection := await broker.connected(stop)) is not None:
        started = loop.time()
        try:
            with amqp.as_broker_failure():
                await consume(connection)
        except BROKER_ERRORS as exc:
            log.warning("could not consume; trying again", error=f"{type(exc).__name__}: {exc}")
        if stop.is_set():
            break
        if loop.time() - started >= CONSUMER_STABLE_SECONDS:
            pause = amqp.RECONNECT_SECONDS
        # The connection may not be known lost yet; and a refused consumer is no hot loop.
        await asyncio.sleep(pause)
        pause = min(pause * 2, CONSUME_PAUSE_MAX_SECONDS)


async def _close_quietly(channel: Any) -> None:
    with contextlib.suppress(*BROKER_ERRORS):
        await channel.close()


def queue_consumer(
    settings: Settings,
    queue_name: str,
    handler_for: Callable[[AbstractChannel], Awaitable[amqp.BatchHandler]],
    stop: asyncio.Event,
    *,
    confirms: bool,
) -> Callable[[AbstractConnection], Coroutine[Any, Any, None]]:
    """What `keep_consuming` runs on each connection, for every consuming role: a channel
    (publisher-confirmed when the role publishes on it) with the prefetch window, the role's
    batch handler for that channel (worker/consume.py's lifecycle), and `consume_until`."""

    async def consume(connection: AbstractConnection) -> None:
        if confirms:
            channel = await amqp.confirmed_channel(connection, settings.prefetch)
        else:
            channel = await connection.channel()
        try:
            if not confirms:
                await channel.set_qos(prefetch_count=settings.prefetch)
            queue = await channel.get_queue(queue_name, ensure=False)
            handler = await handler_for(channel)
            await amqp.consume_until(
                queue, None, stop, settings.shutdown_grace_seconds, batches=handler
            )
        finally:
            await _close_quietly(channel)

    return consume


async def run_worker(resources: Resources, stop: asyncio.Event) -> None:
    settings = resources.settings
    access = store.AccessCache(resources.pool)
    await access.start(settings.database_url.get_secret_value())
    # Replies go out on a connection of their own (see `amqp.ReplyPublisher`).
    reply_broker = progressing_broker(settings, f"{resources.broker.name} (replies)")
    replies = amqp.ReplyPublisher(reply_broker)

    async def worker_on(channel: AbstractChannel) -> amqp.BatchHandler:
        # Events are published on the consumer's own channel, confirmed.
        exchange = await channel.get_exchange(settings.topology.trigger_exchange, ensure=False)
        return InvokeWorker(
            settings,
            access,
            replies,
            exchange,
            resources.statuses,
            resources.idempotency,
            resources.limiter,
            Dependencies.of(
                "worker",
                settings,
                resources.pool,
                None if settings.cache_fail_open else resources.redis,
            ),
        ).handle_batch

    consume = queue_consumer(
        settings, settings.topology.invoke_queue, worker_on, stop, confirms=True
    )
    try:
        await reply_broker.start()
        await keep_consuming(resources.broker, consume, stop)
    finally:
        await reply_broker.close()
        await access.close()


async def run_scheduler(resources: Resources, stop: asyncio.Event) -> None:
    """Two consumers: trigger events recorded as executions, and the workflow engine's updates
    of those executions (worker/updates.py), each on a channel of its own."""
    settings = resources.settings
    scheduler = Scheduler(settings, resources.pool)
    updates = ExecutionUpdates(settings, resources.pool)

    async def scheduler_on(_channel: AbstractChannel) -> amqp.BatchHandler:
        return scheduler.handle_batch

    async def updates_on(_channel: AbstractChannel) -> amqp.BatchHandler:
        return amqp.one_by_one(updates.handle)

    events = queue_consumer(
        settings, settings.topology.scheduler_queue, scheduler_on, stop, confirms=False
    )
    reports = queue_consumer(
        settings, settings.topology.updates_queue, updates_on, stop, confirms=False
    )
    await asyncio.gather(
        keep_consuming(resources.broker, events, stop),
        keep_consuming(resources.broker, reports, stop),
    )


async def run_engine(resources: Resources, stop: asyncio.Event) -> None:
    """The stand-in workflow engine (worker/engine.py): a demonstration, not the platform's."""
    await StandInEngine(resources.settings, resources.pool, resources.broker).run(stop)


async def run_shim(resources: Resources, stop: asyncio.Event) -> None:
    from worker.shim.app import serve  # FastAPI is only imported by processes that serve HTTP

    await serve(resources, stop)


ROLE_RUNNERS: dict[Role, Callable[[Resources, asyncio.Event], Coroutine[Any, Any, None]]] = {
    "shim": run_shim,
    "worker": run_worker,
    "scheduler": run_scheduler,
    "engine": run_engine,
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
    # Named per role and namespace, so that operators (and the fault suite) can tell the
    # connections apart in `rabbitmqctl list_connections` and close one selectively.
    name = "manual-trigger " + "+".join(roles)
    if settings.namespace:
        name += f" [{settings.namespace}]"
    async with open_resources(settings, name) as resources:
        log.info("started", roles=roles, namespace=settings.namespace or None)
        tasks = [asyncio.create_task(ROLE_RUNNERS[role](resources, stop)) for role in roles]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        stop.set()  # one role failing stops the others rather than leaving half a process
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    log.info("stopped", roles=roles)
