"""One dead letter, read as hostile input: whatever its body and headers hold, it is summarised,
and what cannot be read is named rather than trusted."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from itertools import accumulate
from typing import Any

from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError

from contracts.executions import ExecutionUpdate
from contracts.models import InvokeRequest, TriggerEvent
from contracts.regex import linear
from contracts.topology import Topology, dead_letter_queue
from worker.safety import MAX_DEPTH, not_a_json_number

# An event or a request wraps parameters of up to MAX_DEPTH levels in a few of its own.
MAX_BODY_DEPTH = 2 * MAX_DEPTH
MALFORMED_X_DEATH = "malformed x-death"
# A JSON string (to its closing quote, or to the end of a truncated text), and what is not a
# bracket: on RE2, like every pattern over untrusted text (a dead letter is one).
_JSON_STRING = linear(r'(?s)"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?$)')
_NOT_BRACKET = linear(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class DeadLetterQueue(StrEnum):
    """Which dead-letter queue: the scheduler's (trigger events), the invoke queue's, or the
    execution updates queue's."""

    events = "events"  # trigger events the scheduler gave up on
    invoke = "invoke"  # invoke requests the workers gave up on
    updates = "updates"  # execution updates the scheduler refused (unknown execution, malformed)

    def name_in(self, topology: Topology) -> str:
        """The queue's name in this namespace."""
        source = {
            DeadLetterQueue.events: topology.scheduler_queue,
            DeadLetterQueue.invoke: topology.invoke_queue,
            DeadLetterQueue.updates: topology.updates_queue,
        }[self]
        return dead_letter_queue(source)

    @property
    def noun(self) -> str:
        """What one of its letters is: `request`, `event` or `update`."""
        return {"invoke": "request", "updates": "update"}.get(self.value, "event")

    @property
    def identity(self) -> tuple[str, str]:
        """The summary fields that tell its letters apart: the id, then who sent a request,
        the type of an event or the status an update reports. Every listing leads with these."""
        if self is DeadLetterQueue.invoke:
            return "invocation_id", "user_id"
        if self is DeadLetterQueue.updates:
            return "execution_id", "status"
        return "event_id", "trigger_type"


@dataclass
class DeadLetter:
    message: AbstractIncomingMessage
    kind: DeadLetterQueue
    event: TriggerEvent | None  # None when the body is not a trigger event
    request: InvokeRequest | None  # an invoke request's dead letter, when it parses
    update: ExecutionUpdate | None  # an execution update's dead letter, when it parses
    document: Any  # the body as JSON, when it is JSON; else its text
    reason: str
    queue: str
    exchange: str
    routing_key: str
    count: int
    died_at: datetime | None
    problems: list[str] = field(default_factory=list)  # what could not be read, and why
    acked: bool = False  # by a replay, on its own or in a run (worker/replay/acks.py)

    @classmethod
    def of(
        cls, message: AbstractIncomingMessage, kind: DeadLetterQueue = DeadLetterQueue.events
    ) -> DeadLetter:
        """Whatever the body and headers hold. A dead letter is by definition a message that
        something could not handle, and headers can be forged by any publisher: what cannot be
        read is named in `problems` and left out, so one letter never stops a listing or a
        replay of the whole queue."""
        headers = message.headers if isinstance(message.headers, dict) else {}
        document, unreadable = _read_body(message.body)
        event: TriggerEvent | None = None
        request: InvokeRequest | None = None
        update: ExecutionUpdate | None = None
        if unreadable is None:  # parsed only once known to be shallow: parsers recurse
            with contextlib.suppress(ValidationError, ValueError):
                if kind is DeadLetterQueue.invoke:
                    request = InvokeRequest.parse(message.body)
                elif kind is DeadLetterQueue.updates:
                    update = ExecutionUpdate.parse(message.body)
                else:
                    event = TriggerEvent.parse(message.body)
        death, malformed = _death(headers, message.routing_key or "")
        problems = [unreadable] if unreadable else []
        if malformed:
            problems.append(MALFORMED_X_DEATH)
            death["reason"] = death["reason"] or MALFORMED_X_DEATH
        return cls(message, kind, event, request, update, document, **death, problems=problems)

    @property
    def parses(self) -> bool:
        return self.event is not None or self.request is not None or self.update is not None

    @property
    def letter_id(self) -> str | None:
        """The event id of a trigger event, the invocation id of an invoke request, the
        execution id of an execution update."""
        if self.event is not None:
            return self.event.event_id
        if self.update is not None:
            return self.update.execution_id
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
        """The letter as a listing shows it, led by its queue's `identity` fields."""
        if self.kind is DeadLetterQueue.invoke:
            second = self.request.user_id if self.request else None
        elif self.kind is DeadLetterQueue.updates:
            second = self.update.status.value if self.update else None
        else:
            second = self.trigger_type
        first_key, second_key = self.kind.identity
        return {
            first_key: self.letter_id,
            second_key: second,
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
    # No deeper than it has opening brackets: counting them settles most bodies, and only
    # the rest pay for the scan that skips strings.
    if not _opens_at_most(text, MAX_BODY_DEPTH) and _depth(text) > MAX_BODY_DEPTH:
        return text, f"body nested deeper than {MAX_BODY_DEPTH} levels"
    try:
        return json.loads(text, parse_constant=not_a_json_number), None
    except ValueError:
        return text, "body is not JSON"


def _opens_at_most(text: str, limit: int) -> bool:
    """Whether the text holds at most `limit` opening brackets (in strings or not): a bound
    on its depth that costs two C scans, where `_depth` costs two regex passes."""
    return text.count("[") + text.count("{") <= limit


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
