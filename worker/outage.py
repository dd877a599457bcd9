"""Telling a dependency outage from a bad message, and waiting the outage out.

A message whose handling failed because PostgreSQL or Redis could not be reached is not at
fault: it stays unacked in this process while the dependencies are probed with a bounded
backoff, and is handled again once they answer. So an outage of any length neither spends the
message's deliveries nor dead-letters it, and the consumer takes no new work meanwhile (its
prefetch window is full of held messages). A failure while every dependency answers is the
message's own: it goes back to its queue and counts toward the delivery limit.
"""

from __future__ import annotations

import asyncio

import aiormq
import asyncpg
import structlog
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from worker import metrics
from worker.settings import Settings

log = structlog.get_logger(__name__)

# What an unreachable dependency raises (a refused or reset connection, a timeout, a pool
# whose connection died under it); anything else is never waited out.
OUTAGE_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    RedisConnectionError,
    RedisTimeoutError,
)
# What a lost or unreachable RabbitMQ connection raises (aio-pika's own list): a process
# reconnects to the next node that answers, and a reply or a publish goes again or is dropped.
BROKER_ERRORS = CONNECTION_EXCEPTIONS
# What a broker that cannot be reached or that refuses raises: a refused, reset or timed-out
# connection (`BrokerUnavailable` is one), a closed channel, an unroutable or unconfirmed
# publish. Anything else is a fault of its own and is reported as what it is. (Narrower than
# `BROKER_ERRORS`, aio-pika's list, which counts every RuntimeError: a
# command's own `typer.Exit` is one.)
BROKER_FAILURES: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    aiormq.exceptions.AMQPError,
    aiormq.exceptions.ChannelInvalidStateError,
)
# What Redis raises when it is down or refuses a command: a cache that fails open skips it.
REDIS_ERRORS = (RedisError, OSError)
# What the shim answers 503 for, so that clients retry (never 500): an outage, any Redis or
# broker error (`BrokerUnavailable`, a request no broker node confirmed in time, is an OSError).
UNAVAILABLE_ERRORS = (*OUTAGE_ERRORS, RedisError, aiormq.exceptions.AMQPError)
PROBE_TIMEOUT_SECONDS = 2.0
# However long the outage, the backlog starts to drain within this long after it ends.
PROBE_MAX_INTERVAL_SECONDS = 5.0


class Dependencies:
    """The stores one role needs; `wait_out` holds its messages while one of them is down."""

    def __init__(
        self, pool: asyncpg.Pool, redis: Redis | None, *, role: str, base: float, cap: float
    ) -> None:
        self._pool = pool
        self._redis = redis
        self._role = role
        self._base = base
        self._cap = cap
        self._recovery: asyncio.Task[None] | None = None

    @classmethod
    def of(
        cls, role: str, settings: Settings, pool: asyncpg.Pool, redis: Redis | None = None
    ) -> Dependencies:
        """The stores of `role`, probed with the service's retry backoff."""
        return cls(
            pool,
            redis,
            role=role,
            base=settings.retry_backoff_seconds,
            cap=settings.retry_backoff_max_seconds,
        )

    async def reachable(self) -> bool:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
                await self._pool.fetchval("SELECT 1")
                if self._redis is not None:
                    await self._redis.ping()
        except Exception:
            return False
        return True

    async def wait_out(self, error: BaseException) -> bool:
        """True when `error` came from an outage that is now over: handle the message again.
        False when it did not (the dependencies answer): the message's own failure."""
        if not isinstance(error, OUTAGE_ERRORS) or await self.reachable():
            return False
        # One probe loop however many messages are held; they all wait for it.
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.create_task(self._until_reachable(error))
        await asyncio.shield(self._recovery)
        return True

    async def _until_reachable(self, error: BaseException) -> None:
        metrics.TRANSIENT_FAILURES.labels(role=self._role).inc()
        delay = self._base
        started = asyncio.get_running_loop().time()
        while True:
            log.warning(
                "dependency unreachable; holding messages",
                error=type(error).__name__,
                retry_in_s=delay,
            )
            await asyncio.sleep(delay)
            if await self.reachable():
                break
            delay = min(self._cap, PROBE_MAX_INTERVAL_SECONDS, delay * 2)
        down = asyncio.get_running_loop().time() - started
        log.info("dependencies reachable again; handling held messages", down_s=round(down, 1))
