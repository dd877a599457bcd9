"""One fault at a time under a bounded load, then a count: nothing lost, nothing twice.

Every test starts the three roles as processes on its own namespace (the `rig`), streams
requests of every kind through them, injects its fault, measures how long until a new request
is accepted and recorded, lets the backlog drain, stops the roles with SIGTERM and counts
(`Rig.finish`). The counts land in reliability-results.json and docs/RELIABILITY.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid

import pytest

from contracts.topology import INVOKE_ROUTING_KEY, dead_letter_queue
from tests.faults.harness import (
    RECOVERY_BOUND_S,
    REPLY_TIMEOUT,
    WORKFLOW,
    Load,
    publish,
    queue_state,
)
from tests.faults.rig import FAULTS, Rig, assert_exactly_once
from tests.helpers import direct_reply_address, eventually

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

TWO_MIB = 2 * 1024 * 1024


def stream(load: Load, seconds: float) -> asyncio.Task[None]:
    return asyncio.create_task(load.run(seconds))


def clean_exits(codes: dict[str, int]) -> None:
    assert codes == {role: 0 for role in codes}, f"unclean exits: {codes}"


async def test_worker_sigkill_mid_stream(rig: Rig) -> None:
    load = rig.load()
    streaming = stream(load, 10)
    await asyncio.sleep(3)
    since = time.monotonic()
    await rig.system.kill("worker")
    rig.system.start("worker")
    recovery = await load.recovered(since)
    await streaming
    result, codes = await rig.finish(load, FAULTS[0], recovery)
    assert_exactly_once(result)
    clean_exits(codes)


async def test_worker_killed_after_publishing_before_the_ack(rig: Rig) -> None:
    load = rig.load()
    streaming = stream(load, 10)
    await asyncio.sleep(2)
    # Slow the worker's Redis so that a request spends a while between the confirm of its
    # event and its ack (recording its status comes in between); then a burst, and as soon
    # as the scheduler recorded one of the burst's events, cut the worker's Redis (the status
    # writes still on their way are lost) and kill it.
    rig.proxies.worker_redis.latency = 0.3
    burst = [f"{load.marker}-burst{n}" for n in range(30)]
    for invocation_id in burst:
        load.spawn(load.amqp_invoke(invocation_id))

    async def one_recorded() -> bool:
        sent = {load.sent_amqp[i] for i in burst if i in load.sent_amqp}
        return bool(sent and await load.recorded_event_ids(sent))

    await eventually(one_recorded, timeout=30, interval=0.02)
    since = time.monotonic()
    rig.proxies.worker_redis.cut()
    await rig.system.kill("worker")
    rig.proxies.worker_redis.latency = 0.0
    rig.proxies.worker_redis.restore()
    rig.system.start("worker")
    recovery = await load.recovered(since)
    await streaming
    result, codes = await rig.finish(load, FAULTS[1], recovery)
    assert_exactly_once(result)
    clean_exits(codes)
    # The scenario happened: a redelivered request emitted its event again and the scheduler
    # dropped the copy.
    dropped = [
        line
        for line in rig.system.log_lines("scheduler")
        if line.get("event") == "trigger event handled" and line.get("outcome") == "duplicate"
    ]
    assert dropped, "no event was emitted twice: the kill did not fall between publish and ack"


async def test_scheduler_sigkill_mid_stream(rig: Rig) -> None:
    load = rig.load()
    streaming = stream(load, 10)
    await asyncio.sleep(3)
    since = time.monotonic()
    await rig.system.kill("scheduler")
    await asyncio.sleep(1)  # events pile up meanwhile
    rig.system.start("scheduler")
    recovery = await load.recovered(since)
    await streaming
    result, codes = await rig.finish(load, FAULTS[2], recovery)
    assert_exactly_once(result)
    clean_exits(codes)


async def test_shim_sigkill_with_requests_in_flight(rig: Rig) -> None:
    load = rig.load()
    # A slow worker keeps the shim's requests waiting for their replies when it dies.
    rig.proxies.worker_redis.latency = 0.2
    streaming = stream(load, 10)
    await asyncio.sleep(3)
    since = time.monotonic()
    await rig.system.kill("shim")
    killed = time.monotonic()
    rig.system.start("shim")
    rig.proxies.worker_redis.latency = 0.0
    recovery = await load.recovered(since)
    await streaming
    result, codes = await rig.finish(load, FAULTS[3], recovery)
    assert_exactly_once(result)
    clean_exits(codes)
    cut_off = [a for a in load.answers if a.status == 0 and a.started < killed]
    assert cut_off, "no request was in flight when the shim died"
    assert all(key in load.accepted_http for key in {a.key for a in cut_off})


async def test_broker_connections_force_closed(rig: Rig) -> None:
    load = rig.load()
    streaming = stream(load, 10)
    await asyncio.sleep(3)
    namespace = f"[{rig.system.settings.namespace}]"
    connections = await asyncio.to_thread(rig.cluster.connections)
    pids = [pid for pid, _, name in connections if namespace in name]
    assert len(pids) == 4, (
        "expected one connection per role (and the worker's for replies), each named after it"
    )
    since = time.monotonic()
    await asyncio.to_thread(rig.cluster.close_connections, pids)

    async def consuming_again() -> bool:
        return await rig.system.consumers(rig.broker) == (1, 1)

    await eventually(consuming_again, timeout=RECOVERY_BOUND_S)
    recovery = await load.recovered(since)
    await streaming
    result, codes = await rig.finish(load, FAULTS[4], recovery)
    assert_exactly_once(result)
    clean_exits(codes)
    assert recovery <= RECOVERY_BOUND_S


async def test_queue_leader_node_stopped(rig: Rig) -> None:
    topology = rig.system.topology
    invoke = rig.cluster.queue_info(topology.invoke_queue)
    # Quorum queues with three replicas, one per node.
    assert len(invoke["members"].split(",")) == 3, invoke
    leader = rig.cluster.node(invoke["leader"])
    namespace = f"[{rig.system.settings.namespace}]"
    on_leader = [c for c in rig.cluster.connections() if namespace in c[2] and c[1] == leader.name]
    assert on_leader, "no role is connected to the leader: the fault would miss them"
    # A caller on the leader node waits for replies: when the node stops, its reply address
    # names a node that is gone (on RabbitMQ 3.x, replying to it crashes the replying
    # channel's whole connection).
    stranded_caller, stranded_address = await direct_reply_address(leader.url)
    load = rig.load()
    streaming = stream(load, 12)
    await asyncio.sleep(3)
    since = time.monotonic()
    await asyncio.to_thread(rig.cluster.stop_app, leader)
    try:
        for number in range(5):
            await load.amqp_invoke(f"stranded-{number}-{uuid.uuid4()}", stranded_address)

        async def consuming_again() -> bool:
            return await rig.system.consumers(rig.broker) == (1, 1)

        await eventually(consuming_again, timeout=RECOVERY_BOUND_S)
        recovery = await load.recovered(since)
        moved = [c for c in await asyncio.to_thread(rig.cluster.connections) if namespace in c[2]]
        assert len(moved) == 4 and all(c[1] != leader.name for c in moved), moved
        await streaming
        result, codes = await rig.finish(load, FAULTS[5], recovery)
    finally:
        await asyncio.to_thread(rig.cluster.start_app, leader)
        with contextlib.suppress(Exception):
            await stranded_caller.close()
    assert_exactly_once(result)
    clean_exits(codes)
    assert recovery <= RECOVERY_BOUND_S


async def test_broker_memory_alarm(rig: Rig) -> None:
    load = rig.load()
    streaming = stream(load, 14)
    await asyncio.sleep(3)
    await asyncio.to_thread(rig.cluster.set_memory_alarm, True)
    try:
        await eventually(lambda: asyncio.to_thread(rig.cluster.alarms_in_effect), timeout=15)
        blocked = time.monotonic()
        await asyncio.sleep(8)
        cleared = time.monotonic()
    finally:
        await asyncio.to_thread(rig.cluster.set_memory_alarm, False)
    await eventually(
        lambda: asyncio.to_thread(lambda: not rig.cluster.alarms_in_effect()), timeout=15
    )
    recovery = await load.recovered(cleared)
    await streaming
    result, codes = await rig.finish(load, FAULTS[6], recovery)
    assert_exactly_once(result)
    clean_exits(codes)
    # While publishers were blocked the shim answered 503 with Retry-After within its
    # timeout, and never 202.
    during = [
        a for a in load.answers if a.started > blocked + 1 and a.started + a.seconds < cleared
    ]
    assert during, "no request was answered during the alarm"
    assert all(a.status == 503 and a.retry_after for a in during), during
    assert all(a.seconds < REPLY_TIMEOUT + 2 for a in during), during


async def test_postgres_unreachable_for_30_s(rig: Rig) -> None:
    load = rig.load()
    streaming = stream(load, 40)
    await asyncio.sleep(3)
    rig.proxies.postgres.cut()
    await asyncio.sleep(30)
    rig.proxies.postgres.restore()
    back = time.monotonic()
    recovery = await load.recovered(back)
    await streaming
    result, codes = await rig.finish(load, FAULTS[7], recovery)
    # Held, not retried into the delivery limit: nothing dead-lettered.
    assert_exactly_once(result, dead_lettered=0)
    clean_exits(codes)
    for role in ("worker", "scheduler"):
        holding = [
            line
            for line in rig.system.log_lines(role)
            if line.get("event") == "dependency unreachable; holding messages"
        ]
        assert holding, f"the {role} never noticed the outage"
        assert len(holding) <= 40, f"the {role} probed {len(holding)} times: no backoff"


async def test_redis_unreachable_for_30_s_fails_closed(rig: Rig) -> None:
    load = rig.load()
    streaming = stream(load, 40)
    await asyncio.sleep(3)
    cut = time.monotonic()
    rig.proxies.redis.cut()
    rig.proxies.worker_redis.cut()
    await asyncio.sleep(30)
    rig.proxies.redis.restore()
    rig.proxies.worker_redis.restore()
    back = time.monotonic()
    recovery = await load.recovered(back)
    await streaming
    result, codes = await rig.finish(load, FAULTS[8], recovery)
    assert_exactly_once(result)
    clean_exits(codes)
    # Fail-closed: without Redis (idempotency, rate limits) nothing is accepted over HTTP.
    during = [a for a in load.answers if a.started > cut + 1 and a.started + a.seconds < back]
    assert during and all(a.status in (503, 504) for a in during), during
    assert any(a.status == 503 and a.retry_after for a in during)


async def test_poison_messages(rig: Rig) -> None:
    topology = rig.system.topology
    load = rig.load()
    streaming = stream(load, 8)
    await asyncio.sleep(2)
    poison = [b"not json {", b'{"wrong": "schema"}', b'{"pad": "' + b"x" * TWO_MIB + b'"}']
    for body in poison:
        await publish(rig.broker, topology.invoke_exchange, INVOKE_ROUTING_KEY, body)
        await publish(
            rig.broker, topology.trigger_exchange, f"webhook.{WORKFLOW}.trig_webhook_1", body
        )
        await publish(rig.broker, topology.updates_exchange, "succeeded", body)
    since = time.monotonic()
    recovery = await load.recovered(since)
    await streaming
    result, codes = await rig.finish(load, FAULTS[9], recovery)
    # Each refused once and dead-lettered; the stream around them untouched.
    assert_exactly_once(result, dead_lettered=len(topology.consumer_queues) * len(poison))
    clean_exits(codes)
    for queue in topology.consumer_queues:
        assert (await queue_state(rig.broker, dead_letter_queue(queue)))[0] == len(poison)
    refusals = [
        ("worker", "malformed invoke request dead-lettered"),
        ("scheduler", "malformed trigger event dead-lettered"),
        ("scheduler", "malformed execution update dead-lettered"),
    ]
    for role, event in refusals:
        seen = [line for line in rig.system.log_lines(role) if line.get("event") == event]
        assert len(seen) == len(poison), f"{role} refused {len(seen)} times: a requeue loop?"


async def test_sigterm_under_load(rig: Rig) -> None:
    load = rig.load()
    streaming = stream(load, 10)
    await asyncio.sleep(3)
    since = time.monotonic()
    codes = await asyncio.gather(
        *(rig.system.kill(role, signal.SIGTERM) for role in ("shim", "worker", "scheduler"))
    )
    assert codes == [0, 0, 0], f"unclean exits: {codes}"
    for role in ("scheduler", "worker", "shim"):
        rig.system.start(role)
    recovery = await load.recovered(since)
    await streaming
    result, stop_codes = await rig.finish(load, FAULTS[10], recovery)
    assert_exactly_once(result)
    clean_exits(stop_codes)
    # In-flight work was finished and acked before the exit: the new processes were handed
    # nothing a second time.
    redelivered = [
        line
        for line in rig.system.log_lines("worker", generation=1)
        if line.get("redelivered") is True
    ]
    redelivered += [
        line
        for line in rig.system.log_lines("scheduler", generation=1)
        if line.get("redelivered") is True
    ]
    assert redelivered == []
