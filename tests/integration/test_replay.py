"""Dead letters and replays on the real broker: nothing lost, duplicated or reordered.

Events are dead-lettered the way production dead-letters them: the scheduler rejects events
for a trigger that does not exist (yet), or gives up on them after the delivery limit while
the database is down.
"""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.ids import execution_id_for_event
from contracts.models import TriggerEvent, TriggerType
from contracts.topology import dead_letter_queue
from tests.helpers import CLI, FlakyPool, cli_env, eventually, make_settings, publish_raw, run_cli
from worker import amqp
from worker.catalog import Catalog, apply_catalog
from worker.replay import Filters, ReplayOptions, ReplaySummary, dead_letters, plan, reading, replay
from worker.resources import Resources
from worker.rpc import InvokeClient
from worker.runtime import open_resources, run_scheduler, run_worker
from worker.scheduler import Scheduler
from worker.settings import Settings

pytestmark = pytest.mark.integration


class Harness:
    """A namespace of its own with a worker and a scheduler that tests can stop and start."""

    def __init__(self, settings: Settings, resources: Resources) -> None:
        self.settings = settings
        self.resources = resources
        self.topology = settings.topology
        self.dlq = dead_letter_queue(self.topology.scheduler_queue)
        self._roles: dict[str, tuple[asyncio.Event, asyncio.Task[None]]] = {}

    def start(self, role: str, scheduler_pool: Any = None) -> None:
        stop = asyncio.Event()
        if role == "worker":
            task = asyncio.create_task(run_worker(self.resources, stop))
        elif scheduler_pool is None:
            task = asyncio.create_task(run_scheduler(self.resources, stop))
        else:
            task = asyncio.create_task(self._scheduler_with(scheduler_pool, stop))
        self._roles[role] = (stop, task)

    async def _scheduler_with(self, pool: Any, stop: asyncio.Event) -> None:
        channel = await self.resources.connection.channel()
        queue = await channel.get_queue(self.topology.scheduler_queue, ensure=False)
        await amqp.consume_until(queue, Scheduler(self.settings, pool).handle, stop, 1.0)
        await channel.close()

    async def stop(self, role: str) -> None:
        stop, task = self._roles.pop(role)
        stop.set()
        await task

    async def stop_all(self) -> None:
        for role in list(self._roles):
            await self.stop(role)

    async def order(self) -> list[str | None]:
        """Event ids in the dead-letter queue, front to back (looked at, not consumed)."""
        async with dead_letters(self.resources.connection, self.dlq) as letters:
            return [letter.event.event_id if letter.event else None for letter in letters]

    async def depth(self) -> int:
        """The broker's count of ready messages: cheap, but it can lag just after messages
        were handed back, so tests assert on `order()` and poll on this."""
        channel = await self.resources.connection.channel()
        queue = await channel.declare_queue(self.dlq, passive=True)
        await channel.close()
        return queue.declaration_result.message_count or 0


@pytest.fixture
async def harness(
    urls: dict[str, str], settings: Settings, pool: asyncpg.Pool, broker: AbstractRobustConnection
) -> AsyncIterator[Harness]:
    own = make_settings(urls, f"{settings.namespace}r{uuid.uuid4().hex[:6]}", "unused")
    own = own.model_copy(update={"database_url": settings.database_url})
    async with open_resources(own, "replay tests") as resources:
        rig = Harness(own, resources)
        rig.start("worker")
        rig.start("scheduler")
        yield rig
        await rig.stop_all()
        channel = await broker.channel()
        await amqp.delete_topology(channel, own.topology)
        await channel.close()


def lost_event(trigger_id: str, n: int, **fields: Any) -> TriggerEvent:
    return TriggerEvent(
        event_id=f"{trigger_id}-ev-{n}",
        workflow_id="wf_replay",
        trigger_id=trigger_id,
        trigger_type=TriggerType.WEBHOOK,
        occurred_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC) + timedelta(seconds=n),
        trigger_data={"method": "POST", "body": {"n": n, "kind": "odd" if n % 2 else "even"}},
        input_data={"n": n},
        metadata={"ingress": "webhook-gateway"},
        **fields,
    )


async def dead_letter(rig: Harness, events: list[TriggerEvent]) -> None:
    """Publish as the real ingress does, for a trigger the scheduler does not know."""
    before = len(await rig.order())
    for event in events:
        await publish_raw(
            rig.resources.connection,
            rig.topology.trigger_exchange,
            event.routing_key(),
            event.body(),
        )
        await asyncio.sleep(0.02)  # one at a time, so the dead-letter order is the send order

    async def all_dead() -> bool:
        return await rig.depth() >= before + len(events)

    await eventually(all_dead)


async def create_trigger(pool: asyncpg.Pool, trigger_id: str) -> None:
    """The fix an operator makes before replaying: the missing trigger now exists."""
    catalog = Catalog.model_validate(
        {
            "workflows": [
                {
                    "id": "wf_replay",
                    "name": "Replays",
                    "owner": "replay-owner",
                    "members": {"replayer": "operator", "replay-viewer": "viewer"},
                    "triggers": [{"id": trigger_id, "type": "WEBHOOK"}],
                }
            ]
        }
    )
    await apply_catalog(pool, catalog)


async def executions_of(pool: asyncpg.Pool, trigger_id: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT * FROM workflow_executions WHERE trigger_id = $1 ORDER BY created_at", trigger_id
    )


async def run_replay(
    rig: Harness, options: ReplayOptions, stop: asyncio.Event | None = None, on_progress: Any = None
) -> ReplaySummary:
    client = await InvokeClient.open(rig.resources.connection, rig.topology)
    try:
        return await replay(
            rig.resources.connection,
            rig.dlq,
            client,
            options,
            stop or asyncio.Event(),
            on_progress or (lambda _: None),
        )
    finally:
        await client.close()


def trigger_name() -> str:
    return f"trig_{uuid.uuid4().hex[:8]}"


async def test_listing_neither_consumes_nor_reorders(harness: Harness) -> None:
    trigger = trigger_name()
    events = [lost_event(trigger, n) for n in range(5)]
    await dead_letter(harness, events)
    first = await harness.order()
    again = await harness.order()
    assert first == again == [e.event_id for e in events]
    assert len(await harness.order()) == 5
    async with dead_letters(harness.resources.connection, harness.dlq) as letters:
        assert {(letter.reason, letter.queue) for letter in letters} == {
            ("rejected", harness.topology.scheduler_queue)
        }
        assert all(letter.count == 1 and letter.died_at for letter in letters)


@pytest.fixture
async def quorum_queue(broker: AbstractRobustConnection) -> AsyncIterator[str]:
    """A quorum queue of its own (as every dead-letter queue is), deleted afterwards."""
    name = f"mti-test-dlq-{uuid.uuid4().hex[:8]}"
    setup = await broker.channel()
    queue = await setup.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
    yield name
    await queue.delete(if_unused=False, if_empty=False)
    await setup.close()


async def fill(broker: AbstractRobustConnection, queue: str, count: int) -> list[bytes]:
    bodies = [json.dumps({"n": n}).encode() for n in range(count)]
    publisher = await amqp.confirmed_channel(broker)
    gate = asyncio.Semaphore(256)

    async def publish(body: bytes) -> None:
        async with gate:
            await publisher.default_exchange.publish(aio_pika.Message(body), routing_key=queue)

    await asyncio.gather(*(publish(body) for body in bodies))
    await publisher.close()
    return bodies


def count_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many gets and consumers the queue's readers start."""
    calls = {"get": 0, "consume": 0}
    for name in calls:
        method = getattr(aio_pika.Queue, name)

        async def counting(*args: Any, _method: Any = method, **kwargs: Any) -> Any:
            calls[_method.__name__] += 1
            return await _method(*args, **kwargs)

        monkeypatch.setattr(aio_pika.Queue, name, counting)
    return calls


async def read_bodies(broker: AbstractRobustConnection, queue: str) -> list[bytes]:
    async with dead_letters(broker, queue) as letters:
        return [letter.message.body for letter in letters]


async def test_a_queue_past_two_thousand_letters_is_taken_at_once_and_keeps_its_order(
    broker: AbstractRobustConnection, quorum_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One consumer takes it all, and one nack hands it all back, in order, read after read.
    (With no limit, a quorum queue stopped the consumer at 2,000; a get per letter took the
    rest, and handing back what a consumer and hundreds of gets held reordered the queue.)"""
    bodies = await fill(broker, quorum_queue, 2_500)
    calls = count_calls(monkeypatch)
    for _ in range(3):
        assert await read_bodies(broker, quorum_queue) == bodies
    # Each read: a consumer, then a get that finds none (another pair only if the broker
    # paused its deliveries for a moment), where the old reader made 501 gets.
    assert calls["get"] == calls["consume"] <= 6


async def test_a_queue_longer_than_one_consumer_may_hold_is_taken_share_by_share(
    broker: AbstractRobustConnection, quorum_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past what one consumer may hold (a quorum queue stops one with no limit at 2,000), the
    rest is taken by the next consumers, not by a `basic.get` round trip per letter."""
    monkeypatch.setattr(reading, "PER_CONSUMER", 1_000)
    bodies = await fill(broker, quorum_queue, 2_500)
    calls = count_calls(monkeypatch)
    assert await read_bodies(broker, quorum_queue) == bodies
    # Three consumers (1,000, 1,000 and the last 498), each followed by a get: the first two
    # found one more letter, the last one none. (Another pair only if the broker paused.)
    assert 3 <= calls["get"] == calls["consume"] <= 5
    assert sorted(await read_bodies(broker, quorum_queue)) == sorted(bodies)  # all back


async def test_filters_select_by_workflow_trigger_reason_time_and_body(harness: Harness) -> None:
    trigger, other = trigger_name(), trigger_name()
    await dead_letter(harness, [lost_event(trigger, n) for n in range(4)] + [lost_event(other, 9)])
    connection, dlq = harness.resources.connection, harness.dlq
    now = datetime.now(UTC)
    cases = [
        (Filters(trigger=trigger), 4),
        (Filters(workflow="wf_replay"), 5),
        (Filters(workflow="wf_other"), 0),
        (Filters(trigger_type=TriggerType.WEBHOOK, reason="rejected"), 5),
        (Filters(reason="delivery_limit"), 0),
        (Filters(since=now - timedelta(minutes=5)), 5),
        (Filters(until=now - timedelta(minutes=5)), 0),
        (Filters(matches=[(["trigger_data", "body", "kind"], "odd")]), 2 + 1),
        (Filters(trigger=trigger, matches=[(["input_data", "n"], 2)]), 1),
    ]
    for filters, expected in cases:
        count, sample = await plan(connection, dlq, filters, limit=None)
        assert count == expected, filters
        assert len(sample) == min(expected, 5)
    assert (await plan(connection, dlq, Filters(), limit=2))[0] == 2
    assert len(await harness.order()) == 5  # planning moved nothing


async def test_replay_through_the_manual_path_records_each_event_once(
    harness: Harness, pool: asyncpg.Pool
) -> None:
    # Given events dead-lettered because their trigger did not exist, which now does
    trigger = trigger_name()
    events = [lost_event(trigger, n) for n in range(3)]
    await dead_letter(harness, events)
    await create_trigger(pool, trigger)
    # When an operator replays them
    summary = await run_replay(
        harness,
        ReplayOptions(
            user_id="replayer", filters=Filters(trigger=trigger), description="trigger was missing"
        ),
    )
    # Then each became one execution carrying the original data, marked as a replay
    assert summary.as_dict() == {
        "matched": 3,
        "replayed": 3,
        "skipped": 0,
        "failed": {},
        "interrupted": False,
    }
    rows = await eventually(lambda: _exactly(pool, trigger, 3))
    by_original = {
        json.loads(r["metadata"])["replay_of"]
        if isinstance(r["metadata"], str)
        else r["metadata"]["replay_of"]: r
        for r in rows
    }
    for event in events:
        row = by_original[event.event_id]
        assert row["trigger_data"] == event.trigger_data
        assert row["input_data"] == event.input_data
        assert row["metadata"]["initiated_by"] == "replayer"
        assert row["metadata"]["source"] == "replay"
        assert row["metadata"]["ingress"] == "webhook-gateway"  # the original metadata stays
        assert row["event_id"] != event.event_id
    assert len(await harness.order()) == 0


async def _exactly(pool: asyncpg.Pool, trigger: str, n: int) -> list[asyncpg.Record] | None:
    rows = await executions_of(pool, trigger)
    assert len(rows) <= n, f"{len(rows)} executions, expected {n}"
    return rows if len(rows) == n else None


async def test_replay_with_edits(harness: Harness, pool: asyncpg.Pool) -> None:
    trigger = trigger_name()
    await dead_letter(harness, [lost_event(trigger, 1)])
    await create_trigger(pool, trigger)
    edits = {
        "/trigger_data/body/n": 100,
        "/trigger_data/body/fixed": True,
        "/input_data": {"n": 100},
    }
    summary = await run_replay(
        harness, ReplayOptions(user_id="replayer", filters=Filters(trigger=trigger), edits=edits)
    )
    assert summary.replayed == 1
    (row,) = await eventually(lambda: _exactly(pool, trigger, 1))
    assert row["trigger_data"]["body"] == {"n": 100, "kind": "odd", "fixed": True}
    assert row["input_data"] == {"n": 100}
    assert row["metadata"]["simulated_parameters"] == {"set": edits}


async def test_replaying_an_event_twice_makes_one_execution_unless_again(
    harness: Harness, pool: asyncpg.Pool
) -> None:
    # The same event dead-lettered three times (the ingress retried it)
    trigger = trigger_name()
    event = lost_event(trigger, 7)
    await dead_letter(harness, [event, event, event])
    await create_trigger(pool, trigger)
    # Replaying two copies makes one execution
    twice = await run_replay(
        harness, ReplayOptions(user_id="replayer", filters=Filters(trigger=trigger), limit=2)
    )
    assert (twice.matched, twice.replayed) == (2, 2)
    await eventually(lambda: _exactly(pool, trigger, 1))
    await asyncio.sleep(0.3)
    assert len(await executions_of(pool, trigger)) == 1
    # Deliberately again: a new execution
    again = await run_replay(
        harness, ReplayOptions(user_id="replayer", filters=Filters(trigger=trigger), again=True)
    )
    assert again.replayed == 1
    await eventually(lambda: _exactly(pool, trigger, 2))
    assert len(await harness.order()) == 0


async def test_refused_replays_and_unmatched_events_stay_in_order(
    harness: Harness, pool: asyncpg.Pool
) -> None:
    trigger, untouched = trigger_name(), trigger_name()
    events = [
        lost_event(trigger, 0),
        lost_event(untouched, 1),
        lost_event(trigger, 2),
        lost_event(untouched, 3),
    ]
    await dead_letter(harness, events)
    await create_trigger(pool, trigger)
    # A viewer may not replay: nothing moves
    refused = await run_replay(
        harness, ReplayOptions(user_id="replay-viewer", filters=Filters(trigger=trigger))
    )
    assert refused.failed == {"insufficient_role": 2} and refused.replayed == 0
    assert await harness.order() == [e.event_id for e in events]
    # An operator replays the matching ones; the others keep their order
    done = await run_replay(
        harness, ReplayOptions(user_id="replayer", filters=Filters(trigger=trigger))
    )
    assert (done.replayed, done.skipped) == (2, 2)
    assert await harness.order() == [events[1].event_id, events[3].event_id]


async def test_a_replay_with_all_its_letters_in_flight_acks_each_replayed_one_and_no_other(
    harness: Harness, pool: asyncpg.Pool
) -> None:
    """Runs of replayed letters are acked together (`multiple`) up to the first letter that
    stays, then one by one: every letter is in flight at once here, replies come back in any
    order, and what stays must stay, in order."""
    trigger, untouched = trigger_name(), trigger_name()
    events = [lost_event(trigger, n) for n in range(30)]
    events += [lost_event(untouched if n % 3 == 0 else trigger, n) for n in range(30, 90)]
    await dead_letter(harness, events)
    await create_trigger(pool, trigger)
    summary = await run_replay(
        harness, ReplayOptions(user_id="replayer", filters=Filters(trigger=trigger))
    )
    stays = [e.event_id for e in events if e.trigger_id == untouched]
    assert (summary.replayed, summary.skipped) == (len(events) - len(stays), len(stays))
    assert await harness.order() == stays
    await eventually(lambda: _exactly(pool, trigger, len(events) - len(stays)))


async def test_interrupting_a_replay_loses_nothing_and_resuming_finishes_it(
    harness: Harness, pool: asyncpg.Pool
) -> None:
    trigger = trigger_name()
    events = [lost_event(trigger, n) for n in range(6)]
    await dead_letter(harness, events)
    await create_trigger(pool, trigger)
    stop = asyncio.Event()

    def stop_after_two(summary: ReplaySummary) -> None:
        if summary.replayed == 2:
            stop.set()

    first = await run_replay(
        harness,
        ReplayOptions(user_id="replayer", filters=Filters(trigger=trigger), window=1),
        stop,
        stop_after_two,
    )
    assert first.interrupted and first.replayed == 2
    assert await harness.order() == [e.event_id for e in events[2:]]
    rest = await run_replay(
        harness, ReplayOptions(user_id="replayer", filters=Filters(trigger=trigger))
    )
    assert rest.replayed == 4 and not rest.interrupted
    await eventually(lambda: _exactly(pool, trigger, 6))
    assert len(await harness.order()) == 0


async def test_a_killed_replay_leaves_the_rest_in_order_and_a_rerun_finishes_it(
    harness: Harness, pool: asyncpg.Pool
) -> None:
    trigger = trigger_name()
    events = [lost_event(trigger, n) for n in range(8)]
    await dead_letter(harness, events)
    await create_trigger(pool, trigger)
    env = cli_env(harness.settings, MTI_USER="replayer")
    command = [str(CLI), "replay", "--trigger", trigger, "--yes", "--rate", "4/s", "--json"]
    # When the replay is killed outright (no chance to clean up) part way through.
    # (Subprocesses run without blocking this event loop: the worker and scheduler live here.)
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )

    async def some_replayed() -> bool:
        return len(await executions_of(pool, trigger)) >= 2

    await eventually(some_replayed, timeout=20)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    # Then what it did not finish is still there, in order
    remaining = await eventually(harness.order)  # the broker returns them on disconnect
    done = len(await executions_of(pool, trigger))
    original = [e.event_id for e in events]
    assert remaining == [i for i in original if i in remaining]  # the original relative order
    assert done + len(remaining) in (len(events), len(events) + 1)  # at most one in flight
    # And running it again finishes the job with exactly one execution per event
    rerun = await asyncio.create_subprocess_exec(
        *command[:-3],
        "--json",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(rerun.communicate(), 60)
    assert rerun.returncode == 0, stdout + stderr
    await eventually(lambda: _exactly(pool, trigger, len(events)))
    assert len(await harness.order()) == 0


async def test_as_is_replay_after_a_database_outage(harness: Harness, pool: asyncpg.Pool) -> None:
    # Given a scheduler that fails every event while its database answers (a database outage
    # is waited out, never dead-lettered): events die after the delivery limit
    await harness.stop("scheduler")
    harness.start("scheduler", FlakyPool(pool, failures=10_000, error=RuntimeError("a bug")))
    events = [
        TriggerEvent(
            event_id=f"outage-{uuid.uuid4().hex[:8]}-{n}",
            workflow_id="wf_demo",
            trigger_id="trig_webhook_1",
            trigger_type=TriggerType.WEBHOOK,
            occurred_at=datetime.now(UTC),
            trigger_data={"body": {"n": n}},
        )
        for n in range(3)
    ]
    await dead_letter(harness, events)
    async with dead_letters(harness.resources.connection, harness.dlq) as letters:
        assert {letter.reason for letter in letters} == {"delivery_limit"}
    # When the database is back and the operator re-publishes them as they were
    await harness.stop("scheduler")
    harness.start("scheduler")
    channel = await harness.resources.connection.channel()
    copies = await channel.declare_queue(exclusive=True)  # sees what the scheduler sees
    await copies.bind(harness.topology.trigger_exchange, "#")
    summary = await run_replay(
        harness, ReplayOptions(user_id="ops", filters=Filters(reason="delivery_limit"), as_is=True)
    )
    seen = []
    while (copy := await copies.get(no_ack=True, fail=False)) is not None:
        seen.append(copy)
    await channel.close()
    assert sorted(m.body for m in seen) == sorted(e.body() for e in events)  # byte for byte
    assert all(
        m.headers["x-mti-replayed"] == "true"
        and m.headers["x-mti-replayed-by"] == "ops"
        and "x-death" not in m.headers
        for m in seen
    )
    assert {m.routing_key for m in seen} == {"webhook.wf_demo.trig_webhook_1"}
    # Then the original events are recorded under their original ids, once each
    assert summary.replayed == 3
    for event in events:
        row = await eventually(
            lambda e=event: pool.fetchrow(
                "SELECT * FROM workflow_executions WHERE event_id = $1", e.event_id
            )
        )
        assert row["execution_id"] == execution_id_for_event(event.event_id)
        assert row["metadata"] == {}
    assert len(await harness.order()) == 0


async def cli(rig: Harness, *args: str) -> tuple[int, str, str]:
    return await run_cli(rig.settings, *args, MTI_USER="replayer")


async def test_dlq_and_replay_commands_show_before_anything_moves(
    harness: Harness, pool: asyncpg.Pool
) -> None:
    trigger = trigger_name()
    events = [lost_event(trigger, n) for n in range(3)]
    await dead_letter(harness, events)
    code, out, _ = await cli(harness, "dlq", "list", "--trigger", trigger, "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["event_id"] for r in rows] == [e.event_id for e in events]
    assert rows[0]["reason"] == "rejected" and rows[0]["queue"] == harness.topology.scheduler_queue
    code, out, _ = await cli(harness, "dlq", "show", events[1].event_id, "--json")
    assert code == 0 and json.loads(out)["event"]["trigger_data"]["body"]["n"] == 1
    assert (await cli(harness, "dlq", "show", "no-such-event"))[0] == 4
    code, out, _ = await cli(harness, "replay", "--trigger", trigger, "--plan", "--json")
    assert code == 0 and json.loads(out)["plan"]["matching"] == 3
    # Without --yes and without a terminal to ask on, nothing is replayed
    code, _, err = await cli(harness, "replay", "--trigger", trigger)
    assert code == 2 and "--yes" in err
    assert await harness.order() == [e.event_id for e in events]
    await create_trigger(pool, trigger)
    code, out, _ = await cli(
        harness, "replay", "--trigger", trigger, "--yes", "--set", "trigger_data.body.replayed=true"
    )
    assert code == 0
    assert json.loads(out.splitlines()[-1]) == {
        "matched": 3,
        "replayed": 3,
        "skipped": 0,
        "failed": {},
        "interrupted": False,
    }
    rows = await eventually(lambda: _exactly(pool, trigger, 3))
    assert all(row["trigger_data"]["body"]["replayed"] is True for row in rows)
