"""WEBHOOK: an HTTP request as the webhook ingress would have received it.

The body is encoded as its Content-Type says (JSON, form-encoded, or text sent verbatim);
`raw_body` holds the exact string, `body` what the ingress parsed from it. When the trigger
has a `secret`, the request carries `<signature_header>: sha256=<hex HMAC-SHA256 of the raw
body bytes>` (default header `X-Signature-256`), the scheme GitHub uses.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode

from contracts.kinds.webhook import WebhookKind
from contracts.models import InvokeRequest
from worker.resolvers.base import InvalidInvocation, Resolution, compact_json, invalid
from worker.resolvers.reproducing import dict_of, expressible, hidden, present
from worker.resolvers.signing import hmac_hex, merge_headers, signed_headers
from worker.safety import TooLarge, parse_json, shape_errors

DEFAULT_HEADERS = {"Content-Type": "application/json", "User-Agent": "Manual-Trigger-System/1.0"}
# Always present, whatever the user sends: downstream code can tell a simulated request.
MARKER_HEADERS = {"X-Manual-Invocation": "true"}
FORM = "application/x-www-form-urlencoded"
# Headers of a recorded request that say how it travelled, not what it said: written by the
# HTTP client, the ingress or this resolver, whatever the request's parameters are.
TRANSPORT_HEADERS = frozenset(
    {
        "content-length",
        "transfer-encoding",
        "host",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
        *(name.lower() for name in MARKER_HEADERS),
    }
)


def header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def _decoded_json(raw: str) -> Any:
    """The JSON an ingress decodes from a raw body, held to the request's own budgets (depth,
    values, lengths): JSON only (no NaN or Infinity, which Python's parser would take)."""
    try:
        decoded = parse_json(raw.encode())
    except (ValueError, TooLarge) as exc:
        raise invalid(
            "/parameters/body", f"not valid JSON for a JSON Content-Type: {exc}", "invalid_body"
        ) from None
    if errors := shape_errors(decoded, "/parameters/body"):
        raise InvalidInvocation(errors)
    return decoded


def encode_body(body: Any, content_type: str) -> tuple[str, Any]:
    """(the raw body string, the body as the ingress parses it) for this Content-Type."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        if isinstance(body, str):
            return body, _decoded_json(body)
        return compact_json(body), body
    if media_type == FORM:
        if isinstance(body, str):
            raw = body
        elif isinstance(body, dict) and all(
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(i, str) for i in v))
            for v in body.values()
        ):
            raw = urlencode(body, doseq=True)
        else:
            raise invalid(
                "/parameters/body",
                "a form body is a string or an object of strings (or lists of strings)",
                "invalid_body",
            )
        fields = parse_qs(raw, keep_blank_values=True)
        return raw, {k: v[0] if len(v) == 1 else v for k, v in fields.items()}
    if isinstance(body, str):
        return body, body
    if body in ({}, None):
        return "", ""
    raise invalid("/parameters/body", f"a {media_type} body must be a string", "invalid_body")


class WebhookResolver(WebhookKind):
    def resolve(
        self, config: dict[str, Any], parameters: dict[str, Any], request: InvokeRequest
    ) -> Resolution:
        headers = merge_headers(
            DEFAULT_HEADERS, config.get("headers", {}), parameters["headers"], MARKER_HEADERS
        )
        raw_body, body = encode_body(parameters["body"], header(headers, "Content-Type") or "")
        signatures = {}
        if secret := config.get("secret"):
            signatures[self.signature_header(config)] = "sha256=" + hmac_hex(secret, raw_body)
        headers = signed_headers(headers, raw_body, signatures)
        return Resolution(
            trigger_data={
                "method": parameters["method"],
                "headers": headers,
                "body": body,
                "raw_body": raw_body,
                "query_params": parameters["query_params"],
                "source_ip": parameters["source_ip"],
                "webhook_url": config.get("webhook_url", ""),
                "trigger_time": request.requested_at.isoformat(),
            },
            input_data=body,
            metadata={
                "simulated_request": True,
                "original_webhook_config": self.shown_config(config),
            },
        )

    def params_from(self, trigger_data: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        """The request's method, query, client address, its headers but those the resolver
        writes (transport, signature, the trigger's configured ones) and its body as sent."""
        written = {
            n.lower() for n in [*self.signature_headers(config), *dict_of(config.get("headers"))]
        }
        headers = {
            name: value
            for name, value in dict_of(trigger_data.get("headers")).items()
            if name.lower() not in TRANSPORT_HEADERS | written
        }
        parameters = {
            "method": trigger_data.get("method"),
            "headers": headers,
            "query_params": trigger_data.get("query_params"),
            "source_ip": trigger_data.get("source_ip"),
            "body": sent_body(trigger_data, header(headers, "Content-Type")),
        }
        return expressible(self, config, present(parameters))


def sent_body(trigger_data: dict[str, Any], content_type: Any) -> Any:
    """The `body` parameter that sends the recorded raw body again: the parsed body when it
    encodes to those very bytes (easier to edit), else the raw text; a body that cannot be
    sent with this Content-Type is None."""
    raw = trigger_data.get("raw_body")
    candidates = [v for v in (trigger_data.get("body"), raw) if v is not None and not hidden(v)]
    media_type = content_type if isinstance(content_type, str) else DEFAULT_HEADERS["Content-Type"]
    encodable = []
    for candidate in candidates:
        try:
            sent, _ = encode_body(candidate, media_type)
        except (InvalidInvocation, ValueError):  # (text no UTF-8 encoder takes: unstorable too)
            continue
        if sent == raw:
            return candidate
        encodable.append(candidate)
    return encodable[0] if encodable else None


RESOLVER = WebhookResolver()
