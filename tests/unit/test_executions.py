"""The execution update contract (contracts/executions.py) and the stand-in engine's pure part:
forward-only steps, bounds, what a failure must say, what PostgreSQL could not hold."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.executions import (
    MAX_ERROR_MESSAGE,
    MAX_OUTPUT_BYTES,
    ExecutionError,
    ExecutionStatus,
    ExecutionUpdate,
)
from worker.engine import ENGINE_NAME, FAILURE_MESSAGE, final_update, requested_failure
from worker.store import Unfinished

AT = datetime(2026, 11, 25, 21, 47, 27, tzinfo=UTC)
EXECUTION = "exec_" + "0" * 32


def update(**fields: Any) -> ExecutionUpdate:
    return ExecutionUpdate.model_validate(
        {"execution_id": EXECUTION, "status": "succeeded", "at": AT, **fields}
    )


def json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def test_steps_only_go_forward() -> None:
    steps = {status: status.step for status in ExecutionStatus}
    assert steps == {
        ExecutionStatus.PENDING: 0,
        ExecutionStatus.RUNNING: 1,
        ExecutionStatus.SUCCEEDED: 2,
        ExecutionStatus.FAILED: 2,
        ExecutionStatus.CANCELLED: 2,
    }
    assert {s for s in ExecutionStatus if s.final} == {
        ExecutionStatus.SUCCEEDED,
        ExecutionStatus.FAILED,
        ExecutionStatus.CANCELLED,
    }


def test_pending_is_no_update() -> None:
    with pytest.raises(ValidationError, match="pending is where an execution starts"):
        update(status="pending")


@pytest.mark.parametrize("status", ["running", "failed", "cancelled"])
def test_only_a_succeeded_execution_has_an_output(status: str) -> None:
    error = {"message": "no"} if status == "failed" else None
    with pytest.raises(ValidationError, match="only a succeeded execution has an output"):
        update(status=status, output={"x": 1}, error=error)


@pytest.mark.parametrize("status", ["running", "succeeded"])
def test_only_a_failed_or_cancelled_execution_has_an_error(status: str) -> None:
    with pytest.raises(ValidationError, match="only a failed or cancelled"):
        update(status=status, error={"message": "no"})


def test_a_failed_execution_says_why() -> None:
    with pytest.raises(ValidationError, match=r"error\.message"):
        update(status="failed")
    assert update(status="cancelled").error is None  # a cancellation may say nothing
    failed = update(status="failed", error={"message": "boom", "code": "x"})
    assert failed.error == ExecutionError(message="boom", code="x")


@pytest.mark.parametrize(
    "fields",
    [
        {"execution_id": "exec_123"},
        {"execution_id": "EXEC_" + "0" * 32},
        {"at": "2026-11-25T21:47:27"},  # no time zone
        {"status": "paused"},
        {"error": {"message": ""}, "status": "failed"},
        {"error": {"message": "x", "extra": 1}, "status": "failed"},
    ],
)
def test_what_is_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        update(**fields)


@pytest.mark.parametrize(
    "output",
    [
        {"x": math.nan},
        {"x": [math.inf]},
        {"x": "a\x00b"},
        {"a\x00": 1},
        {"x": "\ud800"},
    ],
)
def test_an_output_postgresql_cannot_hold_is_refused(output: Any) -> None:
    with pytest.raises(ValidationError):
        update(output=output)
    with pytest.raises(ValidationError):
        update(status="failed", error={"message": "m", "details": output})


def test_nan_and_nul_are_refused_on_the_wire_too() -> None:
    for body in (
        b'{"execution_id": "%s", "status": "succeeded", "at": "2026-01-01T00:00:00Z", '
        b'"output": {"x": NaN}}' % EXECUTION.encode(),
        b'{"execution_id": "%s", "status": "failed", "at": "2026-01-01T00:00:00Z", '
        b'"error": {"message": "a\\u0000b"}}' % EXECUTION.encode(),
    ):
        with pytest.raises((ValidationError, ValueError)):
            ExecutionUpdate.parse(body)


def test_nesting_is_bounded() -> None:
    deep: Any = 1
    for _ in range(70):
        deep = [deep]
    with pytest.raises(ValidationError, match="deeper than 64"):
        update(output=deep)


@given(extra=st.integers(min_value=-64, max_value=64), wide=st.booleans())
def test_the_output_is_bounded_in_bytes_as_json(extra: int, wide: bool) -> None:
    # A string that makes the output exactly MAX_OUTPUT_BYTES + extra bytes as JSON.
    char = "é" if wide else "x"  # two bytes in UTF-8, or one
    shell = json_size({"s": ""})
    room = MAX_OUTPUT_BYTES + extra - shell
    text = char * (room // len(char.encode())) + "x" * (room % len(char.encode()))
    output = {"s": text}
    assert json_size(output) == MAX_OUTPUT_BYTES + extra
    if extra <= 0:
        assert update(output=output).output == output
    else:
        with pytest.raises(ValidationError, match=f"at most {MAX_OUTPUT_BYTES}"):
            update(output=output)


@given(length=st.integers(min_value=MAX_ERROR_MESSAGE - 3, max_value=MAX_ERROR_MESSAGE + 3))
def test_an_error_message_is_bounded(length: int) -> None:
    fields = {"status": "failed", "error": {"message": "m" * length}}
    if length <= MAX_ERROR_MESSAGE:
        assert update(**fields).error is not None
    else:
        with pytest.raises(ValidationError):
            update(**fields)


def test_a_newer_engine_s_fields_are_ignored_and_the_body_round_trips() -> None:
    sent = update(output={"n": 1}, engine="engine-7", since_version_9="x")
    assert ExecutionUpdate.parse(sent.body()) == sent
    assert b"since_version_9" not in sent.body() and b"error" not in sent.body()


# The stand-in engine's pretend run (worker/engine.py).


def unfinished(input_data: Any, trigger_type: str = "WEBHOOK", **trigger: Any) -> Unfinished:
    return Unfinished(EXECUTION, ExecutionStatus.PENDING, trigger_type, trigger, input_data)


@pytest.mark.parametrize(
    ("execution", "why"),
    [
        (unfinished({"fail": "disk full"}), "disk full"),
        (unfinished({"fail": True}), FAILURE_MESSAGE),
        (unfinished({"fail": 1, "other": 2}), FAILURE_MESSAGE),
        (unfinished({"fail": ""}), None),
        (unfinished({"fail": False}), None),
        (unfinished({"body": {"fail": "nested"}}), None),  # top level only
        (unfinished(["fail"]), None),
        (unfinished(None), None),
        (unfinished({}, "MANUAL", inputs={"fail": "asked"}), "asked"),
        (unfinished({}, "WEBHOOK", inputs={"fail": "not a manual trigger"}), None),
    ],
)
def test_a_run_fails_when_its_input_asks(execution: Unfinished, why: str | None) -> None:
    assert requested_failure(execution) == why
    ended = final_update(execution, AT)
    if why is None:
        assert ended.status is ExecutionStatus.SUCCEEDED and ended.error is None
    else:
        assert ended.status is ExecutionStatus.FAILED
        assert ended.error == ExecutionError(message=why, code="requested_failure")
    assert ended.engine == ENGINE_NAME and ended.at == AT


def test_a_succeeded_run_summarises_and_echoes_small_inputs() -> None:
    small = final_update(unfinished({"b": 1, "a": [1, 2]}), AT)
    assert small.output == {
        "engine": ENGINE_NAME,
        "trigger_type": "WEBHOOK",
        "input_summary": {"type": "object", "keys": ["a", "b"], "key_count": 2, "bytes": 17},
        "echo": {"b": 1, "a": [1, 2]},
    }
    large = final_update(unfinished(["x" * 2000]), AT)
    assert large.output["input_summary"] == {"type": "array", "items": 1, "bytes": 2004}
    assert "echo" not in large.output


# Text PostgreSQL stores (no NUL, no lone surrogate), as the engine reads inputs back.
STORABLE = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


@given(
    inputs=st.dictionaries(st.text(STORABLE, min_size=1, max_size=1024), st.integers(), max_size=40)
    | st.lists(st.text(STORABLE, max_size=3000), max_size=30)
)
def test_the_output_stays_within_the_contract_whatever_the_input(inputs: Any) -> None:
    ended = final_update(unfinished(inputs), AT)  # raises if the contract refuses the output
    assert ended.status is ExecutionStatus.SUCCEEDED
    assert json_size(ended.output) <= MAX_OUTPUT_BYTES
