"""A batch of invoke requests on their way through the worker's stages (worker/invoke.py):
each request's state, and running a step for many of them at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aio_pika.abc import AbstractIncomingMessage

from contracts.models import InvokeRequest, InvokeResult, InvokeStatus, TriggerEvent
from worker import store
from worker.resolvers import PreparedInvocation


@dataclass
class Work:
    """One request of a batch on its way through the stages: decided once `result` is set,
    failed once `error` is (a transient failure of its own, retried; or an outage, held)."""

    message: AbstractIncomingMessage
    request: InvokeRequest
    result: InvokeResult | None = None
    trigger_type: str | None = None
    access: store.Access | None = None
    prepared: PreparedInvocation | None = None
    error: Exception | None = None

    @property
    def open(self) -> bool:
        return self.result is None and self.error is None

    def publishable(self) -> tuple[TriggerEvent, bytes]:
        assert self.prepared is not None  # an open work past its preparation has its event
        return self.prepared.event, self.prepared.body

    def decide(self, result: InvokeResult, trigger_type: str | None) -> None:
        self.result, self.trigger_type = result, trigger_type


def still_open(works: list[Work]) -> list[Work]:
    return [w for w in works if w.open]


async def each(works: list[Work], step: Callable[[Work], Awaitable[None]]) -> None:
    """Run `step` for these works concurrently; a step that raises fails only its work."""
    if not works:
        return
    outcomes = await asyncio.gather(*(step(w) for w in works), return_exceptions=True)
    for work, outcome in zip(works, outcomes, strict=True):
        if isinstance(outcome, Exception):
            work.error = outcome
        elif isinstance(outcome, BaseException):
            raise outcome


def refused(work: Work) -> bool:
    return (
        work.error is None
        and work.result is not None
        and work.result.status
        in (
            InvokeStatus.FORBIDDEN,
            InvokeStatus.NOT_FOUND,
        )
    )
