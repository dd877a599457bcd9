"""The messages that cross process boundaries: invoke requests, their results, trigger events.

Each message serialises itself (`body()`) and parses itself (`parse()`), so no publisher
builds a dict by hand and every consumer rejects the same malformed input the same way.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
)

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(text: str) -> str:
    """PostgreSQL text and UTF-8 hold neither NUL nor half a UTF-16 surrogate pair."""
    if _UNSTORABLE.search(text):
        raise ValueError("must not contain NUL (\\u0000) or unpaired surrogates (\\ud800-\\udfff)")
    return text


# Text that is stored (user ids, descriptions, keys): refused at the door if it cannot be.
StorableText = Annotated[str, AfterValidator(_storable)]

# Ids go into routing keys (`type.workflow.trigger`), so they may not hold dots or wildcards.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
UserId = Annotated[StorableText, StringConstraints(min_length=1, max_length=256)]

MANUAL_INVOCATION: Literal["MANUAL_INVOCATION"] = "MANUAL_INVOCATION"


class TriggerType(StrEnum):
    CRON = "CRON"
    WEBHOOK = "WEBHOOK"
    EMAIL = "EMAIL"
    GITHUB = "GITHUB"
    SLACK = "SLACK"
    MANUAL = "MANUAL"


class InvocationSource(StrEnum):
    HTTP = "http"
    CLI = "cli"
    REPLAY = "replay"


class _Message(BaseModel):
    def body(self) -> bytes:
        return self.model_dump_json().encode()

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
        # Local import: topology imports TriggerType from this module.
        from contracts.topology import trigger_event_routing_key

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


class InvokeStatus(StrEnum):
    QUEUED = "queued"  # published, no worker has answered yet
    ACCEPTED = "accepted"  # event published; the scheduler records the execution
    DRY_RUN = "dry_run"  # resolved and validated, nothing published
    INVALID = "invalid"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    CONFLICT = "conflict"

    @property
    def final(self) -> bool:
        """An answer no retry of the same request can change (as Stripe keeps them): kept for
        a day and replayed to an Idempotency-Key. A refusal, a rate limit or a conflict may
        change on the next try: kept briefly, never replayed."""
        return self in (InvokeStatus.ACCEPTED, InvokeStatus.DRY_RUN, InvokeStatus.INVALID)


class FieldError(BaseModel):
    path: str = Field(description="JSON pointer into the request body, e.g. /parameters/method.")
    message: str
    code: str


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
    errors: list[FieldError] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    rate_limit: RateLimitInfo | None = None
    requested_by: str | None = None
    completed_at: datetime | None = None


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
