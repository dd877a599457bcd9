"""Secrets in trigger configs are used for signing and shown nowhere: redact before display."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "***REDACTED***"
_SECRET_KEY = re.compile(
    r"secret|password|passwd|token|api[_-]?key|private[_-]?key|credential", re.IGNORECASE
)


def redact(value: Any) -> Any:
    """A deep copy of `value` with every secret-looking key's value replaced."""
    if isinstance(value, dict):
        return {
            key: REDACTED if _SECRET_KEY.search(str(key)) and item is not None else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value
