"""Secrets hidden by location, not by value: what is secret is declared, and a record is
redacted at those locations when it is made.

A trigger's config schema marks its secret fields with JSON Schema's own `writeOnly`
annotation; a configured header's value is secret unless its name is declared public
(`PUBLIC_HEADERS`, or the trigger's own `public_headers`); a URL's userinfo and query values
are secret. In an event, a `Redaction` names where credentials sit: the values of the headers
that carry one (signatures and credentials, `HIDDEN`), members of the delivery's body (Slack's
`token`, `REDACTED`), and URLs built from the config.

Each answer, stored status and execution record is redacted at those locations as it is made,
from the record alone: a secret that was rotated since stays hidden in old records, and since
no value is searched for, no answer tells a caller whether a string it chose equals a secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

from contracts.regex import search

REDACTED = "***REDACTED***"
HIDDEN = "***COMPUTED-HIDDEN***"

# Headers that carry a credential or a signature, whatever the trigger type: always hidden.
ALWAYS_HIDDEN_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-hub-signature",
        "x-hub-signature-256",
        "x-slack-signature",
        "x-signature-256",
    }
)
# Configured headers whose values are shown: standard headers that never carry a credential.
# Any other configured header's value is secret unless the trigger lists it in `public_headers`.
PUBLIC_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "cache-control",
        "content-encoding",
        "content-language",
        "content-type",
        "user-agent",
        "x-request-id",
        "x-correlation-id",
    }
)


def redact_url(url: str) -> str:
    """The URL with its userinfo and every query value replaced (a token in `?token=` or in
    `https://user:pass@host` is as good as a password); text that is no URL is unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        query = urlencode([(name, REDACTED) for name, _ in parse_qsl(query, True)], safe="*")
    return SplitResult(parts.scheme, netloc, parts.path, query, parts.fragment).geturl()


def redact_config(schema: Any, config: Any, public_headers: frozenset[str] = frozenset()) -> Any:
    """A copy of a trigger's config with every value its schema declares `writeOnly`, every
    configured header not declared public, and the credentials of a `webhook_url` replaced."""
    shown = _redact_declared(schema, config)
    if isinstance(shown, dict):
        if isinstance(shown.get("headers"), dict):
            shown["headers"] = {
                name: value if name.lower() in public_headers else REDACTED
                for name, value in shown["headers"].items()
            }
        if isinstance(shown.get("webhook_url"), str):
            shown["webhook_url"] = redact_url(shown["webhook_url"])
    return shown


def _redact_declared(schema: Any, value: Any) -> Any:
    if not isinstance(schema, dict):
        return value
    if schema.get("writeOnly"):
        return REDACTED if value is not None else None
    for keyword in ("anyOf", "oneOf", "allOf"):
        for subschema in schema.get(keyword, []):
            value = _redact_declared(subschema, value)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})

        def subschemas(key: str) -> list[Any]:
            if key in properties:
                return [properties[key]]
            matched = [s for p, s in patterns.items() if search(p, key)]
            return matched or [schema.get("additionalProperties")]

        shown = {}
        for key, item in value.items():
            for subschema in subschemas(key):
                item = _redact_declared(subschema, item)
            shown[key] = item
        return shown
    if isinstance(value, list):
        return [_redact_declared(schema.get("items"), item) for item in value]
    return value


@dataclass(frozen=True)
class Redaction:
    """Where a trigger's events carry credentials, as locations in an event-shaped record
    (`trigger_data`, `input_data`, `metadata`; any of them may be absent)."""

    # Lower-case header names whose values are hidden in `trigger_data.headers`.
    headers: frozenset[str] = ALWAYS_HIDDEN_HEADERS
    # Members of the delivery's body that are credentials: hidden where the body is
    # (`trigger_data`, `trigger_data.payload`, `input_data`).
    members: frozenset[str] = frozenset()
    # Paths of URLs built from the config (their userinfo and query values are hidden).
    urls: tuple[tuple[str, ...], ...] = ()

    def record(self, document: dict[str, Any], *, computed: bool = True) -> dict[str, Any]:
        """A copy of the record with the value at each declared location replaced. A raw body
        that is the JSON of a redacted `payload` is written again from the redacted payload.
        Header values are shown as computed-but-hidden, or (`computed=False`: a replay carries
        what it was given, which nobody here computed) as redacted."""
        shown = dict(document)
        marker = HIDDEN if computed else REDACTED
        data = shown.get("trigger_data")
        if isinstance(data, dict):
            data = shown["trigger_data"] = self._members(dict(data))
            headers = data.get("headers")
            if isinstance(headers, dict):
                data["headers"] = {
                    name: marker if name.lower() in self.headers and value is not None else value
                    for name, value in headers.items()
                }
        if isinstance(shown.get("input_data"), dict):
            shown["input_data"] = self._members(dict(shown["input_data"]))
        # A manual run's parameters, as its invoker typed them, may hold the same credentials
        # its event carries (a secret header): hidden the same way, as given, not computed.
        metadata = shown.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("simulated_parameters"), dict):
            typed = {"trigger_data": metadata["simulated_parameters"]}
            hidden = self.record(typed, computed=False)["trigger_data"]
            shown["metadata"] = {**metadata, "simulated_parameters": hidden}
        for path in self.urls:
            shown = _replace_at(shown, path, redact_url)
        if isinstance(data, dict) and isinstance(document.get("trigger_data"), dict):
            before = document["trigger_data"].get("payload")
            after = shown["trigger_data"].get("payload")
            raw = data.get("raw_body")
            if after != before and isinstance(raw, str):
                shown["trigger_data"]["raw_body"] = _same_json_as(raw, before, after)
        return shown

    def _members(self, body: dict[str, Any]) -> dict[str, Any]:
        for member in self.members & body.keys():
            if body[member] is not None:
                body[member] = REDACTED
        payload = body.get("payload")
        if isinstance(payload, dict) and self.members & payload.keys():
            body["payload"] = self._members(dict(payload))
        return body


def _replace_at(document: Any, path: tuple[str, ...], change: Any) -> Any:
    """A copy of `document` with the string at `path` passed through `change` (if there)."""
    if not path:
        return change(document) if isinstance(document, str) else document
    if not isinstance(document, dict) or path[0] not in document:
        return document
    return {**document, path[0]: _replace_at(document[path[0]], path[1:], change)}


def _same_json_as(raw: str, before: Any, after: Any) -> str:
    """The raw body written from the redacted payload when it was that payload's JSON; else
    hidden whole (a body that says something else cannot be redacted by location)."""
    try:
        if json.loads(raw) == before:
            return json.dumps(after, separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        pass
    return REDACTED
