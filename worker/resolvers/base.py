"""What every resolver shares: its result type, its protocol, and pure helpers.

Everything "random" in a simulated event (delivery ids, SHAs, message ids) is derived from
the invocation id, and every time from the request's own timestamp, so that a redelivered
request resolves to the very same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from contracts.models import FieldError, InvokeRequest
from contracts.specs import ManualInvocationSpec
from worker.redaction import Secrets, secrets_of
from worker.validation import validate

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
    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]: ...

    def parameter_schema(self, config: dict[str, Any]) -> dict[str, Any]: ...

    def config_errors(self, config: dict[str, Any]) -> list[FieldError]: ...

    def secrets(self, config: dict[str, Any]) -> Secrets: ...

    def resolve(
        self, config: dict[str, Any], parameters: dict[str, Any], request: InvokeRequest
    ) -> Resolution: ...


class SpecResolver:
    """The common case: parameters as the type's spec declares them, the trigger's config
    checked against `config_schema`. Resolvers override what their type does differently."""

    spec: ManualInvocationSpec
    config_schema: dict[str, Any] = {"type": "object"}  # noqa: RUF012 -- read-only

    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]:
        return dict(self.spec.default_parameters)

    def parameter_schema(self, config: dict[str, Any]) -> dict[str, Any]:
        return self.spec.parameter_schema

    def config_errors(self, config: dict[str, Any]) -> list[FieldError]:
        return validate(self.config_schema, config, "/trigger_config")

    def secrets(self, config: dict[str, Any]) -> Secrets:
        """What the config schema declares secret, and the signature headers this type sends."""
        return secrets_of(self.config_schema, config, self.signature_headers(config))

    def signature_headers(self, config: dict[str, Any]) -> list[str]:
        return []

    def shown_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """The config as events' metadata and answers may show it: secrets replaced."""
        shown: dict[str, Any] = self.secrets(config).hide(config)
        return shown


def derived_uuid(request: InvokeRequest, purpose: str) -> uuid.UUID:
    return uuid.uuid5(_DERIVED, f"{request.invocation_id}:{purpose}")


def derived_hex(seed: str, length: int = 40) -> str:
    """Hex digits that look random but always come out the same for the same seed."""
    digest = hashlib.sha256(seed.encode()).hexdigest()
    while len(digest) < length:
        digest += hashlib.sha256(digest.encode()).hexdigest()
    return digest[:length]


def derived_int(seed: str, low: int, high: int) -> int:
    return low + int(derived_hex(seed, 16), 16) % (high - low)


def compact_json(value: Any) -> str:
    """The body bytes a JSON-sending service emits: no spaces, UTF-8 kept as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def hmac_sha256_hex(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
