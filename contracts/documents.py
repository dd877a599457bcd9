"""Walking a JSON document without recursion, and what in one no store can hold.

Pure functions of the document: the shim and the worker judge requests and emitted events by
them (`worker.safety`, `worker.emitted`), and the execution-update contract its engine's output
(`contracts.executions`), so every producer refuses the same values the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from contracts.models import unstorable

# Where a value sits, as links back to its parent: (parent's links, key), () at the top. A walk
# builds one link per value; a path (as long as the nesting) is built only for an error.
Links = tuple[Any, ...]


def walk(value: Any) -> Iterator[tuple[Links, int, Any]]:
    """Every value with its links and depth, parents first and in document order, without
    recursion (depth is untrusted)."""
    stack: list[tuple[Links, int, Any]] = [((), 0, value)]
    while stack:
        links, depth, item = stack.pop()
        yield links, depth, item
        if isinstance(item, dict):
            stack.extend(((links, key), depth + 1, child) for key, child in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend(((links, i), depth + 1, item[i]) for i in range(len(item) - 1, -1, -1))


def path_of(links: Links) -> tuple[str | int, ...]:
    """The path the links lead to, from the top."""
    parts: list[str | int] = []
    while links:
        links, key = links
        parts.append(key)
    return tuple(reversed(parts))


def storable_problems(value: Any) -> Iterator[tuple[Links, str, str]]:
    """What no store can hold in a value, as (links, code, why): each string or member name
    PostgreSQL cannot store, each number that is not finite."""
    for links, _, item in walk(value):
        if isinstance(item, str):
            if problem := unstorable(item):
                yield links, "unstorable_text", problem
        elif isinstance(item, float) and not math.isfinite(item):
            yield links, "number_out_of_range", "not a finite JSON number"
        elif isinstance(item, dict):
            for key in item:
                if problem := unstorable(key):
                    yield (links, key), "unstorable_text", f"member name: {problem}"
