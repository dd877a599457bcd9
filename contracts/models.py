"""The messages that cross process boundaries: invoke requests, their results, trigger events.

Each message serialises itself (`body()`) and parses itself (`parse()`), so no publisher
builds a dict by hand and every consumer rejects the same malformed input the same way.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

import pydantic_core
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)

from contracts.ids import idempotent_invocation_id
from contracts.registry import TriggerType as TriggerType  # re-exported: the list of types
from contracts.topology import trigger_event_routing_key


def unstorable(text: str) -> str | None:
    """Why PostgreSQL (and UTF-8) cannot hold this text, or None: a NUL character, or half of a
    UTF-16 surrogate pair (JSON's `\\ud800` escapes decode to such lone halves). This is the
    scheduler's rule for what it can record, checked wherever text is made or let in."""
    if "\x00" in text:
        return "must not contain the NUL character (\\u0000)"
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            return "must not contain an unpaired UTF-16 surrogate (\\ud800-\\udfff)"
    return None


def _storable(text: str) -> str:
    if problem := unstorable(text):
        raise ValueError(problem)
    return text


# Text that is stored (user ids, descriptions, keys): refused at the door if it cannot be.
StorableText = Annotated[str, AfterValidator(_storable)]

# Ids go into routing keys (`type.workflow.trigger`), so they may not hold dots or wildcards.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
UserId = Annotated[StorableText, StringConstraints(min_length=1, max_length=256)]

MANUAL_INVOCATION: Literal["MANUAL_INVOCATION"] = "MANUAL_INVOCATION"


class InvocationSource(StrEnum):
    HTTP = "http"
    CLI = "cli"
    REPLAY = "replay"
    AMQP = "amqp"  # another system publishing invoke messages itself


class _Message(BaseModel):
    def body(self) -> bytes:
        return self.__pydantic_serializer__.to_json(self)  # model_dump_json's bytes, uncopied

    @classmethod
    def parse(cls, body: bytes | str) -> Self:
        return cls.model_validate_json(body)


class TriggerEvent(_Message):
    """The envelope every trigger ingress publishes onto the trigger events exchange."""

    # A tolerant reader: fields added by a newer ingress do not dead-letter its events.
    model_config = ConfigDict(extra="ignore")

    event_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    workflow_id: Identifier
    trigger_id: Identifier
    trigger_type: TriggerType
    occurred_at: AwareDatetime
    trigger_data: dict[str, Any] = Field(description="The execution context the trigger saw.")
    input_data: Any = Field(default=None, description="What the workflow receives as input.")
    metadata: dict[str, Any] = Field(default_factory=dict)

    def routing_key(self) -> str:
        return trigger_event_routing_key(self.trigger_type, self.workflow_id, self.trigger_id)


class InvokeRequest(_Message):
    """Ask the invoke worker to fire one trigger by hand (from the shim, the CLI or a replay)."""

    model_config = ConfigDict(extra="forbid")

    invocation_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    workflow_id: Identifier
    trigger_id: Identifier
    user_id: UserId
    parameters: dict[str, Any] = Field(default_factory=dict)
    description: Annotated[StorableText, StringConstraints(max_length=2000)] | None = None
    dry_run: StrictBool = False
    requested_at: AwareDatetime
    source: InvocationSource = InvocationSource.HTTP
    idempotency_key: (
        Annotated[StorableText, StringConstraints(min_length=1, max_length=255)] | None
    ) = None
    replay_of: TriggerEvent | None = Field(
        default=None, description="The dead-lettered event this request replays."
    )

    @classmethod
    def identified(cls, **fields: Any) -> InvokeRequest:
        """A new request with its invocation id: fresh, or for a keyed request the one its
        user, key and fingerprint always get (contracts/ids.py)."""
        request = cls(invocation_id=str(uuid.uuid4()), **fields)
        if request.idempotency_key is None:
            return request
        invocation_id = idempotent_invocation_id(
            request.user_id, request.idempotency_key, request.fingerprint()
        )
        return request.model_copy(update={"invocation_id": invocation_id})

    def fingerprint(self) -> str:
        """What makes two keyed requests "the same request": where, what and whether dry."""
        essence = self.model_dump(
            mode="json",
            include={"workflow_id", "trigger_id", "parameters", "description", "dry_run"},
        )
        return hashlib.sha256(json.dumps(essence, sort_keys=True).encode()).hexdigest()


class InvokeStatus(StrEnum):
    QUEUED = "queued"  # published, no worker has answered yet
    ACCEPTED = "accepted"  # event published; the scheduler records the execution
    DRY_RUN = "dry_run"  # resolved and validated, nothing published
    INVALID = "invalid"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    CONFLICT = "conflict"
    UNAUTHENTICATED = "unauthenticated"  # no identity the worker could verify; nothing ran

    @property
    def final(self) -> bool:
        """An answer no retry of the same request can change (as Stripe keeps them): kept for
        a day and replayed to an Idempotency-Key. A refusal, a rate limit or a conflict may
        change on the next try: kept briefly, never replayed."""
        return self in (InvokeStatus.ACCEPTED, InvokeStatus.DRY_RUN, InvokeStatus.INVALID)


# Input limits (docs/security.md, "Limits on input"): a request body or an invoke message's
# parameters, the whole invoke message (the body plus an envelope of ids and times), and any
# one string the schema does not bound tighter (characters).
MAX_BODY_BYTES = 1024 * 1024
MAX_MESSAGE_BYTES = MAX_BODY_BYTES + 64 * 1024
MAX_STRING = 256 * 1024

# Output contracts (docs/security.md): no answer or stored status grows with what a request
# repeats. An error's path and message are cut to a bound, a list of errors to MAX_ERRORS and a
# marker, and an answer's preview of the event to what keeps the whole under MAX_ANSWER_BYTES.
MAX_ERRORS = 100
MAX_ERROR_PATH = 1024  # characters; a longer JSON pointer is cut and ends in TRUNCATED
MAX_ERROR_MESSAGE = 1024  # characters
MAX_ANSWER_BYTES = 512 * 1024
TRUNCATED = "\u2026"  # …


def _cut(limit: int) -> AfterValidator:
    def cut(text: str) -> str:
        return text if len(text) <= limit else text[: limit - 1] + TRUNCATED

    return AfterValidator(cut)


class FieldError(BaseModel):
    path: Annotated[str, _cut(MAX_ERROR_PATH)] = Field(
        description="JSON pointer into the request body, e.g. /parameters/method. One longer "
        f"than {MAX_ERROR_PATH} characters is cut and ends in {TRUNCATED}."
    )
    message: Annotated[str, _cut(MAX_ERROR_MESSAGE)]
    code: str


MORE_ERRORS = "more_errors"


def more_errors(count: int) -> FieldError:
    """The marker that stands for `count` errors left out of a list."""
    return FieldError(path="", code=MORE_ERRORS, message=f"and {count} more errors")


def _at_most_max_errors(errors: list[FieldError]) -> list[FieldError]:
    """The first MAX_ERRORS errors and one marker counting the rest (markers already in the
    list, from a producer that stopped early, are added up)."""
    real = [e for e in errors if e.code != MORE_ERRORS]
    left_out = sum(int(e.message.split()[1]) for e in errors if e.code == MORE_ERRORS)
    left_out += max(0, len(real) - MAX_ERRORS)
    if not left_out and len(real) == len(errors):
        return errors
    return [*real[:MAX_ERRORS], *([more_errors(left_out)] if left_out else [])]


FieldErrors = Annotated[
    list[FieldError],
    AfterValidator(_at_most_max_errors),
    Field(
        description=f"At most {MAX_ERRORS} errors, ordered by path; past that, one more entry "
        f"with code `{MORE_ERRORS}` says how many were left out."
    ),
]


class TriggerData(BaseModel):
    trigger_type: TriggerType
    resolved_parameters: dict[str, Any]


class RateLimitInfo(BaseModel):
    scope: Literal["user", "workflow"]
    limit: int = Field(description="Invocations allowed per period.")
    period_seconds: int = 60
    retry_after_seconds: int


class InvokeResult(_Message):
    """The worker's answer to an `InvokeRequest`; the body of the HTTP response."""

    invocation_id: str
    status: InvokeStatus
    success: bool
    message: str
    workflow_id: str
    trigger_id: str
    execution_id: str | None = None
    execution_url: str | None = None
    event_id: str | None = None
    trigger_data: TriggerData | None = None
    errors: FieldErrors = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    rate_limit: RateLimitInfo | None = None
    requested_by: str | None = None
    completed_at: datetime | None = None

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        """The answer (and the status stored from it) stays under MAX_ANSWER_BYTES: the
        preview of the event is cut, never the event itself (that is bounded on its own)."""
        if self.trigger_data is not None:
            room = MAX_ANSWER_BYTES - len(self.model_dump_json(exclude={"trigger_data"})) - 256
            preview = bounded_preview(self.trigger_data.resolved_parameters, room)
            if preview is not self.trigger_data.resolved_parameters:
                self.trigger_data = TriggerData(
                    trigger_type=self.trigger_data.trigger_type, resolved_parameters=preview
                )
        return self


def _json_size(value: Any) -> int:
    """The size of the value as an answer carries it: pydantic's serializer (the one that
    writes the answer) measures it; text it cannot encode (a lone surrogate) is measured
    escaped, an upper bound."""
    try:
        return len(pydantic_core.to_json(value, fallback=str))
    except pydantic_core.PydanticSerializationError:
        return len(json.dumps(value, separators=(",", ":"), default=str))


def _cut_strings(value: Any, limit: int) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]}{TRUNCATED}[{len(value) - limit} more characters]"
    if isinstance(value, dict):
        return {key: _cut_strings(item, limit) for key, item in value.items()}
    if isinstance(value, list):
        return [_cut_strings(item, limit) for item in value]
    return value


def bounded_preview(value: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """`value` itself when its JSON fits in `max_bytes`; else a copy whose long strings are cut
    (shorter and shorter) until it fits; else a note of its size."""
    size = _json_size(value)
    if size <= max_bytes:
        return value
    limit = 64 * 1024
    while limit >= 64:
        cut: dict[str, Any] = _cut_strings(value, limit)
        if _json_size(cut) <= max_bytes:
            return cut
        limit //= 4
    return {"truncated": f"the preview of this event ({size} bytes) is too large to show"}


class ManualInvocationMetadata(BaseModel):
    """What a manual invocation adds to its event's metadata; the scheduler stores it as is."""

    manual_invocation: Literal[True] = True
    trigger_type: Literal["MANUAL_INVOCATION"] = MANUAL_INVOCATION
    original_trigger_type: TriggerType
    initiated_by: str
    invoked_by: str = Field(description="The same as initiated_by, as the design's §5.2 names it.")
    invocation_id: str
    invocation_description: str | None
    simulated_parameters: dict[str, Any]
    manual_invocation_timestamp: AwareDatetime
    source: InvocationSource
    replay_of: str | None = Field(default=None, description="Event id of the replayed event.")
