"""Sending one dead letter again: through the workers (a trigger event as a replay request, an
invoke request as it was), or its original bytes to where it died from (`--as-is`). Each
returns what became of the letter; `Unavailable` stops the whole replay."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aio_pika
import pamqp.encode
import structlog
from pydantic import ValidationError

from contracts.ids import replay_invocation_id
from contracts.models import InvocationSource, InvokeRequest, InvokeStatus
from worker import amqp
from worker.identity import AUTHORIZATION_HEADER
from worker.outage import BROKER_FAILURES
from worker.replay.letters import MALFORMED_X_DEATH, DeadLetter, DeadLetterQueue
from worker.replay.outcomes import (
    Halt,
    Outcome,
    Refusal,
    ReplayOutcome,
    Unavailable,
)
from worker.replay.reading import Filters
from worker.rpc import InvokeClient

log = structlog.get_logger(__name__)

DEATH_HEADERS = (
    "x-death",
    "x-first-death-reason",
    "x-first-death-queue",
    "x-first-death-exchange",
    "x-delivery-count",
)
REPLAY_HEADER = "x-mti-replayed"


@dataclass
class ReplayOptions:
    user_id: str
    filters: Filters
    edits: dict[str, Any] = field(default_factory=dict)  # JSON pointer -> value
    as_is: bool = False
    again: bool = False
    rate: float | None = None  # events per second
    limit: int | None = None
    description: str | None = None
    timeout: float = 30.0
    window: int = 256  # replays in flight at once
    kind: DeadLetterQueue = DeadLetterQueue.events


async def republish(channel: Any, letter: DeadLetter, user_id: str, sender: str) -> Outcome:
    """The original bytes to the exchange and routing key it died from, marked replayed.
    Refused when the death headers are malformed (where it died from is then unknown), or
    when its headers cannot be sent again as they came (a string that is not UTF-8 arrives as
    bytes, which the AMQP encoder refuses): failing in the publish would stop the replay.

    The replayer vouches for what it sends again: the message goes out as its broker user
    (`sender`, the validated `user_id` property; a delegate acts for the user the body names)
    and without the original's `authorization` header (a token that may have expired since)."""
    if MALFORMED_X_DEATH in letter.problems:
        return ReplayOutcome.MALFORMED_X_DEATH
    original = letter.message
    dropped = {*DEATH_HEADERS, AUTHORIZATION_HEADER}
    headers = {k: v for k, v in (original.headers or {}).items() if k.lower() not in dropped}
    headers |= {
        REPLAY_HEADER: "true",
        "x-mti-replayed-by": user_id,
        "x-mti-replayed-at": datetime.now(UTC).isoformat(),
    }
    try:
        pamqp.encode.field_table(headers)
    except (TypeError, ValueError):
        return ReplayOutcome.UNPUBLISHABLE_HEADERS
    exchange = (
        await channel.get_exchange(letter.exchange, ensure=False)
        if letter.exchange
        else channel.default_exchange
    )
    message = aio_pika.Message(
        original.body,
        headers=headers,
        content_type=original.content_type,
        content_encoding=original.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=original.message_id,
        correlation_id=original.correlation_id,
        timestamp=original.timestamp,
        type=original.type,
        app_id=original.app_id,
        user_id=sender,
    )
    try:
        with amqp.as_broker_failure():
            await exchange.publish(message, routing_key=letter.routing_key, mandatory=True)
    except BROKER_FAILURES as exc:
        raise Unavailable(Halt.PUBLISH_FAILED, exc) from exc
    return ReplayOutcome.REPLAYED


async def through_worker(
    client: InvokeClient,
    letter: DeadLetter,
    options: ReplayOptions,
    nonce: str,
    stop: asyncio.Event,
) -> Outcome:
    """A dead trigger event as a replay request: the manual invocation path, as `user_id`,
    with the edits; its invocation id derived from the event id (and `nonce`, for `again`)."""
    event = letter.event
    if event is None:
        return ReplayOutcome.NOT_A_TRIGGER_EVENT
    try:  # an event id may hold what a request refuses (a NUL): refuse this letter alone
        request = InvokeRequest(
            invocation_id=replay_invocation_id(event.event_id, nonce),
            workflow_id=event.workflow_id,
            trigger_id=event.trigger_id,
            user_id=options.user_id,
            parameters={"set": options.edits} if options.edits else {},
            description=options.description or f"replay of {event.event_id}",
            requested_at=datetime.now(UTC),
            source=InvocationSource.REPLAY,
            replay_of=event,
        )
    except ValidationError:
        return ReplayOutcome.INVALID_EVENT
    return await answered(client, request, options, stop, event.event_id)


async def resend_request(
    client: InvokeClient,
    letter: DeadLetter,
    options: ReplayOptions,
    nonce: str,
    stop: asyncio.Event,
) -> Outcome:
    """The dead-lettered invoke request again, as it was: its invocation id (so one execution
    whatever it did before it died), its user (checked as then), its own timestamp (so it
    resolves to the same event). `again` makes it a new invocation, without the idempotency
    key that would answer it with the first one's result."""
    request = letter.request
    if request is None:
        return ReplayOutcome.NOT_AN_INVOKE_REQUEST
    if nonce:
        request = request.model_copy(
            update={
                "invocation_id": replay_invocation_id(request.invocation_id, nonce),
                "idempotency_key": None,
            }
        )
    return await answered(client, request, options, stop, request.invocation_id)


async def answered(
    client: InvokeClient,
    request: InvokeRequest,
    options: ReplayOptions,
    stop: asyncio.Event,
    letter_id: str,
) -> Outcome:
    """Send until a worker answers: REPLAYED when it succeeded, else its refusal.
    A rate limit is waited out rather than skipped, to keep the order."""
    while True:
        try:
            result = await client.call(request, options.timeout)
        except BROKER_FAILURES as exc:
            raise Unavailable(Halt.BROKER_UNAVAILABLE, exc) from exc
        if result is None:
            raise Unavailable(Halt.NO_REPLY)
        if result.success:  # accepted, or a dry run's answer for a dead-lettered dry run
            return ReplayOutcome.REPLAYED
        if result.status is InvokeStatus.RATE_LIMITED and result.rate_limit and not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), result.rate_limit.retry_after_seconds)
            if stop.is_set():
                raise Unavailable(Halt.INTERRUPTED)
            continue
        log.warning(
            "replay refused",
            dead_letter=letter_id,
            status=result.status.value,
            errors=[e.path for e in result.errors],
        )
        return Refusal(result.errors[0].code if result.errors else result.status.value)
