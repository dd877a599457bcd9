"""HTTP load generator for the shim, run as a process of its own by the benchmark.

`--mode max`: closed loop, N requests over C connections: the highest sustained rate.
`--mode rate`: open loop at a fixed rate for D seconds: latency percentiles and errors.
Prints one JSON object, with the generator's own CPU time per request so a reader can see
that the generator is not the limit. Uses aiohttp: driven by httpx on the same two cores, the
generator itself was the limit (issue 13). Every request goes to loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import aiohttp


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def one(session: aiohttp.ClientSession, url: str, body: bytes) -> tuple[float, bool]:
    started = time.perf_counter()
    try:
        async with session.post(url, data=body) as response:
            await response.read()
            ok = response.status == 202
    except (aiohttp.ClientError, TimeoutError):
        ok = False
    return (time.perf_counter() - started) * 1000, ok


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--mode", choices=["max", "rate"], required=True)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    if not args.url.startswith(("http://127.", "http://localhost")):
        raise SystemExit("this load generator only targets loopback addresses")
    body = json.dumps(
        {"parameters": {"body": {"order_id": 42, "items": ["a", "b"]}}, "description": "benchmark"}
    ).encode()
    headers = {"Authorization": f"Bearer {args.token}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=args.concurrency * 2)
    timeout = aiohttp.ClientTimeout(total=30)
    cpu_started = time.process_time()
    async with aiohttp.ClientSession(
        headers=headers, connector=connector, timeout=timeout
    ) as session:
        results: list[tuple[float, bool]] = []
        started = time.perf_counter()
        if args.mode == "max":
            remaining = args.requests

            async def loop() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    results.append(await one(session, args.url, body))

            await asyncio.gather(*(loop() for _ in range(args.concurrency)))
        else:
            total = int(args.rate * args.duration)
            tasks = []
            for index in range(total):
                delay = started + index / args.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(session, args.url, body)))
            results = list(await asyncio.gather(*tasks))
        elapsed = time.perf_counter() - started
    cpu_ms = (time.process_time() - cpu_started) * 1000
    latencies = [ms for ms, ok in results if ok]
    print(
        json.dumps(
            {
                "requests": len(results),
                "errors": sum(1 for _, ok in results if not ok),
                "per_s": len(results) / elapsed,
                "p50_ms": percentile(latencies, 0.50),
                "p99_ms": percentile(latencies, 0.99),
                "max_ms": max(latencies, default=0.0),
                "mean_ms": statistics.fmean(latencies) if latencies else 0.0,
                "generator_cpu_ms_per_request": cpu_ms / max(1, len(results)),
                "generator_cpu_share": cpu_ms / 1000 / elapsed,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
