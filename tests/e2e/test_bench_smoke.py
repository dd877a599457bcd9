"""`make bench-smoke` inside `make test`: the benchmark harness runs end to end and stays whole."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
REQUIRED = (
    "baseline_per_s",
    "pipeline_per_s",
    "pipeline_ratio",
    "http_p50_ms",
    "http_p99_ms",
    "replay_per_s",
    "replay_ratio",
    "http_max_per_s",
    "http_max_ratio_to_pipeline",
    "worker_cpu_ms_per_invocation",
    "system_cpu_ms_per_http_invoke",
    "http_generator_cpu_ms_per_request",
    "cpu_ms_per_item",
    "lost",
    "duplicated",
    "sse_watchers_held",
    "sse_kib_per_watcher",
    "sse_fanout_ms",
)


async def test_the_benchmark_smoke_run_measures_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.benchmarks.bench",
        "--smoke",
        "--output",
        str(output),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    log, _ = await asyncio.wait_for(process.communicate(), 300)
    assert process.returncode == 0, log.decode()[-4000:]
    figures = json.loads(output.read_text())
    assert set(REQUIRED) <= set(figures)
    assert figures["lost"] == figures["duplicated"] == 0
    assert figures["baseline_per_s"] > 0 and figures["pipeline_per_s"] > 0
    assert figures["http_errors"] == 0
    assert figures["sse_watchers_held"] == figures["sse_reached"] == 50
