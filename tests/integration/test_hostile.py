"""Hostile but well-formed messages on the real broker, database and cache: one bad message
harms only itself, the retry path is total, refusals leave nothing lasting."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection
from redis.asyncio import Redis

from contracts.models import InvokeResult, InvokeStatus, TriggerEvent, TriggerType
from contracts.topology import INVOKE_ROUTING_KEY, dead_letter_queue
from tests.factories import FIXED_TIME, invoke_request, keyed_request
from tests.helpers import (
    FlakyPool,
    RunningSystem,
    direct_publish,
    eventually,
    publish_raw,
    take_all,
)
from tests.integration.test_pipeline import consume_with, dead_letter_reason, side, side_worker
from worker import amqp
from worker.rpc import InvokeClient
from worker.scheduler import Scheduler
from worker.settings import Settings

pytestmark = pytest.mark.integration
__all__ = ["side"]  # the fixture, imported for the tests here


@pytest.fixture(autouse=True)
async def fresh_rate_limits(redis: Redis, settings: Settings) -> AsyncIterator[None]:
    async for key in redis.scan_iter(match=settings.topology.redis_key("ratelimit", "*")):
        await redis.delete(key)
    yield


def event(workflow_id: str = "wf_demo", **trigger_data: Any) -> TriggerEvent:
    return TriggerEvent(
        event_id=f"evt-{uuid.uuid4()}",
        workflow_id=workflow_id,
        trigger_id="trig_webhook_1",
        trigger_type=TriggerType.WEBHOOK,
        occurred_at=FIXED_TIME,
        trigger_data=trigger_data,
    )


async def recorded(pool: asyncpg.Pool, events: list[TriggerEvent]) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM workflow_executions WHERE event_id = ANY($1::text[])",
        [e.event_id for e in events],
    )
    return count


@contextlib.asynccontextmanager
async def scheduling(
    side: Settings, pool: asyncpg.Pool, broker: AbstractRobustConnection
) -> AsyncIterator[None]:
    """A scheduler consuming the side namespace's queue while the block runs."""
    stop = asyncio.Event()
    task = await consume_with(
        broker, side.topology.scheduler_queue, Scheduler(side, pool).handle, stop
    )
    try:
        yield
    finally:
        stop.set()
        await task


async def test_rows_the_database_refuses_harm_only_themselves(
    side: Settings, pool: asyncpg.Pool, broker: AbstractRobustConnection
) -> None:
    # Given a scheduler, and real trigger events published at once: most ordinary, some
    # carrying what PostgreSQL cannot store (a NUL, an unpaired surrogate, NaN)
    good = [event(body={"n": n}) for n in range(40)]
    poison = [
        event(body={"a": "\x00"}).body(),
        json.dumps({**json.loads(event().body()), "trigger_data": {"a": "\ud800"}}).encode(),
        event(body={"a": "x"}).body().replace(b'"x"', b"NaN"),
    ]
    bodies = [e.body() for e in good]
    for index, bad in enumerate(poison):
        bodies.insert(10 * index + 5, bad)
    async with scheduling(side, pool, broker):
        await asyncio.gather(
            *(publish_raw(broker, side.topology.trigger_exchange, "webhook.a.b", b) for b in bodies)
        )
        # Then every ordinary event is recorded
        await eventually(lambda: _all(recorded(pool, good), len(good)), timeout=20)
        dead = await take_all(broker, dead_letter_queue(side.topology.scheduler_queue), wait=10)
    # And only the refused rows are dead-lettered, at once (not after the delivery limit)
    assert sorted(m.body for m in dead) == sorted(poison)
    assert {dead_letter_reason(m) for m in dead} == {"rejected"}


async def _all(count: Any, expected: int) -> bool:
    return bool(await count == expected)


async def test_dead_letters_keep_the_order_events_arrived_in(
    side: Settings, pool: asyncpg.Pool, broker: AbstractRobustConnection
) -> None:
    # Events the database refuses (an unknown workflow) and events that are not events at all
    # (refused before they reach a batch), interleaved
    bodies = [
        event(workflow_id="wf_nobody", seq=n).body()
        if n % 4
        else json.dumps({"trigger_data": {"seq": n}}).encode()
        for n in range(20)
    ]
    async with scheduling(side, pool, broker):
        channel = await broker.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(side.topology.trigger_exchange, ensure=False)
        for body in bodies:  # published in order, on one channel
            await exchange.publish(aio_pika.Message(body), routing_key="webhook.wf_nobody.t")
        await channel.close()
        dead: list[Any] = []
        dlq = dead_letter_queue(side.topology.scheduler_queue)

        async def all_dead() -> bool:
            dead.extend(await take_all(broker, dlq))
            return len(dead) >= len(bodies)

        await eventually(all_dead, timeout=20)
    assert [json.loads(m.body)["trigger_data"]["seq"] for m in dead] == list(range(20))


FORGED_COUNTS: list[Any] = [100_000, 2**62, -5, "many", True, 1.5, None]


async def test_forged_delivery_counts_cannot_wedge_the_worker(
    side: Settings, pool: asyncpg.Pool, redis: Redis, broker: AbstractRobustConnection
) -> None:
    # Given a worker whose database fails for the next few hundred calls, and 250 messages
    # whose x-delivery-count headers say anything at all (more than the prefetch of 200)
    flaky = FlakyPool(pool, failures=250)
    channel = await amqp.confirmed_channel(broker, prefetch=200)
    exchange = await channel.get_exchange(side.topology.trigger_exchange, ensure=False)
    worker = side_worker(side, flaky, broker, exchange, redis)
    queue = await channel.get_queue(side.topology.invoke_queue, ensure=False)
    stop = asyncio.Event()
    task = asyncio.create_task(amqp.consume_until(queue, worker.handle, stop, 1.0))
    client = await InvokeClient.open(broker, side.topology)
    try:
        publisher = await broker.channel()
        invoke = await publisher.get_exchange(side.topology.invoke_exchange, ensure=False)
        for n in range(250):
            forged = FORGED_COUNTS[n % len(FORGED_COUNTS)]
            await invoke.publish(
                aio_pika.Message(
                    invoke_request(dry_run=True).body(),
                    headers={"x-delivery-count": forged},
                    user_id=broker.url.user,
                ),
                routing_key=INVOKE_ROUTING_KEY,
            )
        await publisher.close()
        # When an ordinary request follows them
        result = await client.call(invoke_request(dry_run=True), timeout=40)
    finally:
        stop.set()
        await task
        await client.close()
        await channel.close()
    # Then it is still answered: every forged message was settled, none pinned its slot
    assert result is not None and result.status is InvokeStatus.DRY_RUN


@pytest.mark.parametrize(
    ("trigger_id", "parameters", "path"),
    [
        (
            "trig_cron_1",
            {"scheduled_time": "0001-01-01T00:00:00+00:00"},
            "/parameters/scheduled_time",
        ),
        (
            "trig_cron_1",
            {"scheduled_time": "9999-12-31T23:59:59+00:00"},
            "/parameters/scheduled_time",
        ),
        ("trig_email_1", {"headers": {"From": "x@example.com"}}, "/parameters/headers/From"),
        ("trig_email_1", {"subject": "a\x1eb"}, "/parameters/subject"),
    ],
)
async def test_permanent_errors_are_answered_at_once_not_retried(
    system: RunningSystem, trigger_id: str, parameters: dict[str, Any], path: str
) -> None:
    request = invoke_request(trigger_id=trigger_id, parameters=parameters)
    result = await system.client.call(request, timeout=5)
    assert result is not None, "no answer: the request was treated as transient"
    assert result.status is InvokeStatus.INVALID
    assert path in [e.path for e in result.errors]


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b'{"body": {"a": "\\u0000"}}', "/parameters/body/a"),
        (b'{"body": {"a": "\\ud800"}}', ""),  # pydantic's JSON parser refuses it as malformed
        (b'{"body": {"a": NaN}}', "/parameters/body/a"),
        (b'{"body": {"a": 1e400}}', "/parameters/body/a"),
    ],
)
async def test_direct_publishers_cannot_store_what_postgresql_cannot_hold(
    system: RunningSystem,
    broker: AbstractRobustConnection,
    settings: Settings,
    raw: bytes,
    path: str,
) -> None:
    body = invoke_request().body().replace(b'"parameters":{}', b'"parameters":' + raw)
    result = await direct_publish(broker, settings.topology, body)
    assert result.status is InvokeStatus.INVALID
    assert [e.path for e in result.errors] == [path]


@pytest.mark.parametrize(
    "fields",
    [{"user_id": "demo\x00user"}, {"description": "a\x00b"}, {"dry_run": "true"}],
    ids=["user-nul", "description-nul", "dry-run-string"],
)
async def test_a_request_the_system_cannot_hold_is_refused_as_malformed(
    system: RunningSystem, broker: AbstractRobustConnection, settings: Settings, fields: Any
) -> None:
    document = json.loads(invoke_request().body())
    body = json.dumps({**document, **fields}).encode()
    result = await direct_publish(broker, settings.topology, body)
    assert result.status is InvokeStatus.INVALID
    assert result.message == "Malformed invoke request"


async def test_refusals_are_budgeted_and_leave_only_short_lived_records(
    system: RunningSystem, redis: Redis, settings: Settings
) -> None:
    # Given a user with no role on any workflow, probing 40 times
    prober = f"prober-{uuid.uuid4().hex[:6]}"
    results = [
        await system.client.call(invoke_request(user_id=prober, workflow_id=f"wf_{n}"), 5)
        for n in range(40)
    ]
    statuses = [r.status for r in results if r is not None]
    budget = settings.refusal_budget_per_minute
    # Then the first refusals say "not found", the rest are rate limited
    assert statuses == [InvokeStatus.NOT_FOUND] * budget + [InvokeStatus.RATE_LIMITED] * (
        40 - budget
    )
    assert results[-1] is not None and results[-1].errors[0].code == "too_many_refusals"
    # And no record of them lives longer than a minute
    for result in results:
        assert result is not None
        key = settings.topology.redis_key("invocation", result.invocation_id)
        assert 0 < await redis.ttl(key) <= settings.refused_ttl_seconds


async def test_a_keyed_request_refused_for_its_rate_is_decided_afresh_on_retry(
    system: RunningSystem, redis: Redis, settings: Settings
) -> None:
    limited = {"workflow_id": "wf_limited", "trigger_id": "trig_manual_1", "user_id": "limit-user"}
    for _ in range(3):
        await system.client.call(invoke_request(dry_run=True, **limited), 5)
    key = f"key-{uuid.uuid4()}"
    request = keyed_request(key, **limited)
    first = await system.client.call(request, 5)
    assert first is not None and first.status is InvokeStatus.RATE_LIMITED
    # When the limit has passed (its buckets emptied) and the client retries with its key
    async for bucket in redis.scan_iter(match=settings.topology.redis_key("ratelimit", "*")):
        await redis.delete(bucket)
    retry = await system.client.call(request, 5)
    # Then the retry is decided afresh, not answered with the first 429
    assert retry is not None and retry.status is InvokeStatus.ACCEPTED
    again = await system.client.call(request, 5)
    assert isinstance(again, InvokeResult) and again == retry  # a final answer is replayed


async def test_a_dry_run_of_an_amplifying_request_answers_small(system: RunningSystem) -> None:
    parameters = {"attachments": [{"name": "f", "size": 1_048_576}] * 50}
    result = await system.client.call(
        invoke_request(trigger_id="trig_email_1", parameters=parameters, dry_run=True), 5
    )
    assert result is not None and result.status is InvokeStatus.INVALID
    assert len(result.body()) < 10_000
