"""An execution's live status stream, through the real `manual-trigger run` (shim, worker,
scheduler and the stand-in engine): what the panel sees after a 202."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection
from redis.asyncio import Redis

from tests.helpers import Service, StreamEvent, running, serving, sse_events
from worker.settings import Settings

pytestmark = pytest.mark.e2e

MANUAL = "/api/v1/workflows/wf_demo/triggers/trig_manual_1/manual-invoke"
Tokens = Callable[[str], dict[str, str]]


async def invoke(http: httpx.AsyncClient, headers: dict[str, str], **parameters: Any) -> str:
    """A manual run of the demo workflow; its execution_url."""
    body = {"parameters": {"environment": "staging", **parameters}}
    response = await http.post(MANUAL, headers=headers, json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["execution_url"])


async def collect(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], timeout: float = 20
) -> list[StreamEvent]:
    """Every event of the stream, heartbeats too, until the server ends it."""
    events = []
    async with asyncio.timeout(timeout), http.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        async for event in sse_events(response):
            events.append(event)
    return events


def states(events: list[StreamEvent]) -> list[tuple[str | None, str | None, str]]:
    return [(e.event, e.id, e.data["status"]) for e in events if e.data is not None]


async def test_the_stream_follows_an_execution_from_pending_to_succeeded(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    # Given a manual run accepted a moment ago (not even recorded yet, perhaps)
    url = await invoke(http, as_user("demo-user"), version="1.2.3")
    # When its stream is opened at once
    events = await collect(http, f"{url}/events", as_user("demo-user"))
    # Then it shows each status as the engine reports it, and ends after the final one
    assert states(events) == [
        ("execution", "0", "pending"),
        ("execution", "1", "running"),
        ("execution", "2", "succeeded"),
    ]
    pending, running_, done = (e.data for e in events if e.data is not None)
    assert pending["status_message"] == "waiting for the workflow engine"
    assert pending["started_at"] is None and pending["finished_at"] is None
    assert running_["status_message"] is None and running_["started_at"] is not None
    assert done["duration_ms"] >= 0 and done["error"] is None
    assert done["output"]["echo"]["version"] == "1.2.3"
    assert done["events_url"] == f"{url}/events"
    # And each event carries the record the read answers, field for field
    read = (await http.get(url, headers=as_user("demo-user"))).json()
    assert read == done


async def test_a_failed_run_ends_the_stream_with_its_error(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    url = await invoke(http, as_user("demo-user"), fail="no deploys on Friday")
    events = await collect(http, f"{url}/events", as_user("demo-user"))
    final = events[-1].data
    assert final["status"] == "failed" and final["output"] is None
    assert final["error"]["message"] == "no deploys on Friday"


async def test_last_event_id_resumes_after_the_step_it_names(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    headers = as_user("demo-user")
    url = await invoke(http, headers)
    # Given a client that saw `pending` (id 0) and lost its connection
    resumed = await collect(http, f"{url}/events", {**headers, "Last-Event-ID": "0"})
    # Then it is sent only what came later
    assert [e.id for e in resumed if e.data is not None] == ["1", "2"]
    # And a client that saw the final state is told nothing more: the stream ends at once
    started = time.monotonic()
    assert await collect(http, f"{url}/events", {**headers, "Last-Event-ID": "2"}) == []
    assert time.monotonic() - started < 2
    # And an id that is not ours replays from the start
    again = await collect(http, f"{url}/events", {**headers, "Last-Event-ID": "junk"})
    assert states(again) == [("execution", "2", "succeeded")]


async def test_the_stream_is_authorized_like_the_read(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    url = await invoke(http, as_user("demo-user"))
    events = f"{url}/events"
    await collect(http, events, as_user("demo-user"))  # recorded (and finished) by now
    # Without a token: 401, as the read answers
    for path in (url, events):
        response = await http.get(path)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    # Not a member of its workflow: 404, as the read answers (no hint that it exists)
    for path in (url, events):
        response = await http.get(path, headers=as_user("stranger"))
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
    # Unknown: 404, after a short wait for an execution about to be recorded
    unknown = f"/api/v1/executions/exec_{'0' * 32}/events"
    started = time.monotonic()
    response = await http.get(unknown, headers=as_user("demo-user"))
    assert response.status_code == 404 and 2 <= time.monotonic() - started < 10
    # Not an execution id at all: 404 at once
    response = await http.get("/api/v1/executions/nope/events", headers=as_user("demo-user"))
    assert response.status_code == 404


@pytest.fixture(scope="module")
async def slow_engine(
    settings: Settings,
    broker: AbstractRobustConnection,
    redis: Redis,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Service]:
    """A `manual-trigger run` whose engine takes 3 s over a run, whose streams send a heartbeat
    every 0.2 s, and whose request bodies must arrive within 0.5 s (a stream outlives that)."""
    log: Path = tmp_path_factory.mktemp("stream") / "run.log"
    async with running(
        "run",
        settings,
        broker,
        redis,
        log,
        sse_heartbeat_seconds=0.2,
        engine_run_seconds=3,
        http_body_timeout_seconds=0.5,
    ) as service:
        yield service
    assert service.process.returncode == 0, f"unclean shutdown:\n{log.read_text()}"


async def test_an_idle_stream_sends_heartbeats(slow_engine: Service) -> None:
    headers = slow_engine.token("demo-user")
    async with httpx.AsyncClient(base_url=slow_engine.url, timeout=20) as http:
        url = await invoke(http, headers)
        events = await collect(http, f"{url}/events", headers)
    assert [e.comment for e in events if e.data is None][:3] == ["heartbeat"] * 3
    assert states(events)[-1] == ("execution", "2", "succeeded")


async def test_stopping_the_shim_ends_open_streams_and_it_exits_cleanly(
    settings: Settings,
    broker: AbstractRobustConnection,
    redis: Redis,
    tmp_path: Path,
) -> None:
    # Given a shim (no engine: executions stay pending) with an open stream
    async with serving(
        "run", settings, broker, redis, tmp_path / "run.log", timeout=20, engine_start_seconds=60
    ) as (service, http):
        headers = service.token("demo-user")
        url = await invoke(http, headers)
        async with http.stream("GET", f"{url}/events", headers=headers) as response:
            events = sse_events(response)
            first = await anext(events)
            assert first.data["status"] == "pending"
            # When the process is told to stop
            started = time.monotonic()
            service.process.terminate()
            # Then the stream ends promptly and cleanly
            rest = [event async for event in events]
            assert time.monotonic() - started < 5
            assert all(event.data is None for event in rest)
        await asyncio.to_thread(service.process.wait, 15)
    # And the process exits with 0
    assert service.process.returncode == 0, (tmp_path / "run.log").read_text()[-3000:]
