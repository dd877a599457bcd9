"""Rate limits, idempotency and input limits, enforced by the worker for every entry point."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from contracts.models import MAX_BODY_BYTES, InvokeResult, InvokeStatus
from tests.factories import invoke_request, keyed_request
from tests.helpers import RunningSystem, direct_publish, eventually
from worker.ratelimit import Limits, RateLimiter
from worker.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
async def fresh_rate_limits(redis: Redis, settings: Settings) -> AsyncIterator[None]:
    """Each test starts with empty buckets."""
    async for key in redis.scan_iter(match=settings.topology.redis_key("ratelimit", "*")):
        await redis.delete(key)
    yield


async def call(system: RunningSystem, **fields: Any) -> InvokeResult:
    result = await system.client.call(invoke_request(**fields), timeout=10)
    assert result is not None, "no reply from the worker"
    return result


LIMITED = {"workflow_id": "wf_limited", "trigger_id": "trig_manual_1"}


async def test_a_user_over_the_workflows_per_user_limit_is_refused_dry_runs_included(
    system: RunningSystem,
) -> None:
    # Given wf_limited allows 3 invocations a minute per user
    results = [await call(system, user_id="limit-user", dry_run=True, **LIMITED) for _ in range(4)]
    # Then three pass and the fourth is refused, saying which limit and when to come back
    assert [r.status for r in results] == [InvokeStatus.DRY_RUN] * 3 + [InvokeStatus.RATE_LIMITED]
    refused = results[-1]
    assert refused.rate_limit is not None
    assert (refused.rate_limit.scope, refused.rate_limit.limit) == ("user", 3)
    assert 1 <= refused.rate_limit.retry_after_seconds <= 20
    assert refused.errors[0].code == "rate_limited"
    # And another user of the same workflow still gets through
    assert (await call(system, user_id="limit-user-2", **LIMITED)).status is InvokeStatus.ACCEPTED


async def test_the_per_workflow_limit_counts_every_user(system: RunningSystem) -> None:
    # wf_limited allows 5 a minute in all: 3 + 2 pass, the sixth is refused for the workflow
    statuses = [
        (await call(system, user_id="limit-user", dry_run=True, **LIMITED)).status for _ in range(3)
    ]
    statuses += [
        (await call(system, user_id="limit-user-2", dry_run=True, **LIMITED)).status
        for _ in range(2)
    ]
    refused = await call(system, user_id="limit-user-2", dry_run=True, **LIMITED)
    assert statuses == [InvokeStatus.DRY_RUN] * 5
    assert refused.status is InvokeStatus.RATE_LIMITED
    assert refused.rate_limit is not None and refused.rate_limit.scope == "workflow"


async def test_gcra_refuses_both_or_counts_both(redis: Redis, settings: Settings) -> None:
    limiter = RateLimiter(redis, settings.topology, fail_open=False)
    user = f"u-{uuid.uuid4().hex[:6]}"
    # A burst of the limit passes; the next is refused with a retry time of about 60/N s.
    decisions = [await limiter.acquire(user, "wf-a", Limits(4, 1000)) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True] * 4 + [False]
    assert decisions[-1].scope == "user" and 14 <= decisions[-1].retry_after_seconds <= 15
    # A refusal by the workflow's limit does not use up the user's allowance.
    other = f"u-{uuid.uuid4().hex[:6]}"
    user_key = settings.topology.redis_key("ratelimit", "user", "wf-b", other)
    assert (await limiter.acquire(other, "wf-b", Limits(2, 1))).allowed
    before = await redis.get(user_key)
    refused = await limiter.acquire(other, "wf-b", Limits(2, 1))
    assert (refused.allowed, refused.scope) == (False, "workflow")
    assert await redis.get(user_key) == before


async def test_a_batch_of_invocations_is_decided_in_one_call_each_as_if_alone(
    redis: Redis, settings: Settings
) -> None:
    limiter = RateLimiter(redis, settings.topology, fail_open=False)
    workflow = f"wf-{uuid.uuid4().hex[:6]}"
    first, second = (f"u-{uuid.uuid4().hex[:6]}" for _ in range(2))
    answer_key = settings.topology.redis_key("invocation", str(uuid.uuid4()))
    await redis.set(answer_key, json.dumps({"status": "accepted", "success": True}))
    limits = Limits(3, 4)
    batch = [(first, workflow, limits, None)] * 5 + [
        (second, workflow, limits, answer_key),  # already succeeded: answered, not counted
        (second, workflow, limits, None),
    ]
    try:
        decisions = await limiter.acquire_many(batch)
        # The user's limit of 3 refuses their 4th and 5th; the workflow's limit of 4 is then
        # used up by the first user's 3 and the second user's one counted invocation
        assert [(d.allowed, d.scope) for d in decisions[:5]] == [(True, None)] * 3 + [
            (False, "user")
        ] * 2
        assert decisions[5].answered is not None and not decisions[5].allowed
        assert (decisions[6].allowed, decisions[6].scope) == (True, None)
        refused = await limiter.acquire(second, workflow, limits)
        assert (refused.allowed, refused.scope) == (False, "workflow")
    finally:
        await redis.delete(
            answer_key,
            *(
                settings.topology.redis_key("ratelimit", "user", workflow, u)
                for u in (first, second)
            ),
            settings.topology.redis_key("ratelimit", "workflow", workflow),
        )


async def test_the_limit_round_trip_answers_an_invocation_that_already_succeeded(
    redis: Redis, settings: Settings
) -> None:
    limiter = RateLimiter(redis, settings.topology, fail_open=False)
    user = f"u-{uuid.uuid4().hex[:6]}"
    user_key = settings.topology.redis_key("ratelimit", "user", "wf-c", user)
    answer_key = settings.topology.redis_key("invocation", str(uuid.uuid4()))
    succeeded = json.dumps({"status": "accepted", "success": True, "note": "first answer"})
    stored = {
        "refused before": json.dumps({"status": "rate_limited", "success": False}),
        "still queued": json.dumps({"status": "queued", "success": False}),
        "not an answer": "{not json",
        "a list": "[true]",
    }
    try:
        # Given no answer, or one that is no success: the invocation is counted as usual
        first = await limiter.acquire(user, "wf-c", Limits(2, 100), answer_key=answer_key)
        assert (first.allowed, first.answered) == (True, None)
        for what, value in stored.items():
            await redis.set(answer_key, value)
            await redis.delete(user_key)
            decision = await limiter.acquire(user, "wf-c", Limits(2, 100), answer_key=answer_key)
            assert (decision.allowed, decision.answered) == (True, None), what
            assert await redis.get(user_key) is not None, what
        # Given a successful answer: it comes back in the same round trip, and nothing counts
        await redis.set(answer_key, succeeded)
        await redis.delete(user_key)
        for _ in range(3):  # more than the limit of 2
            decision = await limiter.acquire(user, "wf-c", Limits(2, 100), answer_key=answer_key)
            assert decision.answered is not None and json.loads(decision.answered) == json.loads(
                succeeded
            )
        assert await redis.get(user_key) is None
    finally:
        workflow_key = settings.topology.redis_key("ratelimit", "workflow", "wf-c")
        await redis.delete(answer_key, user_key, workflow_key)


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


async def test_redis_down_fails_closed_by_default_and_open_when_configured(
    settings: Settings,
) -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        with pytest.raises((RedisConnectionError, OSError)):
            await RateLimiter(dead, settings.topology, fail_open=False).acquire(
                "u", "wf", Limits(1, 1)
            )
        decision = await RateLimiter(dead, settings.topology, fail_open=True).acquire(
            "u", "wf", Limits(1, 1)
        )
        assert decision.allowed
    finally:
        await dead.aclose()


async def test_same_idempotency_key_returns_the_first_result_and_starts_nothing(
    system: RunningSystem, pool: asyncpg.Pool
) -> None:
    key = f"key-{uuid.uuid4()}"
    first = await keyed_call(system, key, parameters={"body": {"n": 1}})
    # A client that does not derive the invocation id (a plain AMQP publisher) is covered too
    again = await call(system, idempotency_key=key, parameters={"body": {"n": 1}})
    assert first.status is InvokeStatus.ACCEPTED
    assert again == first
    await asyncio.sleep(0.3)
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM workflow_executions WHERE metadata->>'invocation_id' = $1",
            first.invocation_id,
        )
        == 1
    )
    # The same key with different parameters is a conflict
    conflict = await call(system, idempotency_key=key, parameters={"body": {"n": 2}})
    assert conflict.status is InvokeStatus.CONFLICT
    assert conflict.errors[0].code == "idempotency_key_reused"
    # Another user's identical key is another request
    other = await call(
        system,
        idempotency_key=key,
        user_id="other-owner",
        workflow_id="wf_other",
        parameters={"body": {"n": 1}},
    )
    assert other.status is InvokeStatus.ACCEPTED and other.invocation_id != first.invocation_id


async def keyed_call(system: RunningSystem, key: str, **fields: Any) -> InvokeResult:
    result = await system.client.call(keyed_request(key, **fields), timeout=10)
    assert result is not None, "no reply from the worker"
    return result


async def forget_everything(redis: Redis, settings: Settings) -> None:
    """Redis restarted empty, or every record of this namespace past its TTL."""
    async for stored in redis.scan_iter(match=settings.topology.redis_key("*")):
        await redis.delete(stored)


async def executions_of(pool: asyncpg.Pool, event_id: str | None) -> list[asyncpg.Record]:
    return list(
        await pool.fetch("SELECT input_data FROM workflow_executions WHERE event_id = $1", event_id)
    )


async def test_effects_stay_exactly_once_when_redis_loses_the_key(
    system: RunningSystem, pool: asyncpg.Pool, redis: Redis, settings: Settings
) -> None:
    key = f"key-{uuid.uuid4()}"
    first = await keyed_call(system, key)
    await eventually(lambda: executions_of(pool, first.event_id))
    # When Redis forgets everything about it
    await forget_everything(redis, settings)
    again = await keyed_call(system, key)
    # Then the same event is emitted again and the scheduler's unique key drops it
    assert again.event_id == first.event_id
    await asyncio.sleep(0.5)
    assert len(await executions_of(pool, first.event_id)) == 1


@pytest.mark.parametrize("forgotten", [True, False], ids=["records-gone", "records-kept"])
async def test_a_key_reused_with_another_body_never_answers_for_the_first_execution(
    system: RunningSystem, pool: asyncpg.Pool, redis: Redis, settings: Settings, forgotten: bool
) -> None:
    # Given a keyed request for staging, recorded
    key = f"key-{uuid.uuid4()}"
    staging = await keyed_call(
        system, key, trigger_id="trig_manual_1", parameters={"environment": "staging"}
    )
    assert staging.status is InvokeStatus.ACCEPTED
    await eventually(lambda: executions_of(pool, staging.event_id))
    if forgotten:  # Redis restarted empty, or the key came back after its TTL
        await forget_everything(redis, settings)
    # When the same key comes with production
    production = await keyed_call(
        system, key, trigger_id="trig_manual_1", parameters={"environment": "production"}
    )
    # Then it is a refusal while the record lasts, and a new execution of its own after
    if not forgotten:
        assert production.status is InvokeStatus.CONFLICT
        assert production.errors[0].code == "idempotency_key_reused"
        return
    assert production.status is InvokeStatus.ACCEPTED
    assert production.execution_id != staging.execution_id
    assert production.event_id != staging.event_id
    rows = await eventually(lambda: executions_of(pool, production.event_id))
    assert rows[0]["input_data"]["environment"] == "production"
    (first,) = await executions_of(pool, staging.event_id)
    assert first["input_data"]["environment"] == "staging"


async def test_direct_publishers_meet_the_same_input_limits(
    system: RunningSystem, broker: AbstractRobustConnection, settings: Settings
) -> None:
    deep: Any = "x"
    for _ in range(40):
        deep = [deep]
    request = invoke_request(parameters={"body": deep, "headers": {"X-A": "b\r\nc"}})
    result = await direct_publish(broker, settings.topology, request.body())
    assert result.status is InvokeStatus.INVALID
    assert [e.code for e in result.errors] == ["too_deep"]
    unsafe = invoke_request(parameters={"body": {"hook": "http://169.254.169.254/"}})
    result = await direct_publish(broker, settings.topology, unsafe.body())
    assert [(e.path, e.code) for e in result.errors] == [("/parameters/body/hook", "unsafe_url")]


async def test_an_oversized_invoke_message_is_answered_and_dead_lettered(
    system: RunningSystem, broker: AbstractRobustConnection, settings: Settings
) -> None:
    body = json.dumps({"padding": "x" * (MAX_BODY_BYTES + 100_000)}).encode()
    result = await direct_publish(broker, settings.topology, body)
    assert result.status is InvokeStatus.INVALID
    assert result.errors[0].code == "too_large"


async def test_a_limit_so_high_it_never_limits_still_works(
    redis: Redis, settings: Settings
) -> None:
    # 10^9 a minute: each invocation moves the bucket by less than a float can tell apart
    limiter = RateLimiter(redis, settings.topology, fail_open=False)
    decisions = [await limiter.acquire("u-huge", "wf-huge", Limits(10**9, 10**9)) for _ in range(3)]
    assert all(d.allowed for d in decisions)
