"""Shared assertions for resolver tests."""

from __future__ import annotations

from typing import Any

import pytest

from worker.resolvers import InvalidInvocation


def error_paths(exc: pytest.ExceptionInfo[InvalidInvocation]) -> list[str]:
    return sorted({error.path for error in exc.value.errors})


def error_codes(exc: pytest.ExceptionInfo[InvalidInvocation]) -> list[str]:
    return sorted({error.code for error in exc.value.errors})


def only(items: list[Any]) -> Any:
    assert len(items) == 1, items
    return items[0]
