"""The connections a process shares between its roles, and the stores built on them.

A module of its own so that the runtime (which opens them) and the shim (which uses them)
both import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from aio_pika.abc import AbstractConnection
from redis.asyncio import Redis

from worker import amqp
from worker.invocations import IdempotencyStore, InvocationStatusStore
from worker.ratelimit import RateLimiter
from worker.settings import Settings


@dataclass
class Resources:
    settings: Settings
    broker: amqp.Broker
    pool: asyncpg.Pool
    redis: Redis

    @property
    def connection(self) -> AbstractConnection:
        """The broker connection of the moment (for short tasks that may fail with it)."""
        return self.broker.connection

    @property
    def statuses(self) -> InvocationStatusStore:
        s = self.settings
        return InvocationStatusStore(
            self.redis,
            s.topology,
            s.invocation_ttl_seconds,
            s.cache_fail_open,
            s.refused_ttl_seconds,
        )

    @property
    def idempotency(self) -> IdempotencyStore:
        s = self.settings
        return IdempotencyStore(self.redis, s.topology, s.invocation_ttl_seconds, s.cache_fail_open)

    @property
    def limiter(self) -> RateLimiter:
        return RateLimiter(
            self.redis, self.settings.topology, fail_open=self.settings.cache_fail_open
        )
