"""The worst requests one can construct within the limits, and what each check costs on them.

For each request: the size of the answer it gets (bounded by MAX_ANSWER_BYTES) and the CPU time
of every check it meets, in-process (no services: the checks are pure). Each time is the best
of five runs of `time.process_time`, so another process on the machine does not count.

    python -m tests.benchmarks.worst [--smoke] [--output worst-results.json]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from contracts.models import InvokeResult, InvokeStatus, TriggerType
from contracts.triggers import KINDS
from contracts.validation import validate
from tests.factories import demo_request, demo_trigger
from worker.emitted import event_errors
from worker.resolvers import InvalidInvocation, PreparedInvocation, prepare_invocation
from worker.safety import (
    MAX_KEY_LENGTH,
    MAX_STRING,
    MAX_VALUES,
    shape_errors,
    url_errors,
    url_problem,
)
from worker.suspicious import suspicious_content


def _cpu_ms(check: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(5):
        url_problem.cache_clear()  # each run judges its URLs afresh, as a new request would
        started = time.process_time()
        check()
        best = min(best, time.process_time() - started)
    return round(best * 1000, 2)


def _answer(trigger_type: TriggerType, outcome: PreparedInvocation | InvalidInvocation) -> int:
    """The size of the answer the worker would give (dry run, or the refusal)."""
    common: dict[str, Any] = {"invocation_id": "i", "workflow_id": "w", "trigger_id": "t"}
    if isinstance(outcome, InvalidInvocation):
        result = InvokeResult(
            **common, status=InvokeStatus.INVALID, success=False, message="Invalid parameters",
            errors=outcome.errors,
        )  # fmt: skip
    else:
        result = InvokeResult(
            **common, status=InvokeStatus.DRY_RUN, success=True, message="Dry run",
            trigger_data={"trigger_type": trigger_type,
                          "resolved_parameters": outcome.resolved_parameters},
        )  # fmt: skip
    return len(result.body())


def _prepare(trigger_type: TriggerType, parameters: dict[str, Any], **config: Any) -> Any:
    try:
        return prepare_invocation(
            demo_request(trigger_type, parameters=parameters, dry_run=True),
            demo_trigger(trigger_type, **config),
        )
    except InvalidInvocation as refused:
        return refused


def cases(scale: float) -> dict[str, tuple[TriggerType, dict[str, Any], dict[str, Any]]]:
    """name -> (trigger type, parameters, trigger config overrides)."""
    longest = int(MAX_STRING * scale) - 8
    values = int(MAX_VALUES * scale) - 100
    chain: Any = {f"b{i}": "\u0000" for i in range(values)}
    for depth in range(29):  # with /parameters/body around it: 32 levels, the most allowed
        chain = {f"{depth}" + "n" * (MAX_KEY_LENGTH - 3): chain}
    return {
        "long names over bad leaves": (TriggerType.WEBHOOK, {"body": chain}, {}),
        "quote, spaces, no equals (SQL tautology backtracking)": (
            TriggerType.WEBHOOK, {"body": {"q": "' or" + " " * longest + "x"}}, {}),
        "open tag, spaces (event handler backtracking)": (
            TriggerType.WEBHOOK, {"body": {"q": "<a " + " " * longest}}, {}),
        "trigger input schema ^(a|aa)+$ on a's and a b": (
            TriggerType.MANUAL, {"code": "a" * longest + "b"},
            {"input_schema": {"type": "object",
                              "properties": {"code": {"type": "string", "pattern": "^(a|aa)+$"}}}}),
        "inward URLs in every value": (
            TriggerType.WEBHOOK,
            {"body": {"u": [f"http://10.0.{i % 250}.1/" for i in range(values)]}}, {}),
        "email attachment by size (dry run preview)": (
            TriggerType.EMAIL,
            {"attachments": [{"name": "a.bin", "size": int(1024 * 1024 * scale)}]}, {}),
        "JSON body given as a string, every value a string": (
            TriggerType.WEBHOOK,
            {"body": json.dumps({f"k{i}": "v" * 10 for i in range(values)})}, {}),
    }  # fmt: skip


def _checks(
    trigger_type: TriggerType,
    trigger_config: dict[str, Any],
    parameters: dict[str, Any],
    overrides: dict[str, Any],
    schema: dict[str, Any],
    merged: dict[str, Any],
) -> dict[str, Callable[[], object]]:
    return {
        "shape and budgets": partial(shape_errors, {"parameters": parameters}, ""),
        "schema": partial(validate, schema, merged, "/parameters"),
        "URLs": partial(url_errors, parameters, "/parameters"),
        "suspicious content": partial(suspicious_content, trigger_type, trigger_config, parameters),
        "whole invocation (all checks, resolve, emitted event)": partial(
            _prepare, trigger_type, parameters, **overrides
        ),
    }


def measure(scale: float = 1.0) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, (trigger_type, parameters, config) in cases(scale).items():
        trigger = demo_trigger(trigger_type, **config)
        kind = KINDS[trigger_type]
        merged = {**kind.default_parameters(trigger.config), **parameters}
        schema = kind.parameter_schema(trigger.config)
        outcome = _prepare(trigger_type, parameters, **config)
        checks = _checks(trigger_type, trigger.config, parameters, config, schema, merged)
        if isinstance(outcome, PreparedInvocation):
            checks["emitted event"] = partial(event_errors, outcome.event, parameters)
        results[name] = {
            "request_bytes": len(json.dumps({"parameters": parameters})),
            "answer_bytes": _answer(trigger_type, outcome),
            "outcome": "refused" if isinstance(outcome, InvalidInvocation) else "resolved",
            "cpu_ms": {check: _cpu_ms(run) for check, run in checks.items()},
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="inputs at 1/64 of the limits")
    parser.add_argument("--output", default="worst-results.json")
    arguments = parser.parse_args()
    results = measure(1 / 64 if arguments.smoke else 1.0)
    for name, figures in results.items():
        cpu = ", ".join(f"{check} {ms} ms" for check, ms in figures["cpu_ms"].items())
        print(
            f"{name}: request {figures['request_bytes']} B, answer {figures['answer_bytes']} B "
            f"({figures['outcome']}); {cpu}"
        )
    with open(arguments.output, "w") as sink:
        json.dump(results, sink, indent=2)


if __name__ == "__main__":
    main()
