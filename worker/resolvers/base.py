"""What every resolver shares: its result type, its protocol, and pure helpers.

Everything "random" in a simulated event (delivery ids, SHAs, message ids) is derived from
the invocation id, and every time from the request's own timestamp, so that a redelivered
request resolves to the very same bytes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from contracts.ids import derived_hex, uuid5_hex
from contracts.models import FieldError, InvokeRequest

_DERIVED = uuid.UUID("2b0c8f9e-5d7a-4f0e-9c41-7e1f3b6a2d55")


@dataclass(frozen=True)
class Resolution:
    trigger_data: dict[str, Any]  # the execution context, as the real ingress would build it
    input_data: Any
    metadata: dict[str, Any] = field(default_factory=dict)  # type-specific additions
    warnings: list[str] = field(default_factory=list)


class InvalidInvocation(Exception):
    """Parameters (or the trigger's config) that cannot make an event; each error has a path."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors))
        self.errors = errors


def unsubscribed(listened: list[str], event: str) -> list[FieldError]:
    """The error for an event type the trigger does not listen to (`*` listens to all)."""
    if event in listened or "*" in listened:
        return []
    return [
        FieldError(
            path="/parameters/event_type",
            code="event_not_subscribed",
            message=f"the trigger's event_types filter passes {listened}, not {event!r}",
        )
    ]


def invalid(path: str, message: str, code: str) -> InvalidInvocation:
    return InvalidInvocation([FieldError(path=path, message=message, code=code)])


class Resolver(Protocol):
    """A trigger kind (`contracts.kinds`) that also turns parameters into the event, and a
    recorded event's trigger data back into parameters (`params_from`, the inverse: a
    resolved event's meaningful content resolves again from them; see
    `worker.resolvers.reproducing`)."""

    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]: ...

    def parameter_schema(self, config: dict[str, Any]) -> dict[str, Any]: ...

    def resolve(
        self, config: dict[str, Any], parameters: dict[str, Any], request: InvokeRequest
    ) -> Resolution: ...

    def params_from(
        self, trigger_data: dict[str, Any], config: dict[str, Any]
    ) -> dict[str, Any]: ...


def derived_uuid_hex(request: InvokeRequest, purpose: str) -> str:
    """A UUID's hex digits, the same for the same request and purpose."""
    return uuid5_hex(_DERIVED, f"{request.invocation_id}:{purpose}")


def derived_int(seed: str, low: int, high: int) -> int:
    return low + int(derived_hex(seed, 16), 16) % (high - low)


def compact_json(value: Any) -> str:
    """The body bytes a JSON-sending service emits: no spaces, UTF-8 kept as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


MISSING: Any = object()  # where a document has no value (a key absent, or its parent no object)


def value_at(document: Any, path: tuple[str, ...]) -> Any:
    """The value at `path`, or MISSING."""
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return MISSING
        document = document[key]
    return document


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON: `1`, `1.0` and `true` are three different values; MISSING equals only
    itself."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same_json, a, b))
    return bool(a == b)
