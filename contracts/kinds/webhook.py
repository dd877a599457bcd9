"""WEBHOOK: an HTTP request arriving at a webhook. Its spec and its kind."""

from __future__ import annotations

from typing import Any

from contracts.kinds.base import (
    TriggerKind,
    WirePreview,
    header_lines,
    pretty,
    query_string,
    text_of,
)
from contracts.models import TriggerType
from contracts.specs import (
    HTTP_METHODS,
    JSON_SCHEMA_DIALECT,
    ManualInvocationSpec,
    ParameterExample,
    field,
    header_map,
)

WEBHOOK_SPEC = ManualInvocationSpec(
    trigger_type=TriggerType.WEBHOOK,
    supported=True,
    description=(
        "Simulate an HTTP request arriving at the webhook: method, headers, query string, "
        "body and client address, as the webhook ingress would have seen them."
    ),
    parameter_schema={
        "$schema": JSON_SCHEMA_DIALECT,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "method": field(
                "Method", "HTTP method of the simulated request.", type="string", enum=HTTP_METHODS
            ),
            "headers": header_map(
                "Headers", "HTTP headers; merged case-insensitively over the defaults."
            ),
            "body": field(
                "Body",
                "Request body, encoded as the Content-Type header says: any JSON value for "
                "JSON; an object of strings (or a string) for "
                "application/x-www-form-urlencoded; a string, sent verbatim, otherwise.",
            ),
            "query_params": field(
                "Query parameters",
                "URL query parameters; a list repeats the parameter.",
                type="object",
                additionalProperties=field(
                    "Value",
                    "The parameter's value, or its values in order.",
                    anyOf=[
                        {"type": "string"},
                        {"type": "array", "items": field("Value", "One value.", type="string")},
                    ],
                ),
            ),
            "source_ip": field(
                "Source IP",
                "Client address the request appears to come from: IPv4 or IPv6.",
                type="string",
                anyOf=[{"format": "ipv4"}, {"format": "ipv6"}],
            ),
        },
    },
    default_parameters={
        "method": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": {},
        "query_params": {},
        "source_ip": "127.0.0.1",
    },
    parameter_examples=[
        ParameterExample(
            name="Simple JSON webhook",
            description="A POST with a small JSON payload.",
            parameters={
                "method": "POST",
                "headers": {"Content-Type": "application/json"},
                "body": {"event": "user.created", "user_id": 123},
            },
        ),
        ParameterExample(
            name="Deployment notification",
            description="A deploy hook with a custom header and a query parameter.",
            parameters={
                "headers": {"X-Source": "manual-test"},
                "query_params": {"env": "staging"},
                "body": {
                    "event_type": "deployment",
                    "repository": "user/repo",
                    "status": "success",
                },
            },
        ),
    ],
)


DEFAULT_SIGNATURE_HEADER = "X-Signature-256"


class WebhookKind(TriggerKind):
    spec = WEBHOOK_SPEC
    config_schema = {  # noqa: RUF012 -- read-only
        "type": "object",
        "properties": {
            "webhook_url": {"type": "string"},
            "method": {"enum": HTTP_METHODS},
            "headers": {
                "type": "object",
                "description": "Headers the ingress adds. Their values are secret unless the "
                "name is a standard public header or listed in public_headers.",
                "additionalProperties": {"type": "string"},
            },
            "public_headers": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Configured headers whose values may be shown.",
            },
            "secret": {"type": "string", "minLength": 1, "writeOnly": True},
            "signature_header": {"type": "string", "pattern": r"^[A-Za-z0-9-]+$"},
        },
    }

    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]:
        method = config.get("method", WEBHOOK_SPEC.default_parameters["method"])
        return {**WEBHOOK_SPEC.default_parameters, "method": method}

    http_delivery = True
    config_urls = (("trigger_data", "webhook_url"),)

    def signature_header(self, config: dict[str, Any]) -> str:
        """The header that carries the signature: the config's `signature_header`."""
        return str(config.get("signature_header", DEFAULT_SIGNATURE_HEADER))

    def signature_headers(self, config: dict[str, Any]) -> list[str]:
        return [self.signature_header(config)]

    def display_name(self, config: dict[str, Any]) -> str:
        method = text_of(config.get("method")) or "POST"
        return f"Webhook {method} {text_of(config.get('webhook_url'))}".strip()

    def wire_preview(self, resolved: dict[str, Any]) -> WirePreview:
        line = (
            f"{text_of(resolved.get('method')) or 'POST'} {text_of(resolved.get('webhook_url'))}"
            f"{query_string(resolved.get('query_params'))} HTTP/1.1"
        )
        body = (
            text_of(resolved["raw_body"])
            if "raw_body" in resolved
            else pretty(resolved.get("body", ""))
        )
        return WirePreview(
            title=f"HTTP request from {text_of(resolved.get('source_ip')) or '?'}",
            text=f"{line}\n{header_lines(resolved.get('headers'))}\n\n{body}",
        )


KIND = WebhookKind()
