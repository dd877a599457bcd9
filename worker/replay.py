"""The dead-letter queues of trigger events and of invoke requests: look at them, and replay
what they hold.

Reading never consumes or reorders: messages are fetched unacknowledged (streamed by a
consumer, then `basic.get` until the queue says it is empty) and, when the
channel closes, RabbitMQ puts every one not acknowledged back at its original position. A
replay acknowledges a dead letter only after its replay is confirmed (a worker's `accepted`
answer, or the broker's publisher confirm for `--as-is`), so an interruption, a crash
included, loses nothing and leaves the rest in order. A replay of an event has an invocation
id derived from the event id, so replaying it twice makes one execution (unless `again`).
A dead-lettered invoke request is sent again as it was, under its own invocation id, so the
worker answers it as it would have and its event id is the one it would have had: one
execution, however often it is replayed and whatever happened before it died.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any, Literal

import aio_pika
import pamqp.encode
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from pydantic import ValidationError

from contracts.ids import replay_invocation_id
from contracts.models import InvocationSource, InvokeRequest, InvokeStatus, TriggerEvent
from contracts.regex import linear
from worker import amqp
from worker.identity import AUTHORIZATION_HEADER
from worker.paths import get_path
from worker.rpc import InvokeClient
from worker.safety import MAX_DEPTH, not_a_json_number

log = structlog.get_logger(__name__)

DEATH_HEADERS = (
    "x-death",
    "x-first-death-reason",
    "x-first-death-queue",
    "x-first-death-exchange",
    "x-delivery-count",
)
REPLAY_HEADER = "x-mti-replayed"
MAX_HELD = 1_000_000  # dead letters looked at in one go (about: a consumer may overshoot)
DELIVERY_PAUSE_SECONDS = 0.05  # no delivery for this long: the consumer has taken the bulk
# Which dead-letter queue: the scheduler's (trigger events) or the invoke queue's.
Kind = Literal["events", "invoke"]
# An event or a request wraps parameters of up to MAX_DEPTH levels in a few of its own.
MAX_BODY_DEPTH = 2 * MAX_DEPTH
MALFORMED_X_DEATH = "malformed x-death"
# A JSON string (to its closing quote, or to the end of a truncated text), and what is not a
# bracket: on RE2, like every pattern over untrusted text (a dead letter is one).
_JSON_STRING = linear(r'(?s)"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?$)')
_NOT_BRACKET = linear(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


@dataclass
class DeadLetter:
    message: AbstractIncomingMessage
    kind: Kind
    event: TriggerEvent | None  # None when the body is not a trigger event
    request: InvokeRequest | None  # an invoke request's dead letter, when it parses
    document: Any  # the body as JSON, when it is JSON; else its text
    reason: str
    queue: str
    exchange: str
    routing_key: str
    count: int
    died_at: datetime | None
    problems: list[str] = field(default_factory=list)  # what could not be read, and why

    @classmethod
    def of(cls, message: AbstractIncomingMessage, kind: Kind = "events") -> DeadLetter:
        """Whatever the body and headers hold. A dead letter is by definition a message that
        something could not handle, and headers can be forged by any publisher: what cannot be
        read is named in `problems` and left out, so one letter never stops a listing or a
        replay of the whole queue."""
        headers = message.headers if isinstance(message.headers, dict) else {}
        document, unreadable = _read_body(message.body)
        event: TriggerEvent | None = None
        request: InvokeRequest | None = None
        if unreadable is None:  # parsed only once known to be shallow: parsers recurse
            with contextlib.suppress(ValidationError, ValueError):
                if kind == "events":
                    event = TriggerEvent.parse(message.body)
                else:
                    request = InvokeRequest.parse(message.body)
        death, malformed = _death(headers, message.routing_key or "")
        problems = [unreadable] if unreadable else []
        if malformed:
            problems.append(MALFORMED_X_DEATH)
            death["reason"] = death["reason"] or MALFORMED_X_DEATH
        return cls(message, kind, event, request, document, **death, problems=problems)

    @property
    def parses(self) -> bool:
        return self.event is not None or self.request is not None

    @property
    def letter_id(self) -> str | None:
        """The event id of a trigger event, the invocation id of an invoke request."""
        if self.event is not None:
            return self.event.event_id
        return self.request.invocation_id if self.request is not None else None

    @property
    def workflow_id(self) -> str | None:
        subject = self.event or self.request
        return subject.workflow_id if subject else None

    @property
    def trigger_id(self) -> str | None:
        subject = self.event or self.request
        return subject.trigger_id if subject else None

    @property
    def trigger_type(self) -> str | None:
        return self.event.trigger_type.value if self.event else None  # requests name none

    def summary(self) -> dict[str, Any]:
        if self.kind == "invoke":
            request = self.request
            identity: dict[str, Any] = {
                "invocation_id": request.invocation_id if request else None,
                "user_id": request.user_id if request else None,
            }
        else:
            identity = {
                "event_id": self.event.event_id if self.event else None,
                "trigger_type": self.trigger_type,
            }
        return {
            **identity,
            "workflow_id": self.workflow_id,
            "trigger_id": self.trigger_id,
            "reason": self.reason,
            "queue": self.queue,
            "count": self.count,
            "died_at": self.died_at.isoformat() if self.died_at else None,
            "parses": self.parses,
            "problem": "; ".join(self.problems) or None,
        }


def _read_body(body: bytes) -> tuple[Any, str | None]:
    """The body as JSON, or its text and why it is not JSON. Depth is counted before parsing:
    `json.loads` recurses once per level, and a dead letter may nest 100,000 levels deep.
    NaN and Infinity are refused as not JSON, so a listing's `--json` stays valid JSON."""
    text = body.decode(errors="replace")
    if _depth(text) > MAX_BODY_DEPTH:
        return text, f"body nested deeper than {MAX_BODY_DEPTH} levels"
    try:
        return json.loads(text, parse_constant=not_a_json_number), None
    except ValueError:
        return text, "body is not JSON"


def _depth(text: str) -> int:
    """How deep JSON text nests, without parsing it: brackets counted outside strings."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)


def _death(headers: dict[str, Any], routing_key: str) -> tuple[dict[str, Any], bool]:
    """Why, where from and when the letter died, from the `x-first-death-*` headers and the
    oldest `x-death` table; and whether any of them had a shape RabbitMQ never writes (such
    a value is left out, never trusted)."""
    deaths, malformed = _deaths(headers.get("x-death"))
    first = deaths[-1] if deaths else {}  # RabbitMQ lists the most recent death first
    found: dict[str, Any] = {}
    for name in ("reason", "queue", "exchange"):
        header, recorded = headers.get(f"x-first-death-{name}"), first.get(name)
        malformed |= any(v is not None and _text(v) is None for v in (header, recorded))
        found[name] = _text(header) or _text(recorded) or ""
    keys = first.get("routing-keys", [routing_key])
    if isinstance(keys, list) and keys and _text(keys[0]) is not None:
        found["routing_key"] = _text(keys[0])
    else:
        found["routing_key"], malformed = routing_key, True
    counts = [death.get("count", 1) for death in deaths]
    found["count"] = sum(c if type(c) is int and c >= 0 else 1 for c in counts) or 1
    malformed |= any(type(c) is not int or c < 0 for c in counts)
    died_at = first.get("time")
    found["died_at"] = _utc(died_at)
    malformed |= died_at is not None and found["died_at"] is None
    return found, malformed


def _deaths(recorded: Any) -> tuple[list[dict[str, Any]], bool]:
    """RabbitMQ's `x-death` (a list of tables), and whether it had another shape: its tables
    are kept, anything else in it is dropped."""
    if recorded is None:
        return [], False
    if not isinstance(recorded, list):
        return [], True
    deaths = [death for death in recorded if isinstance(death, dict)]
    return deaths, len(deaths) != len(recorded)


def _text(value: Any) -> str | None:
    """A header's text: AMQP strings that are not UTF-8 arrive as bytes."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return value.decode(errors="replace")
    return None


def _utc(moment: Any) -> datetime | None:
    """A header's time in UTC (RabbitMQ's is); None for anything else, or one UTC cannot hold."""
    if not isinstance(moment, datetime):
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    with contextlib.suppress(OverflowError):
        return moment.astimezone(UTC)
    return None


@dataclass
class Filters:
    workflow: str | None = None
    trigger: str | None = None
    trigger_type: str | None = None
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    matches: list[tuple[list[str], Any]] = field(default_factory=list)
    # An invoke request names no type: the (workflow, trigger) pairs of `trigger_type`, from
    # the store, stand in for it.
    of_type: frozenset[tuple[str, str]] = frozenset()

    def accept(self, letter: DeadLetter) -> bool:
        wanted = (self.workflow, self.trigger, self.trigger_type)
        if any(wanted) and not letter.parses:
            return False
        if (
            (self.workflow and letter.workflow_id != self.workflow)
            or (self.trigger and letter.trigger_id != self.trigger)
            or (self.trigger_type and not self._of_type(letter))
        ):
            return False
        if self.reason and letter.reason != self.reason:
            return False
        if (self.since or self.until) and letter.died_at is None:
            return False
        if self.since and letter.died_at and letter.died_at < self.since:
            return False
        if self.until and letter.died_at and letter.died_at > self.until:
            return False
        return all(_matches(letter.document, path, value) for path, value in self.matches)

    def _of_type(self, letter: DeadLetter) -> bool:
        assert self.trigger_type is not None
        if letter.kind == "invoke":
            return (letter.workflow_id, letter.trigger_id) in self.of_type
        return letter.trigger_type == self.trigger_type.upper()


def _matches(document: Any, path: list[str], value: Any) -> bool:
    try:
        found = get_path(document, path)
    except KeyError:
        return False
    return bool(found == value or str(found) == str(value))


@contextlib.asynccontextmanager
async def dead_letters(
    connection: AbstractRobustConnection, queue: str, kind: Kind = "events"
) -> AsyncIterator[list[DeadLetter]]:
    """Every message in `queue` now, oldest first, held unacknowledged.

    The whole queue is taken before anything is looked at, and whatever is not acked is
    handed back in its original order: RabbitMQ 3.x puts returned messages at the back of a
    quorum queue, so returning only part of it would move that part behind the rest. (A crash
    returns everything held at once, which keeps the order too.)
    """
    channel = await connection.channel(publisher_confirms=False)
    held: list[DeadLetter] = []
    try:
        source = await channel.declare_queue(queue, passive=True)
        held = [DeadLetter.of(message, kind) for message in await _take_all(source)]
        yield held
        for letter in held:
            if not letter.message.processed:
                await letter.message.nack(requeue=True)
    finally:
        await channel.close()


async def _take_all(source: AbstractQueue) -> list[AbstractIncomingMessage]:
    """Every message of the queue, unacknowledged, in queue order.

    A consumer with no prefetch limit takes the bulk (the broker streams it, where a
    `basic.get` costs a round trip per message); once deliveries pause it is cancelled and
    `basic.get` takes the rest until the queue itself answers "empty". Only that answer
    ends the fetch: the count in queue.declare-ok can lag behind messages just returned.
    """
    taken: list[AbstractIncomingMessage] = []
    first = await source.get(no_ack=False, fail=False)
    if first is None:
        return taken  # empty: no consumer needed
    taken.append(first)
    arrived = asyncio.Event()

    async def hold(message: AbstractIncomingMessage) -> None:
        taken.append(message)
        arrived.set()

    tag = await source.consume(hold)
    try:
        while len(taken) < MAX_HELD:
            arrived.clear()
            try:
                await asyncio.wait_for(arrived.wait(), DELIVERY_PAUSE_SECONDS)
            except TimeoutError:
                break
    finally:
        await source.cancel(tag)
    # Deliveries sent before the cancel-ok are already handed to `hold`, which runs within
    # the next turns of the loop; each get below is a round trip, far longer than that.
    while len(taken) < MAX_HELD and (message := await source.get(no_ack=False, fail=False)):
        taken.append(message)
    await asyncio.sleep(0)
    # Delivery tags count up in the order the channel received the messages: queue order.
    taken.sort(key=lambda message: message.delivery_tag or 0)
    return taken


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
    window: int = 64  # replays in flight at once
    kind: Kind = "events"


@dataclass
class ReplaySummary:
    matched: int = 0
    replayed: int = 0
    skipped: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "replayed": self.replayed,
            "skipped": self.skipped,
            "failed": dict(self.failed),
            "interrupted": self.interrupted,
        }


class Unavailable(Exception):
    """No worker answered or the broker refused: stop, leaving the rest in the queue."""


async def plan(
    connection: AbstractRobustConnection,
    queue: str,
    filters: Filters,
    limit: int | None,
    sample: int = 5,
    kind: Kind = "events",
) -> tuple[int, list[dict[str, Any]]]:
    """How many dead letters a replay would take, and a few of them; nothing moves."""
    count, shown = 0, list[dict[str, Any]]()
    async with dead_letters(connection, queue, kind) as letters:
        for letter in letters:
            if filters.accept(letter):
                count += 1
                if len(shown) < sample:
                    shown.append(letter.summary())
                if limit is not None and count >= limit:
                    break
    return count, shown


async def replay(
    connection: AbstractRobustConnection,
    queue: str,
    client: InvokeClient,
    options: ReplayOptions,
    stop: asyncio.Event,
    on_progress: Callable[[ReplaySummary], None] = lambda _: None,
) -> ReplaySummary:
    """Replay the matching dead letters, up to `options.window` at a time (each acked only
    once its own replay is confirmed), starting them in queue order at the given rate."""
    summary = ReplaySummary()
    nonce = uuid.uuid4().hex if options.again else ""
    publisher = await amqp.confirmed_channel(connection)
    interval = 1.0 / options.rate if options.rate else 0.0
    next_at = time.monotonic()
    gate = asyncio.Semaphore(options.window)
    broken: list[Unavailable] = []

    async def one(letter: DeadLetter) -> None:
        try:
            if options.as_is:
                outcome = await _republish(
                    publisher, letter, options.user_id, amqp.broker_user(connection)
                )
            elif options.kind == "invoke":
                outcome = await _resend_request(client, letter, options, nonce, stop)
            else:
                outcome = await _through_worker(client, letter, options, nonce, stop)
            if outcome == "replayed":
                await letter.message.ack()  # only now that its replay is confirmed
                summary.replayed += 1
            else:
                summary.failed[outcome] += 1
            on_progress(summary)
        except Unavailable as exc:
            broken.append(exc)
        finally:
            gate.release()

    running: set[asyncio.Task[None]] = set()
    try:
        async with dead_letters(connection, queue, options.kind) as letters:
            for letter in letters:
                if not options.filters.accept(letter):
                    summary.skipped += 1
                    continue
                if options.limit is not None and summary.matched >= options.limit:
                    break
                if interval:
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                    next_at = max(next_at, time.monotonic()) + interval
                await gate.acquire()
                if stop.is_set() or broken:
                    gate.release()
                    summary.interrupted = True
                    break
                summary.matched += 1
                task = asyncio.create_task(one(letter))
                running.add(task)
                task.add_done_callback(running.discard)
            await asyncio.gather(*running)
    finally:
        await publisher.close()
    for exc in broken:
        summary.interrupted = True
        if str(exc) != "interrupted":
            summary.failed[str(exc)] += 1
    return summary


async def _republish(channel: Any, letter: DeadLetter, user_id: str, sender: str) -> str:
    """The original bytes to the exchange and routing key it died from, marked replayed.
    Refused when the death headers are malformed (where it died from is then unknown), or
    when its headers cannot be sent again as they came (a string that is not UTF-8 arrives as
    bytes, which the AMQP encoder refuses): failing in the publish would stop the replay.

    The replayer vouches for what it sends again: the message goes out as its broker user
    (`sender`, the validated `user_id` property; a delegate acts for the user the body names)
    and without the original's `authorization` header (a token that may have expired since)."""
    if MALFORMED_X_DEATH in letter.problems:
        return "malformed_x_death"
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
        return "unpublishable_headers"
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
        await exchange.publish(message, routing_key=letter.routing_key, mandatory=True)
    except Exception as exc:
        raise Unavailable(f"publish_failed: {type(exc).__name__}") from exc
    return "replayed"


async def _through_worker(
    client: InvokeClient,
    letter: DeadLetter,
    options: ReplayOptions,
    nonce: str,
    stop: asyncio.Event,
) -> str:
    event = letter.event
    if event is None:
        return "not_a_trigger_event"
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
        return "invalid_event"
    return await _answered(client, request, options, stop, event.event_id)


async def _resend_request(
    client: InvokeClient,
    letter: DeadLetter,
    options: ReplayOptions,
    nonce: str,
    stop: asyncio.Event,
) -> str:
    """The dead-lettered invoke request again, as it was: its invocation id (so one execution
    whatever it did before it died), its user (checked as then), its own timestamp (so it
    resolves to the same event). `again` makes it a new invocation, without the idempotency
    key that would answer it with the first one's result."""
    request = letter.request
    if request is None:
        return "not_an_invoke_request"
    if nonce:
        request = request.model_copy(
            update={
                "invocation_id": replay_invocation_id(request.invocation_id, nonce),
                "idempotency_key": None,
            }
        )
    return await _answered(client, request, options, stop, request.invocation_id)


async def _answered(
    client: InvokeClient,
    request: InvokeRequest,
    options: ReplayOptions,
    stop: asyncio.Event,
    letter_id: str,
) -> str:
    """Send until a worker answers: `replayed` when it succeeded, else the refusal's code.
    A rate limit is waited out rather than skipped, to keep the order."""
    while True:
        try:
            result = await client.call(request, options.timeout)
        except Exception as exc:
            raise Unavailable(f"broker_unavailable: {type(exc).__name__}") from exc
        if result is None:
            raise Unavailable("no_reply")
        if result.success:  # accepted, or a dry run's answer for a dead-lettered dry run
            return "replayed"
        if result.status is InvokeStatus.RATE_LIMITED and result.rate_limit and not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), result.rate_limit.retry_after_seconds)
            if stop.is_set():
                raise Unavailable("interrupted")
            continue
        log.warning(
            "replay refused",
            dead_letter=letter_id,
            status=result.status.value,
            errors=[e.path for e in result.errors],
        )
        return result.errors[0].code if result.errors else result.status.value
