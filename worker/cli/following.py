"""`invoke --wait`: follow an accepted invocation's execution until it finishes, straight from
PostgreSQL (the process's one LISTEN, worker/watch.py), printing each transition."""

from __future__ import annotations

import asyncio
from datetime import datetime

import typer
from rich.text import Text

from contracts.executions import ExecutionStatus
from worker import store
from worker.cli.common import EXIT_UNAVAILABLE, command_pool, fail, json_text, out, run_async
from worker.outage import UNAVAILABLE_ERRORS
from worker.reproduce import reproduction
from worker.settings import Settings
from worker.shim.models import ExecutionRecord
from worker.shim.records import execution_record
from worker.watch import ExecutionWatch, first_sight, follow

EXIT_FAILED = 1  # the execution failed or was cancelled
EXIT_WAIT_TIMEOUT = 6  # no final status within --wait-timeout (3 is "denied")
DEFAULT_WAIT_TIMEOUT = 300.0

COLOURS = {
    ExecutionStatus.PENDING: "yellow",
    ExecutionStatus.RUNNING: "cyan",
    ExecutionStatus.SUCCEEDED: "green",
    ExecutionStatus.FAILED: "red",
    ExecutionStatus.CANCELLED: "red",
}


def wait_for_execution(
    settings: Settings,
    workflow: str,
    trigger: str,
    execution_id: str,
    timeout: float,
    json_output: bool,
) -> int:
    """Print each state of the execution until a final one; the exit code it calls for."""
    try:
        final = run_async(
            lambda: _follow(settings, workflow, trigger, execution_id, timeout, json_output)
        )
    except UNAVAILABLE_ERRORS as exc:
        fail(f"database unavailable: {type(exc).__name__}: {exc}", EXIT_UNAVAILABLE)
    if final is None:
        typer.echo(
            f"execution {execution_id} did not finish within {timeout:g}s "
            f"(it goes on; follow it again with its execution_url)",
            err=True,
        )
        return EXIT_WAIT_TIMEOUT
    return 0 if final is ExecutionStatus.SUCCEEDED else EXIT_FAILED


async def _follow(
    settings: Settings,
    workflow: str,
    trigger: str,
    execution_id: str,
    timeout: float,
    json_output: bool,
) -> ExecutionStatus | None:
    """The final status, or None when `timeout` seconds pass first."""
    watch = ExecutionWatch(settings.database_url.get_secret_value(), max_watchers=1)
    await watch.start()
    try:
        async with command_pool(settings) as pool:
            access = await store.load_access(pool, workflow, "", trigger)
            trigger_found = access.trigger if access else None
            with watch.watch(execution_id) as watcher:
                try:
                    async with asyncio.timeout(timeout):
                        # The worker answers before the scheduler records the execution.
                        current = await first_sight(pool, watcher, timeout)
                        if current is None:
                            return None
                        parameters = reproduction(current, trigger_found)
                        async for state in follow(pool, watcher, current):
                            if state is not None:
                                record = execution_record(state, trigger_found, parameters)
                                _print_state(record, json_output)
                                if ExecutionStatus(state.status).final:
                                    return ExecutionStatus(state.status)
                except TimeoutError:
                    return None
        return None
    finally:
        await watch.close()


def _when(record: ExecutionRecord) -> str:
    moment = record.finished_at or record.started_at or record.created_at
    return datetime.fromisoformat(moment).astimezone().strftime("%H:%M:%S.%f")[:-3]


def _print_state(record: ExecutionRecord, json_output: bool) -> None:
    """One state: a JSON line, or time, status and then the output or the error."""
    if json_output:
        typer.echo(record.model_dump_json())
        return
    status = ExecutionStatus(record.status)
    line = Text.assemble(_when(record), "  ", (f"{status.value:<9}", COLOURS[status]))
    if record.status_message:
        line.append(f"  {record.status_message}")
    if record.duration_ms is not None:
        line.append(f"  ({record.duration_ms} ms)")
    out.print(line)
    if record.error is not None:
        out.print(Text("  error  "), Text(json_text(record.error.model_dump(exclude_none=True))))
    if status is ExecutionStatus.SUCCEEDED and record.output is not None:
        out.print(Text("  output "), Text(json_text(record.output)))
