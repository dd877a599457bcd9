"""Fixtures of the fault suite: its own RabbitMQ cluster, the fault proxies, a fresh system per
fault, and the results file and page written at the end.

Each fault runs on a namespace of its own (queues, exchanges, Redis keys) and is counted on
its own markers; everything is removed afterwards, the cluster's nodes and directories too.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
from redis.asyncio import Redis

from tests.faults.cluster import Cluster, available, started
from tests.faults.harness import FaultResult, System, harness_client
from tests.faults.proxy import FaultProxy, through
from tests.faults.rig import FAULTS, Proxies, Rig
from tests.helpers import delete_redis_keys, free_port, make_settings, project_root
from worker import amqp
from worker.settings import Settings


# Module-scoped: the cluster stops as soon as the faults ran, not at the end of `make test`.
@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    if (reason := available()) is not None:
        pytest.fail(f"the fault suite needs its own RabbitMQ cluster: {reason}")
    with started(Cluster, "mti-faults-") as nodes:
        yield nodes


@pytest.fixture(scope="module")
async def harness_broker(cluster: Cluster) -> AsyncIterator[amqp.Broker]:
    async with harness_client(cluster.urls) as broker:
        yield broker


@pytest.fixture(scope="module")
async def proxies(urls: dict[str, str]) -> AsyncIterator[Proxies]:
    def target(url: str) -> tuple[str, int]:
        parts = urlsplit(url)
        return parts.hostname or "127.0.0.1", parts.port or 0

    made = Proxies(
        FaultProxy(*target(urls["MTI_DATABASE_URL"])),
        FaultProxy(*target(urls["MTI_REDIS_URL"])),
        FaultProxy(*target(urls["MTI_REDIS_URL"])),
    )
    for proxy in made.all():
        await proxy.start()
    yield made
    for proxy in made.all():
        await proxy.close()


# Session-scoped: the faults of every module (the partitions run on a cluster of their own)
# land in one results file and one page.
@pytest.fixture(scope="session")
def results() -> Iterator[list[FaultResult]]:
    collected: list[FaultResult] = []
    yield collected
    write_results(collected)


def write_results(collected: list[FaultResult]) -> None:
    root = project_root()
    ordered = sorted(collected, key=lambda r: FAULTS.index(r.fault))
    (root / "reliability-results.json").write_text(
        json.dumps([r.row() for r in ordered], indent=2) + "\n"
    )
    if {r.fault for r in ordered} != set(FAULTS):
        return  # a partial run does not rewrite the page
    commit = _git(root, "rev-parse", "--short=12", "HEAD") or "unknown"
    # The page itself differs from its committed copy after every run: that is no change.
    if _git(root, "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs"):
        commit += " with uncommitted changes"
    lines = [
        "# Reliability under faults",
        "",
        "Written by the fault suite (`make test-faults`, tests/faults/); do not edit by hand.",
        f"Commit `{commit}`, run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, on a",
        "3-node RabbitMQ cluster of the suite's own with quorum queues of 3 replicas, and",
        "PostgreSQL and Redis behind fault-injecting proxies. Each fault ran alone under a",
        "bounded load of HTTP invokes (Idempotency-Key, retried with the same key until",
        "accepted), AMQP invokes and real trigger events. `accepted`: 202 answers, confirmed",
        "publishes; `recorded`: accepted requests with their execution row; `duplicates`:",
        "extra rows for one request; `dead_lettered`: messages in the dead-letter queues;",
        "`recovery_s`: from the fault (or its end, for outages and alarms) until a new",
        "request was accepted and recorded; for partitions also `after heal`: from the link's",
        "return until a new request was accepted and recorded, and `cluster whole`: until every",
        "node ran again and saw the others (empty: not within 90 s; the service needs only the",
        "majority). `p99 answer`: the 99th",
        "percentile of the HTTP answers' times (any status) during the run. The partitions run",
        "on a second 3-node cluster whose nodes live in network namespaces of their own",
        "(tests/faults/netns.py), with `cluster_partition_handling = autoheal`. See",
        "docs/operations.md for what each fault does.",
        "",
        "| fault | sent | accepted | recorded | duplicates | dead-lettered | lost "
        "| recovery (s) | after heal (s) | cluster whole (s) | p99 answer (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in ordered:
        lines.append(
            f"| {r.fault} | {r.sent} | {r.accepted} | {r.recorded} | {r.duplicates} | "
            f"{r.dead_lettered} | {r.lost} | {r.recovery_s} | {_shown(r.healed_s)} | "
            f"{_shown(r.cluster_whole_s)} | {_shown(r.answer_p99_s)} |"
        )
    (root / "docs" / "RELIABILITY.md").write_text("\n".join(lines) + "\n")


def _shown(value: float | None) -> str:
    return "" if value is None else str(value)


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    return done.stdout.strip()


@pytest.fixture
async def rig(
    urls: dict[str, str],
    settings: Settings,
    pool: asyncpg.Pool,
    redis: Redis,
    cluster: Cluster,
    harness_broker: amqp.Broker,
    proxies: Proxies,
    results: list[FaultResult],
    tmp_path: Path,
) -> AsyncIterator[Rig]:
    namespace = f"{settings.namespace}f{uuid.uuid4().hex[:6]}"
    own = make_settings(urls, namespace, "unused")
    system = System(
        own,
        cluster.urls,
        through(settings.database_url.get_secret_value(), proxies.postgres),
        {
            "default": through(settings.redis_url.get_secret_value(), proxies.redis),
            "worker": through(settings.redis_url.get_secret_value(), proxies.worker_redis),
        },
        tmp_path,
        free_port(),
    )
    for role in ("scheduler", "worker", "shim"):
        system.start(role)
    rig = Rig(system, harness_broker, cluster, proxies, pool, results)
    try:
        await system.ready(harness_broker)
        yield rig
    finally:
        for load in rig.loads:
            await load.close()
        for proxy in proxies.all():
            proxy.restore()
            proxy.latency = 0.0
        if system.processes:
            await system.stop_all()
        connection = await harness_broker.connected()
        assert connection is not None
        channel = await connection.channel()
        await amqp.delete_topology(channel, own.topology)
        await channel.close()
        await delete_redis_keys(redis, own)
