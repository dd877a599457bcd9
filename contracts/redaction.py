"""Secrets never leave: what a trigger's config declares secret is hidden wherever it went.

Each trigger type's config schema marks its secret fields with JSON Schema's own `writeOnly`
annotation (a value that is written, never read back). Those values are used to sign
simulated deliveries and travel on the trigger events exchange, but every answer a person or
script gets is passed through `Secrets.hide`, which replaces each secret wherever it was
copied to (a header, a JSON body, a raw message) and shows signature and credential headers
as computed-but-hidden: a signature is as good as the secret to whoever replays it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

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
# Configured headers whose names say they carry a credential; the config schemas declare
# these `writeOnly` through `patternProperties` with this pattern (matched ignoring case).
CREDENTIAL_HEADER_PATTERN = (
    r"(?i)^(authorization|proxy-authorization|cookie)$"
    r"|token|secret|api-?key|auth|password|passwd|session|signature|credential"
)


@dataclass(frozen=True)
class Secrets:
    values: frozenset[str] = frozenset()
    headers: frozenset[str] = ALWAYS_HIDDEN_HEADERS  # lower-case names

    def hide(self, value: Any) -> Any:
        """A copy of `value` with every secret replaced and every hidden header's value
        shown as computed-but-hidden."""
        if isinstance(value, dict):
            return {
                key: HIDDEN
                if isinstance(key, str) and key.lower() in self.headers and item is not None
                else self.hide(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self.hide(item) for item in value]
        if isinstance(value, str):
            for secret in self._longest_first:
                value = value.replace(secret, REDACTED)
        return value

    @cached_property
    def _longest_first(self) -> list[str]:
        # A secret and its JSON-escaped spelling (as it appears inside a raw JSON body).
        # Made once per Secrets (hide visits every string of a value).
        spellings = {s for v in self.values for s in (v, json.dumps(v)[1:-1]) if s}
        return sorted(spellings, key=len, reverse=True)


def declared_secrets(schema: Any, config: Any) -> Iterator[str]:
    """Every string in `config` that `schema` declares `writeOnly`, at any depth."""
    if not isinstance(schema, dict):
        return
    if schema.get("writeOnly"):
        yield from _strings(config)
        return
    if isinstance(config, dict):
        properties = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        for key, item in config.items():
            matched = [s for p, s in patterns.items() if re.search(p, str(key))]
            if key in properties:
                yield from declared_secrets(properties[key], item)
            elif matched:
                for subschema in matched:
                    yield from declared_secrets(subschema, item)
            else:
                yield from declared_secrets(schema.get("additionalProperties"), item)
    elif isinstance(config, list):
        for item in config:
            yield from declared_secrets(schema.get("items"), item)
    for keyword in ("anyOf", "oneOf", "allOf"):
        for subschema in schema.get(keyword, []):
            yield from declared_secrets(subschema, config)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def secrets_of(schema: dict[str, Any], config: Any, headers: Iterable[str] = ()) -> Secrets:
    """The secrets `schema` declares in `config`, plus these header names to hide."""
    return Secrets(
        values=frozenset(s for s in declared_secrets(schema, config) if s),
        headers=ALWAYS_HIDDEN_HEADERS | {h.lower() for h in headers},
    )
