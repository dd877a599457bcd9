"""Benchmarks on this machine's real RabbitMQ, PostgreSQL and Redis (`make bench`).

Every throughput is reported next to the broker's own limit measured in the same run (B: a
raw aio-pika round trip), so a noisy machine shows as a lower B rather than a false verdict.
Writes bench-results.json and exits non-zero if any run lost or duplicated an execution.
`--smoke` runs every figure on a few messages in seconds, so the harness cannot rot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg

from contracts.kinds import SPECS
from contracts.models import InvocationSource, InvokeRequest, TriggerEvent, TriggerType
from contracts.topology import INVOKE_ROUTING_KEY, dead_letter_queue
from tests.benchmarks import cpu, sse
from tests.benchmarks.httpload import percentile
from worker import amqp, store
from worker.auth import mint_token
from worker.catalog import Catalog, apply_catalog, demo_catalog
from worker.replay import Filters, ReplayOptions, replay
from worker.rpc import InvokeClient
from worker.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "manual-trigger"
DEMO_TRIGGERS = {t.type: t.id for t in demo_catalog().workflows[0].triggers}
# The benchmark publishes as the broker user of its settings: a delegate (worker/identity.py).
BROKER_USER = amqp.url_user(Settings().amqp_url.get_secret_value())


@dataclass
class Sizes:
    baseline: int
    pipeline: int
    http_max: int
    http_seconds: float
    replay: int
    payload: dict[int, int]  # KB -> messages
    workflows: list[int]
    growth: int
    sse_watchers: int = 2_000  # idle live status streams held by one shim

    @classmethod
    def of(cls, smoke: bool) -> Sizes:
        if smoke:
            return cls(200, 60, 60, 1.0, 30, {1: 20, 10: 20, 100: 10}, [10, 100], 30, 50)
        return cls(
            20_000,
            4_000,
            2_000,
            5.0,
            2_000,
            {1: 2_000, 10: 1_000, 100: 300},
            [10, 1_000, 100_000],
            2_000,
        )


@dataclass
class Results:
    figures: dict[str, Any] = field(default_factory=dict)
    lost: int = 0
    duplicated: int = 0

    def say(self, line: str) -> None:
        print(line, flush=True)

    def cpu(self, phase: str, per_item: dict[str, float]) -> None:
        """Record and print one phase's CPU-ms per invocation (or request, or event)."""
        self.figures.setdefault("cpu_ms_per_item", {})[phase] = per_item
        self.figures.setdefault("loadavg", {})[phase] = cpu.loadavg()
        shown = "  ".join(f"{group} {ms:.2f}" for group, ms in per_item.items())
        self.say(f"  cpu ms/item     {shown}   (load {cpu.loadavg()[0]:.1f})")


def settings_for(namespace: str, database: str) -> Settings:
    base = os.environ.get("MTI_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/x")
    return Settings(
        namespace=namespace,
        database_url=base.rsplit("/", 1)[0] + "/" + database,
        jwt_secret=secrets.token_urlsafe(32),
        rate_limit_per_user_per_minute=10**9,
        rate_limit_per_workflow_per_minute=10**9,
        log_format="json",
    )


def role_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MTI_NAMESPACE": settings.namespace,
        "MTI_DATABASE_URL": settings.database_url.get_secret_value(),
        "MTI_AMQP_URL": settings.amqp_url.get_secret_value(),
        "MTI_REDIS_URL": settings.redis_url.get_secret_value(),
        "MTI_JWT_SECRET": settings.jwt_secret.get_secret_value() if settings.jwt_secret else "",
        "MTI_RATE_LIMIT_PER_USER_PER_MINUTE": str(10**9),
        "MTI_RATE_LIMIT_PER_WORKFLOW_PER_MINUTE": str(10**9),
        **extra,
    }


class Roles:
    """The system's processes, started and stopped as the figures need them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.running: dict[str, list[asyncio.subprocess.Process]] = {}
        self.profilers: list[asyncio.subprocess.Process] = []
        self.logs = Path(tempfile.mkdtemp(prefix="mti-bench-"))

    async def start(self, role: str, count: int = 1, **env: str) -> None:
        for _ in range(count):
            with (self.logs / f"{role}-{len(self.running.get(role, []))}.log").open("ab") as log:
                process = await asyncio.create_subprocess_exec(
                    str(CLI),
                    role,
                    env=role_env(self.settings, **env),
                    cwd=ROOT,
                    stdout=log,
                    stderr=log,
                )
            self.running.setdefault(role, []).append(process)
            if profiles := os.environ.get("MTI_BENCH_PROFILE"):
                await self._profile(role, process.pid, Path(profiles))

    async def _profile(self, role: str, pid: int, into: Path) -> None:
        """Sample the role with py-spy until it exits (collapsed stacks, for BENCHMARKS.md)."""
        into.mkdir(parents=True, exist_ok=True)
        profiler = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--nonblocking",
            "--rate",
            "250",
            "--format",
            "raw",
            "--output",
            str(into / f"{role}-{pid}.txt"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self.profilers.append(profiler)

    async def stop(self, role: str) -> None:
        for process in self.running.pop(role, []):
            if process.returncode is None:
                process.terminate()
            await process.wait()

    async def stop_all(self) -> None:
        for role in list(self.running):
            await self.stop(role)
        for profiler in self.profilers:  # each ends, writing its profile, when its role exits
            await asyncio.wait_for(profiler.wait(), 60)

    def pids(self) -> dict[str, list[int]]:
        return {
            role: [p.pid for p in ps if p.returncode is None] for role, ps in self.running.items()
        }


class Meter:
    """CPU spent by each role, the shared services and the benchmark itself over a phase."""

    ROLES = ("worker", "scheduler", "shim")

    def __init__(self, roles: Roles, database: str) -> None:
        self._roles = roles
        self._database = database

    def _groups(self) -> dict[str, list[int]]:
        running = self._roles.pids()
        return {
            **{role: running.get(role, []) for role in self.ROLES},
            **cpu.service_pids(self._database),
            "bench": [os.getpid()],
        }

    def start(self) -> cpu.Snapshot:
        return cpu.snapshot(self._groups())

    def per_item(self, before: cpu.Snapshot, items: int) -> dict[str, float]:
        spent = cpu.spent_ms(before, cpu.snapshot(self._groups()))
        per = {group: ms / max(1, items) for group, ms in spent.items()}
        per["roles"] = sum(per[role] for role in self.ROLES)
        return {group: round(ms, 3) for group, ms in per.items()}


async def consumers(connection: Any, queue: str) -> int:
    channel = await connection.channel()
    declared = await channel.declare_queue(queue, passive=True)
    await channel.close()
    return declared.declaration_result.consumer_count or 0


async def wait_for(probe: Any, timeout: float = 60.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := await probe():
            return value
        await asyncio.sleep(interval)
    return None


def request_for(trigger_type: TriggerType, index: int, run: str, body_kb: int = 0) -> InvokeRequest:
    examples = SPECS[trigger_type].parameter_examples
    parameters = dict(examples[index % len(examples)].parameters)
    if body_kb:
        parameters = {"body": {"blob": "x" * (body_kb * 1024 - 64), "n": index}}
    return InvokeRequest(
        invocation_id=f"{run}-{index}",
        workflow_id="wf_demo",
        trigger_id=DEMO_TRIGGERS[trigger_type],
        user_id="demo-user",
        parameters=parameters,
        description=run,
        requested_at=datetime.now(UTC),
        source=InvocationSource.CLI,
    )


async def publish_all(
    channel: Any, exchange: str, bodies: list[tuple[str, bytes]], in_flight: int = 256
) -> None:
    """Confirmed, persistent, mandatory publishes with many in flight."""
    target = await channel.get_exchange(exchange, ensure=False)
    gate = asyncio.Semaphore(in_flight)

    async def one(key: str, body: bytes) -> None:
        async with gate:
            await target.publish(
                amqp.json_message(body, message_id=key, user_id=BROKER_USER),
                routing_key=key if exchange.endswith("events") else INVOKE_ROUTING_KEY,
                mandatory=True,
            )

    await asyncio.gather(*(one(key, body) for key, body in bodies))


async def baseline(
    connection: Any, settings: Settings, count: int, size: int, out: Results
) -> float:
    """B: publish confirmed+persistent+mandatory to a quorum queue, consume with manual acks."""
    name = f"{settings.namespace}.baseline"
    setup = await connection.channel()
    queue = await setup.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
    consumer = await connection.channel()
    await consumer.set_qos(prefetch_count=200)
    publisher = await amqp.confirmed_channel(connection)
    latencies: list[float] = []
    done = asyncio.Event()

    async def on_message(message: Any) -> None:
        latencies.append((time.perf_counter() - float(message.headers["sent"])) * 1000)
        await message.ack()
        if len(latencies) >= count:
            done.set()

    await (await consumer.get_queue(name, ensure=False)).consume(on_message)
    gate = asyncio.Semaphore(256)
    padding = b"x" * size

    async def send() -> None:
        async with gate:
            message = aio_pika.Message(
                padding,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers={"sent": str(time.perf_counter())},
            )
            await publisher.default_exchange.publish(message, routing_key=name, mandatory=True)

    started = time.perf_counter()
    await asyncio.gather(*(send() for _ in range(count)))
    await asyncio.wait_for(done.wait(), 120)
    rate = count / (time.perf_counter() - started)
    await consumer.close()
    await publisher.close()
    await queue.delete(if_unused=False, if_empty=False)
    await setup.close()
    out.figures |= {
        "baseline_per_s": round(rate),
        "baseline_p50_ms": round(percentile(latencies, 0.5), 2),
        "baseline_p99_ms": round(percentile(latencies, 0.99), 2),
    }
    out.say(
        f"baseline B        {rate:8.0f} msg/s   p50 {percentile(latencies, 0.5):6.1f} ms"
        f"   p99 {percentile(latencies, 0.99):6.1f} ms   ({count} x {size} B, quorum queue)"
    )
    return rate


async def count_rows(pool: asyncpg.Pool) -> tuple[int, int]:
    row = await pool.fetchrow(
        "SELECT count(*) AS n, count(DISTINCT metadata->>'invocation_id') AS d "
        "FROM workflow_executions"
    )
    return int(row["n"]), int(row["d"])


async def pipeline(
    connection: Any,
    pool: asyncpg.Pool,
    settings: Settings,
    requests: list[InvokeRequest],
    out: Results,
) -> float:
    """Invoke requests straight onto the invoke queue until every execution is committed."""
    await pool.execute("TRUNCATE workflow_executions")
    channel = await amqp.confirmed_channel(connection)
    bodies = [(r.invocation_id, r.body()) for r in requests]
    started = time.perf_counter()
    await publish_all(channel, settings.topology.invoke_exchange, bodies)

    async def all_committed() -> bool:  # a plain count: polling must not load the database
        return int(await pool.fetchval("SELECT count(*) FROM workflow_executions")) >= len(requests)

    await wait_for(all_committed, timeout=300, interval=0.02)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(0.5)  # anything arriving late would be a duplicate
    rows, distinct = await count_rows(pool)
    out.lost += len(requests) - distinct
    out.duplicated += rows - distinct
    await channel.close()
    return len(requests) / elapsed


async def transport_floor(
    connection: Any, settings: Settings, requests: list[InvokeRequest], out: Results
) -> float:
    """CPU per message of `tests/benchmarks/floor.py`: the worker's transport, no work of its
    own, fed the same invoke requests as the pipeline."""
    source, target = f"{settings.namespace}.floor-in", f"{settings.namespace}.floor-out"
    setup = await connection.channel()
    quorum = {"x-queue-type": "quorum"}
    queues = [
        await setup.declare_queue(name, durable=True, arguments=quorum) for name in (source, target)
    ]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.benchmarks.floor",
        source,
        target,
        str(len(requests)),
        env=role_env(settings),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        await wait_for(lambda: consumers(connection, source))
        channel = await amqp.confirmed_channel(connection)
        gate = asyncio.Semaphore(256)

        async def one(request: InvokeRequest) -> None:
            async with gate:
                await channel.default_exchange.publish(
                    amqp.json_message(request.body(), message_id=request.invocation_id),
                    routing_key=source,
                    mandatory=True,
                )

        await asyncio.gather(*(one(r) for r in requests))
        stdout, _ = await asyncio.wait_for(process.communicate(), 300)
        await channel.close()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        for queue in queues:
            await queue.delete(if_unused=False, if_empty=False)
        await setup.close()
    per_message = json.loads(stdout)["cpu_ms"] / len(requests)
    out.figures["transport_floor_cpu_ms_per_invocation"] = round(per_message, 3)
    out.say(
        f"transport floor    {per_message:.2f} ms CPU/inv  (consume, confirmed publish, one "
        f"Redis write, ack: {len(requests)} messages, no work of the worker's own)"
    )
    return per_message


async def run_workers(roles: Roles, connection: Any, settings: Settings, count: int) -> None:
    await roles.stop("worker")
    await roles.start("worker", count)

    async def ready() -> bool:
        return await consumers(connection, settings.topology.invoke_queue) == count

    await wait_for(ready)


def mixed_requests(run: str, count: int) -> list[InvokeRequest]:
    types = list(TriggerType)
    return [request_for(types[i % len(types)], i, run) for i in range(count)]


async def http_figures(
    roles: Roles, meter: Meter, settings: Settings, sizes: Sizes, out: Results
) -> None:
    port = 18000 + secrets.randbelow(2000)
    await roles.start("shim", MTI_HTTP_PORT=str(port))
    url = f"http://127.0.0.1:{port}"
    token = mint_token(settings.jwt_signing_secret or "", "demo-user", 3600)
    import httpx

    async def up() -> bool:
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{url}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_for(up)
    invoke = f"{url}/api/v1/workflows/wf_demo/triggers/trig_webhook_1/manual-invoke"

    async def load(*args: str) -> dict[str, Any]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.benchmarks.httpload",
            "--url",
            invoke,
            "--token",
            token,
            *args,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        stdout, _ = await process.communicate()
        return dict(json.loads(stdout))

    before = meter.start()
    peak = await load("--mode", "max", "--requests", str(sizes.http_max), "--concurrency", "32")
    peak_cpu = meter.per_item(before, peak["requests"])
    out.say(
        f"http max         {peak['per_s']:8.0f} req/s  (32 connections, errors {peak['errors']}; "
        f"generator {peak['generator_cpu_ms_per_request']:.2f} ms CPU/req, "
        f"{peak['generator_cpu_share']:.0%} of a core)"
    )
    out.cpu("http_max", peak_cpu)
    half = max(1.0, peak["per_s"] / 2)
    before = meter.start()
    steady = await load(
        "--mode", "rate", "--rate", f"{half:.1f}", "--duration", str(sizes.http_seconds)
    )
    steady_cpu = meter.per_item(before, steady["requests"])
    out.figures |= {
        "http_max_per_s": round(peak["per_s"]),
        "http_rate_per_s": round(half),
        "http_p50_ms": round(steady["p50_ms"], 2),
        "http_p99_ms": round(steady["p99_ms"], 2),
        "http_max_ms": round(steady["max_ms"], 2),
        "http_errors": peak["errors"] + steady["errors"],
        "http_generator_cpu_ms_per_request": round(peak["generator_cpu_ms_per_request"], 3),
        "http_generator_cpu_share": round(peak["generator_cpu_share"], 3),
        "system_cpu_ms_per_http_invoke": peak_cpu["roles"],
    }
    out.say(
        f"http at 50%      {half:8.0f} req/s  p50 {steady['p50_ms']:6.1f} ms   p99 "
        f"{steady['p99_ms']:6.1f} ms   max {steady['max_ms']:6.1f} ms   errors "
        f"{steady['errors']}   (target p99 <= 25 ms)"
    )
    out.cpu("http_rate", steady_cpu)
    await roles.stop("shim")


async def dead_letter_events(
    connection: Any, pool: asyncpg.Pool, settings: Settings, trigger_id: str, count: int
) -> None:
    """Events for a trigger that does not exist yet: the scheduler dead-letters every one."""
    events = [
        TriggerEvent(
            event_id=f"{trigger_id}-{i}",
            workflow_id="wf_demo",
            trigger_id=trigger_id,
            trigger_type=TriggerType.WEBHOOK,
            occurred_at=datetime.now(UTC),
            trigger_data={"method": "POST", "body": {"n": i}},
            input_data={"n": i},
        )
        for i in range(count)
    ]
    channel = await amqp.confirmed_channel(connection)
    await publish_all(
        channel, settings.topology.trigger_exchange, [(e.routing_key(), e.body()) for e in events]
    )
    await channel.close()
    dlq = dead_letter_queue(settings.topology.scheduler_queue)

    async def all_dead() -> bool:
        probe = await connection.channel()
        declared = await probe.declare_queue(dlq, passive=True)
        await probe.close()
        return (declared.declaration_result.message_count or 0) >= count

    await wait_for(all_dead, timeout=120)
    demo = demo_catalog().workflows[0]
    with_trigger = demo.model_copy(
        update={
            "triggers": [
                *demo.triggers,
                *Catalog.model_validate(
                    {
                        "workflows": [
                            {
                                "id": "x",
                                "name": "x",
                                "owner": "x",
                                "triggers": [{"id": trigger_id, "type": "WEBHOOK"}],
                            }
                        ]
                    }
                )
                .workflows[0]
                .triggers,
            ]
        }
    )
    await apply_catalog(pool, Catalog(workflows=[with_trigger]))


async def replay_figures(
    connection: Any,
    pool: asyncpg.Pool,
    meter: Meter,
    settings: Settings,
    count: int,
    base: float,
    out: Results,
) -> None:
    client = await InvokeClient.open(connection, settings.topology)
    dlq = dead_letter_queue(settings.topology.scheduler_queue)
    for label, as_is in (("manual", False), ("as_is", True)):
        trigger = f"trig_bench_{label}"
        await pool.execute("TRUNCATE workflow_executions")
        await dead_letter_events(connection, pool, settings, trigger, count)
        options = ReplayOptions(user_id="demo-user", filters=Filters(trigger=trigger), as_is=as_is)
        before = meter.start()
        started = time.perf_counter()
        summary = await replay(connection, dlq, client, options, asyncio.Event())
        rate = count / (time.perf_counter() - started)

        async def committed() -> bool:
            return int(await pool.fetchval("SELECT count(*) FROM workflow_executions")) >= count

        await wait_for(committed, timeout=120)
        replay_cpu = meter.per_item(before, count)
        await asyncio.sleep(0.3)
        rows, distinct = await count_rows(pool)
        out.lost += count - rows if as_is else count - distinct
        out.duplicated += rows - (count if as_is else distinct)
        key = "replay_per_s" if label == "manual" else "replay_as_is_per_s"
        out.figures[key] = round(rate)
        out.figures[key.replace("per_s", "ratio")] = round(rate / base, 3)
        out.say(
            f"replay {label:9} {rate:8.0f} ev/s   {rate / base:5.2f} x B   "
            f"(replayed {summary.replayed}/{count}, target >= {0.5 if as_is else 0.3} x B)"
        )
        out.cpu(f"replay_{label}", replay_cpu)
    await client.close()


async def add_workflows(pool: asyncpg.Pool, total: int) -> None:
    """Grow the catalogue to `total` workflows, each with one webhook trigger."""
    present = int(await pool.fetchval("SELECT count(*) FROM workflows"))
    ids = [f"wf_bulk_{i}" for i in range(present, total)]
    if not ids:
        return
    await pool.execute(
        "INSERT INTO workflows (id, name, owner)"
        " SELECT i, i, 'bulk-owner' FROM unnest($1::text[]) i",
        ids,
    )
    await pool.execute(
        "INSERT INTO workflow_triggers (workflow_id, id, type) "
        "SELECT i, 'trig_webhook_1', 'WEBHOOK' FROM unnest($1::text[]) i",
        ids,
    )
    await pool.execute("ANALYZE workflows; ANALYZE workflow_triggers")


@asynccontextmanager
async def isolated() -> AsyncIterator[tuple[Settings, Any, asyncpg.Pool]]:
    """A namespace and a database of its own, removed afterwards."""
    tag = uuid.uuid4().hex[:8]
    settings = settings_for(f"bench{tag}", f"mti_bench_{tag}")
    dsn = settings.database_url.get_secret_value()
    await store.migrate(dsn)
    pool = await store.create_pool(dsn, max_size=4)
    await apply_catalog(pool, demo_catalog())
    connection = await amqp.connect(settings.amqp_url.get_secret_value(), "bench")
    channel = await connection.channel()
    await amqp.declare_topology(channel, settings.topology, settings.delivery_limit)
    try:
        yield settings, connection, pool
    finally:
        await amqp.delete_topology(channel, settings.topology)
        await connection.close()
        await pool.close()
        await store.drop_database(dsn)
        from redis.asyncio import Redis

        redis = Redis.from_url(settings.redis_url.get_secret_value())
        async for key in redis.scan_iter(match=settings.topology.redis_key("*")):
            await redis.delete(key)
        await redis.aclose()


PHASES = ("pipeline", "http", "replay", "growth", "sse")


async def main(smoke: bool, output: Path, phases: tuple[str, ...] = PHASES) -> int:
    sizes = Sizes.of(smoke)
    out = Results()
    out.figures["loadavg_at_start"] = cpu.loadavg()
    async with isolated() as (settings, connection, pool):
        roles = Roles(settings)
        meter = Meter(roles, settings.database_url.get_secret_value().rsplit("/", 1)[1])
        try:
            probe = mixed_requests("size", 6)
            size = int(statistics.fmean(len(r.body()) for r in probe))
            base = await baseline(connection, settings, sizes.baseline, size, out)
            await roles.start("scheduler")
            for workers in (1, 2) if "pipeline" in phases else (1,):
                await run_workers(roles, connection, settings, workers)
                if "pipeline" not in phases:
                    break
                before = meter.start()
                rate = await pipeline(
                    connection, pool, settings, mixed_requests(f"p{workers}", sizes.pipeline), out
                )
                spent = meter.per_item(before, sizes.pipeline)
                key = "pipeline_per_s" if workers == 1 else "pipeline_2_workers_per_s"
                out.figures[key] = round(rate)
                out.figures[key.replace("per_s", "ratio")] = round(rate / base, 3)
                out.say(
                    f"pipeline {workers} worker{'s' if workers > 1 else ' '} {rate:8.0f} "
                    f"inv/s  {rate / base:5.2f} x B   ({sizes.pipeline} mixed invocations "
                    f"to committed rows, target >= 0.3 x B)"
                )
                out.cpu(f"pipeline_{workers}", spent)
                if workers == 1:
                    out.figures["worker_cpu_ms_per_invocation"] = spent["worker"]
                    floor = await transport_floor(
                        connection, settings, mixed_requests("floor", sizes.pipeline), out
                    )
                    out.figures["worker_cpu_over_floor"] = round(spent["worker"] / floor, 2)
            if "http" in phases:
                await run_workers(roles, connection, settings, 1)
                await http_figures(roles, meter, settings, sizes, out)
                if "pipeline_per_s" in out.figures:
                    ratio = out.figures["http_max_per_s"] / out.figures["pipeline_per_s"]
                    out.figures["http_max_ratio_to_pipeline"] = round(ratio, 3)
                    out.say(f"http max / pipeline {ratio:5.2f}   (target >= 0.8)")
            if "replay" in phases:
                await replay_figures(connection, pool, meter, settings, sizes.replay, base, out)
            if "growth" in phases:
                await run_workers(roles, connection, settings, 1)
                for kb, count in sizes.payload.items():
                    requests = [
                        request_for(TriggerType.WEBHOOK, i, f"kb{kb}", body_kb=kb)
                        for i in range(count)
                    ]
                    rate = await pipeline(connection, pool, settings, requests, out)
                    out.figures[f"payload_{kb}kb_per_s"] = round(rate)
                    out.say(f"payload {kb:3} KB    {rate:8.0f} inv/s  {rate / base:5.2f} x B")
                for total in sizes.workflows:
                    await add_workflows(pool, total)
                    rate = await pipeline(
                        connection, pool, settings, mixed_requests(f"wf{total}", sizes.growth), out
                    )
                    out.figures[f"workflows_{total}_per_s"] = round(rate)
                    out.say(f"{total:7} workflows {rate:8.0f} inv/s  {rate / base:5.2f} x B")
            if "sse" in phases:
                figures = await sse.sse_figures(roles, pool, settings, sizes.sse_watchers)
                out.figures |= figures
                out.say(
                    f"sse watchers     {figures['sse_watchers_held']:8} held   "
                    f"{figures['sse_kib_per_watcher']:6.1f} KiB each   one transition to all "
                    f"{figures['sse_reached']} in {figures['sse_fanout_ms']} ms "
                    f"(p50 {figures['sse_fanout_p50_ms']} ms)"
                )
        finally:
            await roles.stop_all()
    out.figures |= {
        "lost": out.lost,
        "duplicated": out.duplicated,
        "smoke": smoke,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "loadavg_at_end": cpu.loadavg(),
    }
    output.write_text(json.dumps(out.figures, indent=2) + "\n")
    out.say(f"lost {out.lost}, duplicated {out.duplicated}; figures in {output}")
    return 1 if out.lost or out.duplicated else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a few messages per figure")
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results.json")
    parser.add_argument(
        "--only",
        default=",".join(PHASES),
        help=f"comma-separated phases to run after B (default: all of {', '.join(PHASES)})",
    )
    arguments = parser.parse_args()
    chosen = tuple(p for p in arguments.only.split(",") if p)
    if unknown := set(chosen) - set(PHASES):
        parser.error(f"unknown phase(s): {', '.join(sorted(unknown))}")
    sys.exit(asyncio.run(main(arguments.smoke, arguments.output, chosen)))
