"""Paths into JSON documents as people type them: `a.b.0.c` or a JSON pointer `/a/b/0/c`.

Used by the CLI's `--param`, `--set` and `--match`, and by replays applying `--set` edits.
"""

from __future__ import annotations

import json
from typing import Any


def parse_path(text: str) -> list[str]:
    """Segments of a dotted path or of an RFC 6901 pointer."""
    if text.startswith("/"):
        return [p.replace("~1", "/").replace("~0", "~") for p in text[1:].split("/")]
    return text.split(".")


def parse_value(text: str) -> Any:
    """JSON when it parses (`true`, `3`, `{"a":1}`, `"quoted"`), the plain string otherwise."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_assignment(text: str) -> tuple[list[str], Any]:
    """`PATH=VALUE` -> (segments, value); raises ValueError without an `=`."""
    path, sep, value = text.partition("=")
    if not sep or not path:
        raise ValueError(f"expected PATH=VALUE, got {text!r}")
    return parse_path(path), parse_value(value)


def get_path(document: Any, segments: list[str]) -> Any:
    """The value at the path; KeyError when there is none."""
    node = document
    for segment in segments:
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            raise KeyError("/".join(segments))
    return node


def set_path(document: dict[str, Any], segments: list[str], value: Any) -> None:
    """Set the value at the path, creating objects on the way; list items are replaced."""
    node: Any = document
    for segment in segments[:-1]:
        if isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
            continue
        if not isinstance(node, dict):
            raise KeyError("/".join(segments))
        node = node.setdefault(segment, {})
    last = segments[-1]
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise KeyError("/".join(segments))
