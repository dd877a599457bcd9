"""Soak run (`make bench`): ten minutes at half the sustainable rate on the local services.

The shim, the worker and the scheduler run as processes on a namespace and a database of their
own. The sustainable rate is measured first (closed loop: as many keyed HTTP invokes as
`CLIENTS` concurrent clients get answered), then half of it is sent open loop for the soak
while the RSS of every role is sampled. Passes when, over the last 80 % of the run (the last
8 of 10 minutes), no role's memory grew more than 5 %, the p99 latency of each minute stayed
within 1.5 x the median minute, and nothing was lost or duplicated. Writes soak-results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.benchmarks.httpload import percentile
from tests.faults.harness import Load, System
from tests.helpers import free_port, make_settings
from tests.services import service_urls
from worker import amqp, store
from worker.catalog import apply_catalog, demo_catalog

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 16
SAMPLE_EVERY_S = 10.0
MAX_GROWTH = 0.05
MAX_P99_DRIFT = 1.5


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


async def sustainable_rate(load: Load, seconds: float) -> float:
    """Invocations per second that CLIENTS concurrent clients get accepted."""
    deadline = time.monotonic() + seconds
    done = 0

    async def client(n: int) -> None:
        nonlocal done
        i = 0
        while time.monotonic() < deadline:
            i += 1
            if await load.http_invoke(f"{load.marker}-warm{n}-{i}"):
                done += 1

    started = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    return done / (time.monotonic() - started)


async def soak(load: Load, system: System, rate: float, seconds: float) -> dict[str, list[int]]:
    """Send `rate` invocations a second for `seconds`, sampling every role's RSS."""
    samples: dict[str, list[int]] = {role: [] for role in system.processes}
    started = time.monotonic()
    next_sample = started
    sent = 0
    while (elapsed := time.monotonic() - started) < seconds:
        while sent < elapsed * rate:
            sent += 1
            load.spawn(load.http_invoke(f"{load.marker}-soak{sent}"))
        if time.monotonic() >= next_sample:
            for role, process in system.processes.items():
                samples[role].append(rss_kib(process.pid))
            next_sample += SAMPLE_EVERY_S
        await asyncio.sleep(0.01)
    return samples


def verdict(
    samples: dict[str, list[int]], answers: list[tuple[float, float]], seconds: float
) -> dict[str, Any]:
    """Memory growth per role over the last 80 % of the run, p99 per minute, pass or fail."""
    settle = int(len(next(iter(samples.values()))) * 0.2)
    growth = {}
    for role, values in samples.items():
        window = max(1, len(values) // 10)
        first = statistics.fmean(values[settle : settle + window])
        last = statistics.fmean(values[-window:])
        growth[role] = round((last - first) / first, 4)
    minutes = max(1, int(seconds // 60))
    p99s = []
    for minute in range(minutes):
        latencies = [s for t, s in answers if minute * 60 <= t < (minute + 1) * 60]
        if latencies:
            p99s.append(round(percentile(latencies, 0.99) * 1000, 1))
    steady = p99s[1:] or p99s
    median = statistics.median(steady)
    return {
        "rss_growth": growth,
        "p99_ms_per_minute": p99s,
        "memory_ok": all(g <= MAX_GROWTH for g in growth.values()),
        "p99_ok": all(p <= MAX_P99_DRIFT * median for p in steady),
    }


async def main(minutes: float, output: Path) -> int:
    seconds = minutes * 60
    tag = uuid.uuid4().hex[:8]
    with service_urls() as urls:
        settings = make_settings(urls, f"soak{tag}", f"mti_soak_{tag}")
        dsn = settings.database_url.get_secret_value()
        await store.migrate(dsn)
        pool = await store.create_pool(dsn, max_size=4)
        await apply_catalog(pool, demo_catalog())
        broker = amqp.Broker(urls["MTI_AMQP_URL"], "soak harness")
        await broker.start()
        system = System(
            settings,
            urls["MTI_AMQP_URL"],
            dsn,
            {"default": urls["MTI_REDIS_URL"]},
            Path(tempfile.mkdtemp(prefix="mti-soak-")),
            free_port(),
        )
        try:
            for role in ("scheduler", "worker", "shim"):
                system.start(role)
            await system.ready(broker)
            load = Load(system, broker, pool, marker=settings.namespace)
            rate = await sustainable_rate(load, min(30.0, seconds / 10))
            print(f"sustainable {rate:.0f} inv/s; soaking at {rate / 2:.0f} inv/s", flush=True)
            soak_started = time.monotonic()
            samples = await soak(load, system, rate / 2, seconds)
            await load.drained()
            codes = await system.stop_all()
            result = await load.tally("soak", None)
            await load.close()
            answers = [
                (a.started - soak_started, a.seconds)
                for a in load.answers
                if a.status == 202 and a.started >= soak_started
            ]
            figures = {
                "minutes": minutes,
                "sustainable_per_s": round(rate, 1),
                "soak_per_s": round(rate / 2, 1),
                "rss_kib": samples,
                **verdict(samples, answers, seconds),
                **result.row(),
                "exit_codes": codes,
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        finally:
            if system.processes:
                await system.stop_all()
            connection = await broker.connected()
            assert connection is not None
            channel = await connection.channel()
            await amqp.delete_topology(channel, settings.topology)
            await broker.close()
            await pool.close()
            await store.drop_database(dsn)
            from redis.asyncio import Redis

            redis = Redis.from_url(urls["MTI_REDIS_URL"])
            async for key in redis.scan_iter(match=settings.topology.redis_key("*")):
                await redis.delete(key)
            await redis.aclose()
    output.write_text(json.dumps(figures, indent=2) + "\n")
    ok = (
        figures["memory_ok"]
        and figures["p99_ok"]
        and figures["lost"] == 0
        and figures["duplicates"] == 0
        and set(codes.values()) == {0}
    )
    print(
        f"rss growth {figures['rss_growth']}, p99 ms per minute {figures['p99_ms_per_minute']}, "
        f"lost {figures['lost']}, duplicates {figures['duplicates']}: "
        f"{'PASS' if ok else 'FAIL'}; figures in {output}",
        flush=True,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--output", type=Path, default=ROOT / "soak-results.json")
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.minutes, arguments.output)))
