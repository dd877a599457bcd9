"""What every trigger kind shares: the common case of each rule, and the texts of previews.

A kind is the descriptive side of a trigger type: what its config may hold, what in it is
secret, where its events carry credentials, and how its config narrows its spec. Each type's
module (`contracts/kinds/<type>.py`) subclasses `TriggerKind` and overrides what it does
differently; its resolver (`worker/resolvers/<type>.py`) subclasses that kind and adds
`resolve`, so a trigger is described and resolved by the same rules.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel

from contracts.models import FieldError
from contracts.redaction import ALWAYS_HIDDEN_HEADERS, PUBLIC_HEADERS, Redaction, redact_config
from contracts.specs import ManualInvocationSpec
from contracts.validation import validate


class WirePreview(BaseModel):
    """A resolved event as its receiver would see it: a title and the text of the delivery."""

    title: str
    text: str


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def pretty(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


def header_lines(headers: Any) -> str:
    if not isinstance(headers, dict):
        return ""
    return "\n".join(f"{name}: {value}" for name, value in headers.items())


def query_string(params: Any) -> str:
    if not isinstance(params, dict) or not params:
        return ""
    pairs = [
        (name, str(item))
        for name, value in params.items()
        for item in (value if isinstance(value, list) else [value])
    ]
    return "?" + urlencode(pairs)


def delivery_text(headers: Any, payload: Any, receiver: str) -> str:
    """An HTTP POST delivery's text, as its receiver reads it."""
    return f"POST <{receiver}> HTTP/1.1\n{header_lines(headers)}\n\n{pretty(payload)}"


def event_types(config: dict[str, Any], default: str) -> list[str]:
    """The events a trigger listens to (GitHub's `*`: all); its type's `default` event when it
    names none."""
    return list(config.get("event_types") or [default])


def narrowed(schema: dict[str, Any], name: str, values: list[str]) -> dict[str, Any]:
    """The schema of a trigger whose parameter `name` takes only `values`: that parameter an
    `enum` of them (the first its default), and only the `allOf` branches one of them selects,
    so a form offers only the fields this trigger can send."""
    values = list(dict.fromkeys(values))

    def selected(entry: dict[str, Any]) -> bool:
        condition = entry.get("if", {}).get("properties", {}).get(name)
        return condition is None or any(not validate(condition, value) for value in values)

    only = {**schema["properties"][name], "enum": values, "default": values[0]}
    result = {**schema, "properties": {**schema["properties"], name: only}}
    result.pop("allOf", None)
    if branches := [entry for entry in schema.get("allOf", []) if selected(entry)]:
        result["allOf"] = branches  # (an empty allOf is no schema)
    return result


class TriggerKind:
    """The common case: parameters as the type's spec declares them, the trigger's config
    checked against `config_schema`, whose `writeOnly` fields are its secrets. Each type
    overrides what it does differently."""

    spec: ManualInvocationSpec
    config_schema: dict[str, Any] = {"type": "object"}  # noqa: RUF012 -- read-only
    # Whether its events' trigger data carry an HTTP request's `headers`: the emitted-event
    # contract reads them back as an HTTP server would (`worker.emitted`).
    http_delivery: bool = False
    # Members of a delivery's body that are credentials (`contracts.redaction.Redaction`).
    secret_members: frozenset[str] = frozenset()
    # Parameters that are HTML by nature: markup is what they are for, so the suspicious-content
    # check skips its HTML patterns there (`worker.suspicious`).
    html_parameters: frozenset[str] = frozenset()
    # Where an event carries a URL built from the config.
    config_urls: tuple[tuple[str, ...], ...] = ()
    # A config of a trigger of this type: the demo workflow's (`worker.catalog.demo_catalog`)
    # when worker/demo.yaml configures none, and what the tests over every type resolve with.
    example_config: dict[str, Any] = {}  # noqa: RUF012 -- read-only

    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]:
        return dict(self.spec.default_parameters)

    def parameter_schema(self, config: dict[str, Any]) -> dict[str, Any]:
        return self.spec.parameter_schema

    def config_errors(self, config: dict[str, Any]) -> list[FieldError]:
        return validate(self.config_schema, config, "/trigger_config")

    def signature_headers(self, config: dict[str, Any]) -> list[str]:
        """The headers in which this trigger's deliveries carry their signatures: the resolver
        writes them, and the redaction hides them."""
        return []

    def public_headers(self, config: dict[str, Any]) -> frozenset[str]:
        """Configured headers whose values may be shown: the standard ones, and those the
        trigger lists in `public_headers`."""
        listed = config.get("public_headers")
        names = [n for n in listed if isinstance(n, str)] if isinstance(listed, list) else []
        return PUBLIC_HEADERS | {n.lower() for n in names}

    def redaction(self, config: dict[str, Any]) -> Redaction:
        """Where this trigger's events carry its credentials: the signature headers it sends,
        the configured headers not declared public, its body's credential members, the URLs
        built from its config."""
        configured = config.get("headers")
        names = list(configured) if isinstance(configured, dict) else []
        public = self.public_headers(config)
        secret = {n.lower() for n in [*self.signature_headers(config), *names]} - public
        return Redaction(
            headers=ALWAYS_HIDDEN_HEADERS | secret,
            members=self.secret_members,
            urls=self.config_urls,
        )

    def display_name(self, config: dict[str, Any]) -> str:
        """A name a person recognises, from what the trigger listens to (the config's own
        `name` wins)."""
        return f"{self.spec.trigger_type.value.title()} trigger"

    def wire_preview(self, resolved: dict[str, Any]) -> WirePreview:
        """What a resolved event would put on the wire, as the receiving side would see it."""
        return WirePreview(title="Event", text=pretty(resolved))

    def shown_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """The config as events' metadata and answers may show it: secrets replaced."""
        shown: dict[str, Any] = redact_config(
            self.config_schema, config, self.public_headers(config)
        )
        return shown
