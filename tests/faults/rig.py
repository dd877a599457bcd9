"""What a fault test works with: the list of faults, the proxies, one fault's rig and the
exactly-once check."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from tests.faults.cluster import Cluster
from tests.faults.harness import FaultResult, Load, System, queue_state
from tests.faults.proxy import FaultProxy
from worker import amqp

# The faults of the issue, in its order; RELIABILITY.md is only rewritten by a run of all.
FAULTS = (
    "worker SIGKILL mid-stream",
    "worker killed after publishing the event, before the ack",
    "scheduler SIGKILL mid-stream",
    "shim SIGKILL with requests in flight",
    "broker connections force-closed",
    "queue leader node stopped (3-node cluster)",
    "broker memory alarm",
    "PostgreSQL unreachable 30 s",
    "Redis unreachable 30 s (fail-closed)",
    "poison messages",
    "SIGTERM under load",
    "partition: the service's node cut off from the other two, 60 s",
    "partition: a node without the service's connections cut off, 60 s",
    "partition: the service's node unreachable for everyone (its link down), 60 s",
)


@dataclass
class Proxies:
    postgres: FaultProxy
    redis: FaultProxy
    worker_redis: FaultProxy  # the worker's own way to Redis, to slow only the worker

    def all(self) -> tuple[FaultProxy, ...]:
        return (self.postgres, self.redis, self.worker_redis)


@dataclass
class Rig:
    """One fault's system, load and bookkeeping."""

    system: System
    broker: amqp.Broker
    cluster: Cluster
    proxies: Proxies
    pool: asyncpg.Pool
    results: list[FaultResult]
    loads: list[Load] = field(default_factory=list)

    def load(self) -> Load:
        load = Load(self.system, self.broker, self.pool, marker=self.system.settings.namespace)
        self.loads.append(load)
        return load

    async def finish(
        self, load: Load, fault: str, recovery_s: float | None
    ) -> tuple[FaultResult, dict[str, int]]:
        """Drain, stop every role with SIGTERM, count. Returns the count and the exit codes."""
        await load.drained()
        codes = await self.system.stop_all()
        result = await load.tally(fault, recovery_s)
        self.results.append(result)
        if load.dead_letters:
            print(f"{fault}: dead letters", *load.dead_letters, sep="\n  ")
        # Nothing left behind: with every consumer gone, unacked messages would be ready again.
        for queue in self.system.topology.consumer_queues:
            assert (await queue_state(self.broker, queue))[0] == 0, f"{queue} not empty"
        return result, codes


def assert_exactly_once(result: FaultResult, dead_lettered: int = 0) -> None:
    assert result.accepted == result.sent, f"not everything sent was accepted: {result}"
    assert result.lost == 0, result
    assert result.duplicates == 0, result
    assert result.recorded == result.accepted, result
    assert result.dead_lettered == dead_lettered, result
