"""A batch role binds no logging context for an item that went well: its `done` line must
name the item itself, as the bound context did."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from structlog.testing import capture_logs

from contracts.models import InvokeStatus
from tests.factories import invoke_request, trigger_event
from worker.answers import answer
from worker.invoke import InvokeWorker
from worker.scheduler import Scheduler

MESSAGE: Any = SimpleNamespace(redelivered=False)


def _line(done: Any, *args: Any) -> dict[str, Any]:
    with capture_logs() as logs:
        done(MESSAGE, *args, 0.01)
    (line,) = logs
    return line


def test_the_scheduler_s_done_line_names_the_event() -> None:
    event = trigger_event(event_id="evt-1")
    scheduler = object.__new__(Scheduler)  # `done` needs none of its connections
    line = _line(scheduler.done, event, "exec_1")
    assert line | Scheduler.context(scheduler, event) == line
    assert line["event_id"] == "evt-1" and line["outcome"] == "recorded"


def test_the_invoke_worker_s_done_line_names_the_request() -> None:
    request = invoke_request()
    worker = object.__new__(InvokeWorker)
    result = answer(request, InvokeStatus.ACCEPTED, "ok")
    line = _line(worker.done, request, (result, "WEBHOOK"))
    assert line | InvokeWorker.context(worker, request) == line
