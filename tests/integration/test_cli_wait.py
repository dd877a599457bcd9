"""`manual-trigger invoke --wait`: the CLI follows the execution it started, straight from
PostgreSQL. No engine runs here: the test reports the transitions itself, as an engine's
updates would be applied (UPDATE and NOTIFY in one transaction)."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest

from contracts.ids import execution_id_for_event, manual_event_id
from tests.factories import keyed_request
from tests.helpers import RunningSystem, eventually, run_cli, set_execution_status
from worker import store
from worker.settings import Settings

pytestmark = pytest.mark.integration

MANUAL = ("wf_demo", "trig_manual_1", "-p", "environment=staging")


def keyed() -> tuple[str, str]:
    """An idempotency key, and the execution id its invocation will have."""
    key = f"wait-{uuid.uuid4()}"
    # What `invoke wf_demo trig_manual_1 -p environment=staging --idempotency-key KEY` sends
    request = keyed_request(key, trigger_id="trig_manual_1", parameters={"environment": "staging"})
    return key, execution_id_for_event(manual_event_id(request.invocation_id))


def wait_for(settings: Settings, *args: str) -> asyncio.Task[tuple[int, str, str]]:
    return asyncio.create_task(
        run_cli(settings, "invoke", *MANUAL, "--wait", *args, MTI_USER="demo-user")
    )


async def recorded(pool: asyncpg.Pool, execution_id: str) -> store.Execution:
    return await eventually(lambda: store.get_execution(pool, execution_id))


async def test_wait_prints_each_state_and_exits_0_on_success(
    settings: Settings, system: RunningSystem, pool: asyncpg.Pool
) -> None:
    key, execution_id = keyed()
    # Given `invoke --wait --json` following its execution
    cli = wait_for(settings, "--json", "--idempotency-key", key)
    await recorded(pool, execution_id)
    await asyncio.sleep(0.5)  # the CLI has seen `pending`
    # When the engine reports it running, then succeeded
    await set_execution_status(pool, execution_id, "running")
    await asyncio.sleep(0.3)
    await set_execution_status(pool, execution_id, "succeeded", output={"deployed": "1.2.3"})
    code, out, err = await asyncio.wait_for(cli, 30)
    # Then it printed the answer, then each state as a JSON line, and exits 0
    assert code == 0, err
    answer, *lines = [json.loads(line) for line in out.splitlines()]
    assert answer["status"] == "accepted" and answer["execution_id"] == execution_id
    assert [line["status"] for line in lines] == ["pending", "running", "succeeded"]
    assert lines[-1]["output"] == {"deployed": "1.2.3"} and lines[-1]["duration_ms"] >= 0
    assert lines[0]["status_message"] == "waiting for the workflow engine"


async def test_wait_exits_1_on_failure_and_shows_the_error(
    settings: Settings, system: RunningSystem, pool: asyncpg.Pool
) -> None:
    key, execution_id = keyed()
    cli = wait_for(settings, "--idempotency-key", key)
    await recorded(pool, execution_id)
    error = {"message": "no deploys on Friday", "code": "refused"}
    await set_execution_status(pool, execution_id, "failed", error=error)
    code, out, _ = await asyncio.wait_for(cli, 30)
    assert code == 1
    assert "failed" in out and "no deploys on Friday" in out and '"code": "refused"' in out


async def test_wait_exits_1_when_cancelled(
    settings: Settings, system: RunningSystem, pool: asyncpg.Pool
) -> None:
    key, execution_id = keyed()
    cli = wait_for(settings, "--idempotency-key", key)
    await recorded(pool, execution_id)
    await set_execution_status(pool, execution_id, "cancelled")
    code, out, _ = await asyncio.wait_for(cli, 30)
    assert code == 1 and "cancelled" in out


async def test_wait_exits_6_when_the_execution_does_not_finish_in_time(
    settings: Settings, system: RunningSystem
) -> None:
    code, out, err = await wait_for(settings, "--wait-timeout", "1.5")
    assert code == 6, out + err
    assert "pending" in out and "did not finish within 1.5s" in err


@pytest.mark.parametrize("other", ["--dry-run", "--no-wait"])
async def test_wait_is_refused_where_there_is_nothing_to_follow(
    settings: Settings, other: str
) -> None:
    code, _, err = await run_cli(settings, "invoke", *MANUAL, "--wait", other, MTI_USER="demo-user")
    assert code == 2
    assert "--wait" in err and other in err
