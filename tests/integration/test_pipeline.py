"""The invoke worker and the scheduler on the real broker, database and cache."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import aiormq
import asyncpg
import pytest
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from contracts.ids import execution_id_for_event
from contracts.models import InvokeResult, InvokeStatus, TriggerEvent, TriggerType
from contracts.topology import INVOKE_ROUTING_KEY, dead_letter_queue
from tests.factories import FIXED_TIME, invoke_request, trigger_event
from tests.helpers import (
    FlakyPool,
    RunningSystem,
    count_executions,
    eventually,
    make_settings,
    publish_raw,
    take_all,
)
from worker import amqp, store
from worker import invoke as invoke_module
from worker.consume import BatchConsumer, Consumer, Outcome
from worker.invocations import IdempotencyStore, InvocationStatusStore
from worker.invoke import InvokeWorker
from worker.ratelimit import RateLimiter
from worker.scheduler import Scheduler
from worker.settings import Settings

pytestmark = pytest.mark.integration


async def call(system: RunningSystem, **fields: Any) -> InvokeResult:
    result = await system.client.call(invoke_request(**fields), timeout=10)
    assert result is not None, "no reply from the worker"
    return result


async def execution(pool: asyncpg.Pool, execution_id: str | None) -> store.Execution | None:
    assert execution_id
    return await store.get_execution(pool, execution_id)


async def test_webhook_invocation_is_recorded_as_an_ordinary_execution(
    system: RunningSystem, pool: asyncpg.Pool
) -> None:
    # When an operator invokes the demo webhook
    result = await call(
        system,
        parameters={"body": {"test": True}, "headers": {"X-Source": "manual-test"}},
        description="Testing deployment webhook",
    )
    # Then the worker accepts it and the scheduler records the execution it announced
    assert result.status is InvokeStatus.ACCEPTED
    assert result.success
    assert result.trigger_data is not None
    assert result.trigger_data.resolved_parameters["headers"]["X-Manual-Invocation"] == "true"
    row = await eventually(lambda: execution(pool, result.execution_id))
    assert row.event_id == result.event_id
    assert row.trigger_type == "WEBHOOK"
    assert row.input_data == {"test": True}
    assert row.metadata["trigger_type"] == "MANUAL_INVOCATION"
    assert row.metadata["original_trigger_type"] == "WEBHOOK"
    assert row.metadata["initiated_by"] == "demo-user"
    assert row.metadata["invocation_description"] == "Testing deployment webhook"
    assert row.metadata["original_webhook_config"]["secret"] == "***REDACTED***"
    # And its status is kept for polling
    assert await system.resources.statuses.get(result.invocation_id) == result


async def test_manual_trigger_applies_declared_defaults(
    system: RunningSystem, pool: asyncpg.Pool
) -> None:
    result = await call(system, trigger_id="trig_manual_1", parameters={"version": "2.0.1"})
    assert result.status is InvokeStatus.ACCEPTED
    row = await eventually(lambda: execution(pool, result.execution_id))
    assert row.input_data == {"environment": "staging", "notify": True, "version": "2.0.1"}
    assert row.metadata["original_trigger_type"] == "MANUAL"


async def test_dry_run_resolves_but_records_nothing(
    system: RunningSystem, pool: asyncpg.Pool
) -> None:
    result = await call(system, dry_run=True, parameters={"body": {"dry": 1}})
    assert result.status is InvokeStatus.DRY_RUN
    assert result.trigger_data is not None
    assert result.trigger_data.resolved_parameters["body"] == {"dry": 1}
    assert result.execution_id is None
    await asyncio.sleep(0.5)  # give a wrongly published event time to land
    assert result.event_id
    assert await execution(pool, execution_id_for_event(result.event_id)) is None


@pytest.mark.parametrize(
    ("fields", "status", "paths"),
    [
        (
            {"parameters": {"method": "BREW", "nope": 1}},
            InvokeStatus.INVALID,
            ["/parameters/method", "/parameters/nope"],
        ),
        (
            {"trigger_id": "trig_manual_1", "parameters": {"environment": "moon"}},
            InvokeStatus.INVALID,
            ["/parameters/environment"],
        ),
        ({"user_id": "demo-viewer"}, InvokeStatus.FORBIDDEN, ["/workflow_id"]),
        ({"user_id": "stranger"}, InvokeStatus.NOT_FOUND, ["/workflow_id"]),
        ({"workflow_id": "wf_missing"}, InvokeStatus.NOT_FOUND, ["/workflow_id"]),
        ({"trigger_id": "trig_missing"}, InvokeStatus.NOT_FOUND, ["/trigger_id"]),
        (
            {"workflow_id": "wf_other", "user_id": "other-owner", "trigger_id": "trig_locked"},
            InvokeStatus.FORBIDDEN,
            ["/trigger_id"],
        ),
        (
            {"workflow_id": "wf_other", "user_id": "other-owner", "trigger_id": "trig_disabled"},
            InvokeStatus.FORBIDDEN,
            ["/trigger_id"],
        ),
        (
            {"trigger_id": "trig_email_1", "parameters": {"from": "mallory@evil.test"}},
            InvokeStatus.INVALID,
            ["/parameters/from"],
        ),
    ],
    ids=[
        "bad-params",
        "bad-input",
        "viewer",
        "non-member",
        "no-workflow",
        "no-trigger",
        "manual-disabled",
        "trigger-disabled",
        "email-filter",
    ],
)
async def test_permanent_failures_are_answered_and_record_nothing(
    system: RunningSystem,
    pool: asyncpg.Pool,
    fields: dict[str, Any],
    status: InvokeStatus,
    paths: list[str],
) -> None:
    before = await count_executions(pool, fields.get("workflow_id", "wf_demo"))
    result = await call(system, **fields)
    assert result.status is status
    assert not result.success
    assert sorted({e.path for e in result.errors}) == paths
    assert result.execution_id is None
    await asyncio.sleep(0.3)
    assert await count_executions(pool, fields.get("workflow_id", "wf_demo")) == before


async def test_owner_of_a_workflow_may_invoke_without_being_a_member(
    system: RunningSystem,
) -> None:
    result = await call(system, workflow_id="wf_other", user_id="other-owner")
    assert result.status is InvokeStatus.ACCEPTED


async def test_a_redelivered_request_yields_one_execution(
    system: RunningSystem,
    pool: asyncpg.Pool,
    broker: AbstractRobustConnection,
    settings: Settings,
) -> None:
    # Given one invoke request delivered three times (a redelivery after a lost ack, say)
    request = invoke_request(parameters={"body": {"n": 1}})
    for _ in range(3):
        await publish_raw(
            broker,
            settings.topology.invoke_exchange,
            INVOKE_ROUTING_KEY,
            request.body(),
            content_type="application/json",
        )
    # Then exactly one execution exists for it
    event_id = await eventually(lambda: system.resources.statuses.get(request.invocation_id))
    assert event_id.event_id
    execution_id = execution_id_for_event(event_id.event_id)
    await eventually(lambda: execution(pool, execution_id))
    await asyncio.sleep(0.5)
    count = await pool.fetchval(
        "SELECT count(*) FROM workflow_executions WHERE metadata->>'invocation_id' = $1",
        request.invocation_id,
    )
    assert count == 1


async def test_real_and_manual_events_take_the_same_path(
    system: RunningSystem,
    pool: asyncpg.Pool,
    broker: AbstractRobustConnection,
    settings: Settings,
) -> None:
    # Given a real webhook ingress publishing its event as plain JSON
    real = {
        "event_id": f"real-{uuid.uuid4()}",
        "workflow_id": "wf_demo",
        "trigger_id": "trig_webhook_1",
        "trigger_type": "WEBHOOK",
        "occurred_at": "2026-03-04T05:06:07Z",
        "trigger_data": {
            "method": "POST",
            "headers": {"Content-Type": "application/json"},
            "body": {"real": True},
        },
        "input_data": {"real": True},
        "metadata": {"ingress": "webhook-gateway"},
    }
    await publish_raw(
        broker,
        settings.topology.trigger_exchange,
        "webhook.wf_demo.trig_webhook_1",
        json.dumps(real).encode(),
    )
    # And a manual invocation of the same trigger
    manual = await call(system, parameters={"body": {"real": False}})
    # Then both are rows of the same table, with the same columns filled the same way
    real_row = await eventually(lambda: execution(pool, execution_id_for_event(real["event_id"])))
    manual_row = await eventually(lambda: execution(pool, manual.execution_id))
    assert real_row.trigger_type == manual_row.trigger_type == "WEBHOOK"
    assert real_row.status == manual_row.status == "pending"
    assert set(real_row.trigger_data) <= set(manual_row.trigger_data)
    assert real_row.metadata == {"ingress": "webhook-gateway"}
    assert manual_row.metadata["manual_invocation"] is True


async def test_a_duplicate_real_event_is_recorded_once(
    system: RunningSystem,
    pool: asyncpg.Pool,
    broker: AbstractRobustConnection,
    settings: Settings,
) -> None:
    event = TriggerEvent(
        event_id=f"dup-{uuid.uuid4()}",
        workflow_id="wf_demo",
        trigger_id="trig_manual_1",
        trigger_type=TriggerType.MANUAL,
        occurred_at=FIXED_TIME,
        trigger_data={"inputs": {}},
    )
    for _ in range(2):
        await publish_raw(
            broker, settings.topology.trigger_exchange, event.routing_key(), event.body()
        )
    await eventually(lambda: execution(pool, execution_id_for_event(event.event_id)))
    await asyncio.sleep(0.3)
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM workflow_executions WHERE event_id = $1", event.event_id
        )
        == 1
    )


# --- failure paths, each on a topology of its own so no other consumer takes its messages ---


@pytest.fixture
async def side(
    urls: dict[str, str], settings: Settings, broker: AbstractRobustConnection
) -> AsyncIterator[Settings]:
    """Settings for a private namespace (same database), its topology declared and cleaned up."""
    side = make_settings(urls, f"{settings.namespace}s{uuid.uuid4().hex[:6]}", "unused")
    side = side.model_copy(update={"database_url": settings.database_url})
    channel = await broker.channel()
    await amqp.declare_topology(channel, side.topology, side.delivery_limit)
    yield side
    await amqp.delete_topology(channel, side.topology)
    await channel.close()


async def consume_with(
    broker: AbstractRobustConnection, queue_name: str, handler: Any, stop: asyncio.Event
) -> asyncio.Task[None]:
    channel = await amqp.confirmed_channel(broker, prefetch=10)
    queue = await channel.get_queue(queue_name, ensure=False)
    return asyncio.create_task(amqp.consume_until(queue, handler, stop, 1.0))


def side_worker(
    side: Settings, pool: Any, connection: Any, exchange: Any, redis: Any
) -> InvokeWorker:
    return InvokeWorker(
        side,
        store.AccessCache(pool),
        amqp.ReplyPublisher(connection),
        exchange,
        InvocationStatusStore(redis, side.topology, 60, fail_open=False),
        IdempotencyStore(redis, side.topology, 60, fail_open=False),
        RateLimiter(redis, side.topology, fail_open=False),
    )


def dead_letter_reason(message: Any) -> str:
    deaths = message.headers.get("x-death") or []
    return str(deaths[0]["reason"]) if deaths else ""


async def test_scheduler_dead_letters_malformed_and_unknown_events_at_once(
    side: Settings, pool: asyncpg.Pool, broker: AbstractRobustConnection
) -> None:
    stop = asyncio.Event()
    task = await consume_with(
        broker, side.topology.scheduler_queue, Scheduler(side, pool).handle, stop
    )
    unknown = TriggerEvent(
        event_id=f"ghost-{uuid.uuid4()}",
        workflow_id="wf_ghost",
        trigger_id="trig_ghost",
        trigger_type=TriggerType.WEBHOOK,
        occurred_at=FIXED_TIME,
        trigger_data={},
    )
    try:
        await publish_raw(broker, side.topology.trigger_exchange, "webhook.x.y", b"{not json")
        await publish_raw(
            broker, side.topology.trigger_exchange, unknown.routing_key(), unknown.body()
        )
        dead = []
        dlq = dead_letter_queue(side.topology.scheduler_queue)

        async def both_dead() -> bool:
            dead.extend(await take_all(broker, dlq))
            return len(dead) >= 2

        await eventually(both_dead)
    finally:
        stop.set()
        await task
    # Rejected on the first delivery, not retried up to the limit
    assert sorted(dead_letter_reason(m) for m in dead) == ["rejected", "rejected"]
    assert {m.body for m in dead} == {b"{not json", unknown.body()}
    assert await execution(pool, execution_id_for_event(unknown.event_id)) is None


async def test_scheduler_retries_through_a_database_outage(
    side: Settings, pool: asyncpg.Pool, broker: AbstractRobustConnection
) -> None:
    # Given a database that fails twice (fewer than the delivery limit of 3) then recovers
    flaky = FlakyPool(pool, failures=2)
    stop = asyncio.Event()
    task = await consume_with(
        broker, side.topology.scheduler_queue, Scheduler(side, flaky).handle, stop
    )  # type: ignore[arg-type]
    event = TriggerEvent(
        event_id=f"outage-{uuid.uuid4()}",
        workflow_id="wf_demo",
        trigger_id="trig_webhook_1",
        trigger_type=TriggerType.WEBHOOK,
        occurred_at=FIXED_TIME,
        trigger_data={"body": {}},
    )
    try:
        await publish_raw(broker, side.topology.trigger_exchange, event.routing_key(), event.body())
        # Then the event is held, recorded once the database is back, and not dead-lettered
        await eventually(lambda: execution(pool, execution_id_for_event(event.event_id)))
    finally:
        stop.set()
        await task
    # (the failed look-up of the trigger's redaction, a failed probe, the probe that found
    # the database back, the look-up, the insert)
    assert flaky.calls == 5
    assert await take_all(broker, dead_letter_queue(side.topology.scheduler_queue)) == []


async def test_worker_dead_letters_a_request_after_the_delivery_limit(
    side: Settings, pool: asyncpg.Pool, redis: Any, broker: AbstractRobustConnection
) -> None:
    # Given a worker whose database never comes back
    channel = await amqp.confirmed_channel(broker)
    exchange = await channel.get_exchange(side.topology.trigger_exchange, ensure=False)
    flaky = FlakyPool(pool, failures=1000)
    worker = side_worker(side, flaky, broker, exchange, redis)
    stop = asyncio.Event()
    task = await consume_with(broker, side.topology.invoke_queue, worker.handle, stop)
    request = invoke_request()
    try:
        await publish_raw(broker, side.topology.invoke_exchange, INVOKE_ROUTING_KEY, request.body())
        dead = await take_all(broker, dead_letter_queue(side.topology.invoke_queue), wait=15)
    finally:
        stop.set()
        await task
        await channel.close()
    # Then it was tried as often as the limit allows, then dead-lettered intact, not lost
    assert flaky.calls == side.delivery_limit + 1
    assert [m.body for m in dead] == [request.body()]
    assert dead_letter_reason(dead[0]) == "delivery_limit"


async def test_worker_dead_letters_a_malformed_request_and_says_why(
    side: Settings, pool: asyncpg.Pool, redis: Any, broker: AbstractRobustConnection
) -> None:
    channel = await amqp.confirmed_channel(broker)
    exchange = await channel.get_exchange(side.topology.trigger_exchange, ensure=False)
    worker = side_worker(side, pool, broker, exchange, redis)
    stop = asyncio.Event()
    task = await consume_with(broker, side.topology.invoke_queue, worker.handle, stop)
    try:
        await publish_raw(
            broker, side.topology.invoke_exchange, INVOKE_ROUTING_KEY, b'{"workflow_id": "wf_demo"}'
        )
        dead = await take_all(broker, dead_letter_queue(side.topology.invoke_queue), wait=10)
    finally:
        stop.set()
        await task
        await channel.close()
    assert [m.body for m in dead] == [b'{"workflow_id": "wf_demo"}']
    assert dead_letter_reason(dead[0]) == "rejected"


async def test_access_cache_forgets_a_workflow_when_it_changes(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    # Given a cache that has seen demo-viewer as a viewer of wf_cache
    from worker.catalog import Catalog, apply_catalog

    def catalog(role: str) -> Catalog:
        return Catalog.model_validate(
            {
                "workflows": [
                    {
                        "id": "wf_cache",
                        "name": "cache",
                        "owner": "cache-owner",
                        "members": {"cache-user": role},
                        "triggers": [{"id": "t1", "type": "MANUAL"}],
                    }
                ]
            }
        )

    await apply_catalog(pool, catalog("viewer"))
    cache = store.AccessCache(pool, ttl=3600)
    await cache.start(settings.database_url.get_secret_value())
    try:
        first = await cache.load("wf_cache", "cache-user", "t1")
        assert first is not None and first.role is not None and first.role.name == "VIEWER"
        # When the workflow file promotes the user
        await apply_catalog(pool, catalog("operator"))

        # Then the notification drops the cached answer, long before the TTL would
        async def promoted() -> bool:
            access = await cache.load("wf_cache", "cache-user", "t1")
            return access is not None and access.role is not None and access.role.name == "OPERATOR"

        await eventually(promoted, timeout=5)
    finally:
        await cache.close()


class SettledMessage:
    """The parts of an incoming message the consumer lifecycle touches, recording how it left."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.headers: dict[str, Any] = {}
        self.redelivered = False
        self.reply_to: str | None = None
        self.correlation_id: str | None = None
        self.settled: list[str] = []

    async def ack(self) -> None:
        self.settled.append("ack")

    async def nack(self, requeue: bool) -> None:
        self.settled.append("retry" if requeue else "dead_letter")

    async def reject(self, requeue: bool) -> None:
        self.settled.append("retry" if requeue else "dead_letter")


class RecordingRole:
    """A role whose messages are JSON strings; "refused" is refused before the work."""

    name = "tests"
    kind = "test message"
    max_bytes: int | None = 16

    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure
        self.seen: list[tuple[str, Any]] = []

    def parse(self, body: bytes) -> str:
        return str(json.loads(body))

    async def malformed(self, message: Any, error: ValueError) -> Outcome:
        self.seen.append(("malformed", type(error).__name__))
        return Outcome.DEAD_LETTER

    def context(self, item: str) -> dict[str, Any]:
        return {"item": item}

    async def admit(self, message: Any, item: str) -> Outcome | None:
        return Outcome.ACK if item == "refused" else None

    async def run(self, message: Any, item: str) -> str:
        if self.failure is not None:
            raise self.failure
        return item.upper()

    def failed(self, item: str, error: Exception) -> Outcome:
        self.seen.append(("failed", type(error).__name__))
        return Outcome.DEAD_LETTER if isinstance(error, LookupError) else Outcome.RETRY

    def done(self, message: Any, item: str, result: str, seconds: float) -> None:
        self.seen.append(("done", result))


@pytest.mark.parametrize(
    ("body", "failure", "settled", "seen"),
    [
        (b'"ok"', None, "ack", [("done", "OK")]),
        (b'"refused"', None, "ack", []),
        (b'"a body over the size bound"', None, "dead_letter", [("malformed", "TooLarge")]),
        (b"{not json", None, "dead_letter", [("malformed", "JSONDecodeError")]),
        (b'"ok"', RuntimeError("a bug"), "retry", [("failed", "RuntimeError")]),
        (b'"ok"', KeyError("unrecordable"), "dead_letter", [("failed", "KeyError")]),
    ],
)
async def test_the_consumer_lifecycle_settles_each_message_by_its_outcome(
    settings: Settings, body: bytes, failure: Exception | None, settled: str, seen: list[Any]
) -> None:
    role = RecordingRole(failure)
    fast = settings.model_copy(update={"retry_backoff_seconds": 0.0})
    message = SettledMessage(body)
    await Consumer(role, fast, None).handle(message)  # type: ignore[arg-type]
    assert message.settled == [settled]
    assert role.seen == seen


class RecordingBatchRole(RecordingRole):
    """The same role, run a batch at a time: "boom" fails (retried), "gone" is unrecordable."""

    async def run_batch(self, items: list[tuple[Any, str]]) -> list[str | Exception]:
        failures: dict[str, Exception] = {"boom": RuntimeError("boom"), "gone": KeyError("gone")}
        return [failures.get(item, item.upper()) for _, item in items]  # type: ignore[misc]


async def test_a_batch_settles_in_arrival_order_and_no_retry_holds_it_up(
    settings: Settings,
) -> None:
    # Given a batch with a retried message (a long backoff), dead letters and acks
    role = RecordingBatchRole()
    slow = settings.model_copy(update={"retry_backoff_seconds": 60.0})
    bodies = [b'"a"', b'"boom"', b'"gone"', b"{bad", b'"refused"', b'"b"']
    messages = [SettledMessage(body) for body in bodies]
    order: list[tuple[int, str]] = []
    for index, message in enumerate(messages):
        message.settled = _Recorded(order, index)
    consumer = BatchConsumer(role, slow, None)  # type: ignore[arg-type]
    before = asyncio.all_tasks()
    try:
        # When it is handled, then it is done long before the retry's backoff would end
        await asyncio.wait_for(consumer.handle_batch(messages), timeout=5)  # type: ignore[arg-type]
    finally:
        # The retry, still waiting out its backoff beside the batch (only the tasks this
        # batch started: the session's connections run tasks of their own)
        waiting = asyncio.all_tasks() - before
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
    assert len(waiting) == 1
    # And each of the others is settled as its outcome says, in arrival order
    assert order == [(0, "ack"), (2, "dead_letter"), (3, "dead_letter"), (4, "ack"), (5, "ack")]
    assert ("done", "A") in role.seen and ("done", "B") in role.seen


class _Recorded(list[str]):
    """A message's settling, also written to a log shared by the batch (the order)."""

    def __init__(self, order: list[tuple[int, str]], index: int) -> None:
        super().__init__()
        self._order, self._index = order, index

    def append(self, how: str) -> None:
        super().append(how)
        self._order.append((self._index, how))


async def test_a_batch_decides_each_request_as_if_alone(
    side: Settings,
    pool: asyncpg.Pool,
    redis: Any,
    broker: AbstractRobustConnection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a batch of requests: valid ones, an invalid one, one whose resolving fails (a
    # fault of this code), one for a workflow that does not exist, and a dry run
    channel = await amqp.confirmed_channel(broker)
    exchange = await channel.get_exchange(side.topology.trigger_exchange, ensure=False)
    worker = side_worker(side, pool, broker, exchange, redis)
    valid = [invoke_request(parameters={"body": {"n": n}}) for n in range(3)]
    invalid = invoke_request(parameters={"method": "TELEPORT"})
    faulty = invoke_request(parameters={"body": {"fault": True}})
    unknown = invoke_request(workflow_id="wf_nowhere")
    dry = invoke_request(parameters={"body": {"dry": True}}, dry_run=True)
    batch = [valid[0], invalid, faulty, valid[1], unknown, dry, valid[2]]

    real_prepare = invoke_module.prepare

    def prepare(request: Any, trigger: Any) -> Any:
        if request.invocation_id == faulty.invocation_id:
            raise RuntimeError("a fault in resolving")
        return real_prepare(request, trigger)

    monkeypatch.setattr(invoke_module, "prepare", prepare)
    try:
        # When the worker runs them as one batch
        results = await worker.run_batch([(SettledMessage(r.body()), r) for r in batch])
    finally:
        await channel.close()

    # Then each got its own answer, in order, and the fault failed only its own request
    statuses = [r if isinstance(r, Exception) else r[0].status for r in results]
    assert statuses[:2] == [InvokeStatus.ACCEPTED, InvokeStatus.INVALID]
    assert isinstance(statuses[2], RuntimeError)
    assert statuses[3:] == [
        InvokeStatus.ACCEPTED,
        InvokeStatus.NOT_FOUND,
        InvokeStatus.DRY_RUN,
        InvokeStatus.ACCEPTED,
    ]
    # And every answer given is kept for the poller, the failed request's none
    statuses_store = InvocationStatusStore(redis, side.topology, 60, fail_open=False)
    for request, status in zip(batch, statuses, strict=True):
        kept = await statuses_store.get(request.invocation_id)
        if isinstance(status, Exception):
            assert kept is None
        else:
            assert kept is not None and kept.status is status
    # And the accepted ones are recorded, once each, by the scheduler
    scheduler_stop = asyncio.Event()
    task = await consume_with(
        broker, side.topology.scheduler_queue, Scheduler(side, pool).handle, scheduler_stop
    )
    try:
        ids = [execution_id_for_event(r[0].event_id) for r in results if _accepted(r)]
        assert len(ids) == 3

        async def recorded() -> bool:
            count = await pool.fetchval(
                "SELECT count(*) FROM workflow_executions WHERE execution_id = ANY($1::text[])", ids
            )
            return int(count) == len(ids)

        await eventually(recorded, timeout=10)
    finally:
        scheduler_stop.set()
        await task


def _accepted(result: Any) -> bool:
    return not isinstance(result, Exception) and result[0].status is InvokeStatus.ACCEPTED


@pytest.fixture
async def own_exchange(
    side: Settings, broker: AbstractRobustConnection
) -> AsyncIterator[tuple[AbstractChannel, AbstractExchange]]:
    """A topic exchange of the test's own on a confirmed channel, gone with the channel."""
    channel = await amqp.confirmed_channel(broker)
    name = f"{side.topology.trigger_exchange}.test-{uuid.uuid4().hex[:8]}"
    yield channel, await channel.declare_exchange(name, "topic", auto_delete=True)
    await channel.close()


async def test_an_event_is_published_persistent_confirmed_and_never_dropped_unrouted(
    own_exchange: tuple[AbstractChannel, AbstractExchange],
) -> None:
    channel, exchange = own_exchange
    event = trigger_event()
    # Nothing bound: the broker returns it, and the publish fails rather than drop it
    (failure,) = await amqp.publish_events(exchange, [(event, None)])
    assert isinstance(failure, aiormq.exceptions.PublishError)
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(exchange, routing_key="#")
    assert await amqp.publish_events(exchange, [(event, None)]) == [None]
    message = await queue.get(timeout=5)
    await message.ack()
    assert message.body == event.body()
    assert (message.message_id, message.content_type) == (event.event_id, "application/json")
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.timestamp is not None


async def test_a_batch_of_events_is_confirmed_each_on_its_own(
    own_exchange: tuple[AbstractChannel, AbstractExchange],
) -> None:
    channel, exchange = own_exchange
    events = [trigger_event(workflow_id=w) for w in ("wf_demo", "wf_nobody_binds", "wf_demo")]
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(exchange, routing_key="*.wf_demo.*")
    failures = await amqp.publish_events(exchange, [(e, None) for e in events], 5)
    received = [await queue.get(timeout=5) for _ in range(2)]
    for message in received:
        await message.ack()
    # The unroutable one is returned and fails alone; its batch-mates are confirmed
    assert failures[0] is None and failures[2] is None
    assert isinstance(failures[1], aiormq.exceptions.PublishError)
    assert [m.message_id for m in received] == [events[0].event_id, events[2].event_id]


async def test_a_request_whose_answer_cannot_be_kept_is_not_answered_yet(
    side: Settings,
    pool: asyncpg.Pool,
    redis: Any,
    broker: AbstractRobustConnection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a worker whose status store fails (its answer is what a poller reads)
    channel = await amqp.confirmed_channel(broker)
    exchange = await channel.get_exchange(side.topology.trigger_exchange, ensure=False)
    worker = side_worker(side, pool, broker, exchange, redis)
    replies = await channel.declare_queue(exclusive=True)

    async def failing(results: Any) -> None:
        raise ConnectionError("redis went away")

    monkeypatch.setattr(worker._statuses, "save_many", failing)
    message = SettledMessage(b"")
    message.reply_to = replies.name
    try:
        # When a request is run
        (result,) = await worker.run_batch([(message, invoke_request())])
        # Then it fails (to be retried, and answered then), and no reply went out before
        assert isinstance(result, ConnectionError)
        await asyncio.sleep(0.2)
        assert await replies.get(fail=False) is None
    finally:
        await channel.close()
