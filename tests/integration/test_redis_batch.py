"""Redis commands issued in the same turn of the loop share one pipeline; each caller still
gets its own reply or its own error."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from tests.e2e.conftest import free_port
from worker.ratelimit import Limits, RateLimiter
from worker.redis_batch import RedisBatch
from worker.settings import Settings

pytestmark = pytest.mark.integration


class CountingRedis:
    """The real client, counting the pipelines made from it."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.pipelines = 0

    def pipeline(self, **options: Any) -> Any:
        self.pipelines += 1
        return self.redis.pipeline(**options)


async def test_commands_of_one_turn_share_a_pipeline_and_keep_their_own_replies(
    redis: Redis, settings: Settings
) -> None:
    counting = CountingRedis(redis)
    batch = RedisBatch(counting)  # type: ignore[arg-type]
    keys = [f"{settings.namespace}batch:{uuid.uuid4().hex}" for _ in range(50)]
    # Given 50 writes issued at once: one pipeline carries them all
    await asyncio.gather(*(batch.run(lambda r, k=k: r.set(k, k)) for k in keys))
    assert counting.pipelines == 1
    # And 50 reads with one bad command among them: only that caller sees the error
    await redis.set(keys[0], "not a number")
    replies = await asyncio.gather(
        batch.run(lambda r: r.incr(keys[0])),
        *(batch.run(lambda r, k=k: r.get(k)) for k in keys[1:]),
        return_exceptions=True,
    )
    assert isinstance(replies[0], ResponseError)
    assert replies[1:] == [k.encode() for k in keys[1:]]
    assert counting.pipelines == 2
    # And commands issued one after another still go out at once, one pipeline each
    assert await batch.run(lambda r: r.get(keys[1])) == keys[1].encode()
    assert counting.pipelines == 3


async def test_an_unreachable_redis_fails_every_caller_of_the_batch() -> None:
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    batch = RedisBatch(dead)
    try:
        outcomes = await asyncio.gather(
            *(batch.run(lambda r: r.get("x")) for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(o, (RedisConnectionError, OSError)) for o in outcomes), outcomes
    finally:
        await dead.aclose()


async def test_the_rate_limiter_reloads_its_script_when_redis_lost_it(
    redis: Redis, settings: Settings
) -> None:
    limiter = RateLimiter(redis, settings.topology, fail_open=False)
    user = f"u-{uuid.uuid4().hex[:6]}"
    assert (await limiter.acquire(user, "wf-s", Limits(5, 100))).allowed
    # When Redis forgets every script (a restart, SCRIPT FLUSH), concurrent callers included
    await redis.script_flush()
    decisions = await asyncio.gather(
        *(limiter.acquire(user, "wf-s", Limits(5, 100)) for _ in range(5))
    )
    # Then each call was counted once: four more pass, the fifth is over the limit of 5
    assert [d.allowed for d in decisions].count(True) == 4
