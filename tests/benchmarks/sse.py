"""The live status stream at scale (`make bench`, phase `sse`): one `manual-trigger shim`
process holding N idle SSE watchers of a real execution, what each costs in memory, and how
long one committed transition takes to reach all of them.

Figures: `sse_watchers_held` (streams open and served their first state), `sse_kib_per_watcher`
(the shim's RSS growth over them), `sse_fanout_ms` (commit of one transition to the last
watcher's receipt of it; the clients run in this process, so this includes their parsing),
`sse_fanout_p50_ms`, `sse_reached` (watchers the transition reached: all of them).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.helpers import set_execution_status, sse_events
from worker.auth import mint_token
from worker.settings import Settings


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_ms(pid: int) -> float:
    """The process's CPU time so far (utime + stime), in milliseconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


async def recorded_execution(pool: asyncpg.Pool) -> str:
    """A pending execution of the demo's manual trigger, as the scheduler records one."""
    execution_id = f"exec_{uuid.uuid4().hex}"
    await pool.execute(
        """INSERT INTO workflow_executions
               (execution_id, event_id, workflow_id, trigger_id, trigger_type,
                trigger_data, input_data, metadata)
           VALUES ($1, $2, 'wf_demo', 'trig_manual_1', 'MANUAL',
                   '{"inputs": {"environment": "staging"}}'::jsonb,
                   '{"environment": "staging"}'::jsonb, '{"manual_invocation": true}'::jsonb)""",
        execution_id,
        f"evt_bench_{uuid.uuid4().hex}",
    )
    return execution_id


class Watchers:
    """N clients of one execution's stream, on bare sockets (an HTTP client library in this
    one process would cost more than the server it measures): each counts its first state,
    then waits for the next and notes when it came."""

    def __init__(self, port: int, url: str, token: str, count: int) -> None:
        self.port, self.count = port, count
        self.request = (
            f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Accept: text/event-stream\r\n\r\n"
        ).encode()
        self.opened = 0
        self.all_open = asyncio.Event()
        self.arrivals: list[float] = []
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._one()) for _ in range(self.count)]

    async def _one(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(self.request)
            received = b""
            while b"\nid: 0\n" not in received:
                chunk = await reader.read(65536)
                if not chunk:
                    raise RuntimeError(f"stream ended before its first state: {received[:300]!r}")
                received += chunk
            self.opened += 1
            if self.opened == self.count:
                self.all_open.set()
            while b"\nid: 1\n" not in received:
                chunk = await reader.read(65536)
                if not chunk:
                    raise RuntimeError("stream ended before the transition")
                received += chunk
            self.arrivals.append(time.monotonic())
        finally:
            writer.close()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def sse_figures(
    roles: Any, pool: asyncpg.Pool, settings: Settings, count: int
) -> dict[str, Any]:
    """Start a shim, hold `count` watchers on one execution, move it once; the figures."""
    port = 18000 + secrets.randbelow(2000)
    await roles.start("shim", MTI_HTTP_PORT=str(port), MTI_SSE_MAX_WATCHERS=str(count + 100))
    (process,) = roles.running["shim"]
    base = f"http://127.0.0.1:{port}"
    token = mint_token(settings.jwt_signing_secret or "", "demo-user", 3600)
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=count + 10)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        await _until_ready(client)
        execution_id = await recorded_execution(pool)
        url = f"/api/v1/executions/{execution_id}/events"
        # Warm the route once (imports, pools, first-call costs), then measure from there.
        await _warm(client, pool, url, token)
        await asyncio.sleep(0.5)
        before = rss_kib(process.pid)
        watchers = Watchers(port, url, token, count)
        watchers.start()
        await asyncio.wait_for(watchers.all_open.wait(), 120)
        await asyncio.sleep(1.0)  # let allocations settle
        after = rss_kib(process.pid)
        cpu_before = cpu_ms(process.pid)
        committed = time.monotonic()
        await set_execution_status(pool, execution_id, "running")
        await asyncio.wait_for(asyncio.gather(*watchers.tasks, return_exceptions=True), 60)
        fanout_cpu = cpu_ms(process.pid) - cpu_before
        arrivals = sorted(t - committed for t in watchers.arrivals)
        await watchers.stop()
    await roles.stop("shim")
    return {
        "sse_watchers_held": watchers.opened,
        "sse_reached": len(arrivals),
        "sse_kib_per_watcher": round((after - before) / count, 1),
        "sse_shim_rss_kib_before": before,
        "sse_shim_rss_kib_after": after,
        "sse_fanout_ms": round(arrivals[-1] * 1000, 1) if arrivals else None,
        "sse_fanout_p50_ms": round(statistics.median(arrivals) * 1000, 1) if arrivals else None,
        "sse_fanout_shim_cpu_ms": round(fanout_cpu, 1),
    }


async def _until_ready(client: httpx.AsyncClient) -> None:
    for _ in range(300):
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the shim never became ready")


async def _warm(client: httpx.AsyncClient, pool: asyncpg.Pool, url: str, token: str) -> None:
    """One stream of another execution, followed to its end."""
    other = await recorded_execution(pool)
    warm_url = url.replace(url.split("/")[-2], other)
    headers = {"Authorization": f"Bearer {token}"}
    async with client.stream("GET", warm_url, headers=headers) as response:
        events = sse_events(response)
        await anext(events)
        await set_execution_status(pool, other, "succeeded", output={"warm": True})
        async for _ in events:
            pass
