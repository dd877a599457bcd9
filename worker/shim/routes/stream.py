"""An execution's live status, as Server-Sent Events: its current state, then each transition
as it is committed, until a final status. One LISTEN per process feeds every stream
(worker/watch.py); a stream holds a flag, not a queue.
(No `from __future__ import annotations`: FastAPI must see the dependency annotations.)"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from fastapi.sse import EventSourceResponse, ServerSentEvent

from contracts.executions import EXECUTION_ID_PATTERN, ExecutionStatus
from contracts.regex import linear
from contracts.specs import Trigger
from worker import store
from worker.reproduce import reproduction
from worker.shim.dependencies import Context, User
from worker.shim.problems import READ_ERRORS, Problem, not_found
from worker.shim.records import execution_record
from worker.shim.routes.executions import readable_execution
from worker.watch import TooManyWatchers, Watcher, first_sight, follow

router = APIRouter()
EXECUTION_ID = linear(EXECUTION_ID_PATTERN)

# An execution is answered 202 before the scheduler records it: a stream opened right after
# waits this long for its row before answering 404.
APPEAR_WITHIN_SECONDS = 3.0
RETRY_AFTER_SECONDS = 5  # a 503 for too many streams says when to come back


@dataclass(frozen=True)
class Watched:
    """A stream's execution, as its caller may see it, and the watcher that follows it."""

    watcher: Watcher
    execution: store.Execution
    trigger: Trigger | None  # its trigger, which says how it is shown
    parameters: dict[str, Any] | None  # what reproduces it: the same at every status
    after_step: int
    heartbeat: float


def _last_step(last_event_id: str | None) -> int:
    """The step the client saw last (its `Last-Event-ID`); -1 for none or one not ours."""
    if last_event_id is not None and last_event_id.strip() in ("0", "1", "2"):
        return int(last_event_id.strip())
    return -1


async def watched_execution(
    execution_id: str,
    user: User,
    context: Context,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> AsyncIterator[Watched]:
    """Subscribe first, then read: a transition committed in between is still heard. The
    watcher lives until the response is sent (a dependency with `yield`)."""
    if not EXECUTION_ID.match(execution_id):
        raise not_found("Execution")  # nothing to wait for: no execution has such an id
    try:
        with context.watch.watch(execution_id) as watcher:
            execution = await first_sight(context.resources.pool, watcher, APPEAR_WITHIN_SECONDS)
            if execution is None:
                raise not_found("Execution")
            trigger = await readable_execution(context, execution, user)
            yield Watched(
                watcher=watcher,
                execution=execution,
                trigger=trigger,
                parameters=reproduction(execution, trigger),
                after_step=_last_step(last_event_id),
                heartbeat=context.settings.sse_heartbeat_seconds,
            )
    except TooManyWatchers:
        raise Problem(
            503,
            "Too many open streams",
            "this process follows as many executions as it may; retry later",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None


@router.get(
    "/api/v1/executions/{execution_id}/events",
    response_class=EventSourceResponse,
    responses={
        **READ_ERRORS,
        200: {
            "description": "`event: execution`, `id:` the status step (0 pending, 1 running, "
            "2 final), `data:` the ExecutionRecord; a comment line as heartbeat."
        },
    },
)
async def execution_events(
    watched: Annotated[Watched, Depends(watched_execution)], context: Context
) -> AsyncIterator[ServerSentEvent]:
    """The execution's current state, then each transition as it is committed; ends after a
    final status. `Last-Event-ID` (a step) resumes: only later states are sent."""
    states = follow(
        context.resources.pool,
        watched.watcher,
        watched.execution,
        after_step=watched.after_step,
        heartbeat=watched.heartbeat,
    )
    async for execution in states:
        if execution is None:
            yield ServerSentEvent(comment="heartbeat")
            continue
        record = execution_record(execution, watched.trigger, watched.parameters)
        yield ServerSentEvent(
            event="execution", id=str(ExecutionStatus(record.status).step), data=record
        )
