"""Parameters drawn from a trigger's parameter schema, as hypothesis-jsonschema can draw them.

It reads neither the formats this project declares (`contracts.formats`) nor
`unevaluatedProperties`: here are strategies for the formats, and one closed schema per `allOf`
branch of a schema whose fields depend on another field's value (GitHub's and Slack's per-event
fields), with that field pinned to the values the branch is for.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

_ZONES = (
    st.none()
    | st.just(UTC)
    | st.integers(-23 * 60, 23 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
)
_NAMES = st.text(st.characters(categories=["L"]) | st.just(" "), max_size=12)

FORMATS: dict[str, st.SearchStrategy[str]] = {
    "iso-date-time": st.datetimes(timezones=_ZONES).map(datetime.isoformat),
    "mailbox": st.tuples(_NAMES, st.emails()).map(
        lambda pair: f"{pair[0].strip()} <{pair[1]}>" if pair[0].strip() else pair[1]
    ),
    "base64": st.binary(max_size=48).map(lambda data: base64.b64encode(data).decode()),
}


def branch_schemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema as one closed schema per `allOf` branch (the schema itself without any)."""
    common = {k: v for k, v in schema.items() if k not in ("$schema", "allOf")}
    if "allOf" not in schema:
        return [common]
    flat = []
    for entry in schema["allOf"]:
        ((name, condition),) = entry["if"]["properties"].items()
        properties = {**schema["properties"], **entry["then"]["properties"]}
        properties[name] = {**properties[name], **condition}
        flat.append(
            {
                **{k: v for k, v in common.items() if k != "unevaluatedProperties"},
                "properties": properties,
                "required": [*entry["if"].get("required", [])],
                "additionalProperties": False,
            }
        )
    return flat


def parameters_of(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Parameter sets the schema accepts (nearly: hypothesis-jsonschema's own limits)."""
    return st.one_of([from_schema(flat, custom_formats=FORMATS) for flat in branch_schemas(schema)])


def parameter_names(schema: dict[str, Any]) -> list[str]:
    """Every parameter the schema declares, in any branch."""
    return sorted({name for flat in branch_schemas(schema) for name in flat.get("properties", {})})
