"""WEBHOOK: an HTTP request as the webhook ingress would have received it."""

from __future__ import annotations

from typing import Any

from contracts.models import FieldError, InvokeRequest
from contracts.specs import WEBHOOK_SPEC
from worker.redaction import redact
from worker.resolvers.base import Resolution
from worker.validation import validate

DEFAULT_HEADERS = {"Content-Type": "application/json", "User-Agent": "Manual-Trigger-System/1.0"}
# Always present, whatever the user sends: downstream code can tell a simulated request.
MARKER_HEADERS = {"X-Manual-Invocation": "true"}

_CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "webhook_url": {"type": "string"},
        "method": {"enum": WEBHOOK_SPEC.parameter_schema["properties"]["method"]["enum"]},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def merge_headers(*layers: dict[str, str]) -> dict[str, str]:
    """Later layers win; names compare case-insensitively and keep the winner's spelling."""
    merged: dict[str, tuple[str, str]] = {}
    for layer in layers:
        for name, value in layer.items():
            merged[name.lower()] = (name, value)
    return dict(merged.values())


class WebhookResolver:
    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]:
        method = config.get("method", WEBHOOK_SPEC.default_parameters["method"])
        return {**WEBHOOK_SPEC.default_parameters, "method": method}

    def parameter_schema(self, config: dict[str, Any]) -> dict[str, Any]:
        return WEBHOOK_SPEC.parameter_schema

    def config_errors(self, config: dict[str, Any]) -> list[FieldError]:
        return validate(_CONFIG_SCHEMA, config, "/trigger_config")

    def resolve(
        self, config: dict[str, Any], parameters: dict[str, Any], request: InvokeRequest
    ) -> Resolution:
        headers = merge_headers(
            DEFAULT_HEADERS, config.get("headers", {}), parameters["headers"], MARKER_HEADERS
        )
        return Resolution(
            trigger_data={
                "method": parameters["method"],
                "headers": headers,
                "body": parameters["body"],
                "query_params": parameters["query_params"],
                "source_ip": parameters["source_ip"],
                "webhook_url": config.get("webhook_url", ""),
                "trigger_time": request.requested_at.isoformat(),
            },
            input_data=parameters["body"],
            metadata={"simulated_request": True, "original_webhook_config": redact(config)},
        )


RESOLVER = WebhookResolver()
