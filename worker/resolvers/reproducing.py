"""What every resolver's `params_from` shares: the inverse of `resolve`, made sendable.

`params_from(trigger_data, config)` reads a recorded event's trigger data (what a resolver
produced or a real ingress published, redacted or not) back into the parameters of its type.
Whatever the type's rules, what it returns passes through `expressible`: values the redaction
hid are left out (a placeholder sent again would be sent as text), and so is each value the
invoke path would refuse (the trigger's parameter schema, the URL rules, the suspicious-content
check), at the path it names, so that the parameters can be invoked as they are.
"""

from __future__ import annotations

from typing import Any

from contracts.kinds.base import TriggerKind
from contracts.redaction import HIDDEN, REDACTED
from contracts.validation import validate
from worker.paths import parse_path
from worker.safety import url_errors
from worker.suspicious import suspicious_content

# Each round leaves out at least one value; a record needs few (a value's error usually names it).
MAX_ROUNDS = 16


def dict_of(value: Any) -> dict[str, Any]:
    """The value when it is an object, else an empty one: recorded data may hold anything."""
    return value if isinstance(value, dict) else {}


def hidden(value: Any) -> bool:
    """A text the redaction wrote, or one it changed (a URL whose credentials it replaced)."""
    return isinstance(value, str) and (REDACTED in value or HIDDEN in value)


def without_hidden(value: Any) -> Any:
    """A copy without the members and items the redaction hid."""
    if isinstance(value, dict):
        return {k: without_hidden(v) for k, v in value.items() if not hidden(v)}
    if isinstance(value, list):
        return [without_hidden(item) for item in value if not hidden(item)]
    return value


def present(parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters that have a value (a record without a field says nothing of it)."""
    return {name: value for name, value in parameters.items() if value is not None}


def expressible(
    kind: TriggerKind, config: dict[str, Any], parameters: dict[str, Any]
) -> dict[str, Any]:
    """The parameters as the invoke path accepts them: without what the redaction hid, and
    without each value it refuses (the innermost one its error names), round by round.

    What no value can fix (an input the trigger now requires and the record lacks) stays for
    the person who reruns it to fill in."""
    kept: dict[str, Any] = without_hidden(parameters)
    schema = kind.parameter_schema(config)
    defaults = kind.default_parameters(config)
    for _ in range(MAX_ROUNDS):
        errors = validate(schema, {**defaults, **kept}, "/parameters")
        errors += url_errors(kept, "/parameters")
        errors += suspicious_content(kind.spec.trigger_type, config, kept)
        marked = [_mark(kept, error.path.removeprefix("/parameters")) for error in errors]
        if not any(marked):
            break
        kept = _swept(kept)
    return kept


_LEFT_OUT: Any = object()


def _mark(document: dict[str, Any], path: str) -> bool:
    """Mark the innermost value on `path` that exists (its parent, for a member the schema
    requires): True when one was marked. The top itself is never marked."""
    parent: Any = None
    key: Any = None
    node: Any = document
    for segment in parse_path(path) if path.startswith("/") else []:
        if isinstance(node, dict) and segment in node:
            parent, key, node = node, segment, node[segment]
        elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            parent, key, node = node, int(segment), node[int(segment)]
        else:
            break
    if parent is None or node is _LEFT_OUT:
        return False
    parent[key] = _LEFT_OUT
    return True


def _swept(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _swept(v) for k, v in value.items() if v is not _LEFT_OUT}
    if isinstance(value, list):
        return [_swept(item) for item in value if item is not _LEFT_OUT]
    return value
