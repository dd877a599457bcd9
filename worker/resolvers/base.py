"""What every resolver returns: the pieces of a trigger event specific to its trigger type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from contracts.models import FieldError, InvokeRequest


@dataclass(frozen=True)
class Resolution:
    trigger_data: dict[str, Any]  # the execution context, as the real ingress would build it
    input_data: Any
    metadata: dict[str, Any] = field(default_factory=dict)  # type-specific additions


class Resolver(Protocol):
    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]: ...

    def parameter_schema(self, config: dict[str, Any]) -> dict[str, Any]: ...

    def config_errors(self, config: dict[str, Any]) -> list[FieldError]: ...

    def resolve(
        self, config: dict[str, Any], parameters: dict[str, Any], request: InvokeRequest
    ) -> Resolution: ...
