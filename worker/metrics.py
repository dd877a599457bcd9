"""Every Prometheus metric of the service, defined once. Labels stay bounded.

`workflow_id` is bounded by the catalogue: it carries a workflow's id only once that workflow
was found; any id that names nothing (or was never looked up, as in refusals the shim decides
before a lookup) is counted as `unknown`, so no caller can mint label values. `reason` and
`error_type` are error codes from the code and its libraries, never from input.
docs/operations.md#metrics works out the number of series.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

UNKNOWN = "unknown"  # the workflow or trigger type when none was found (or looked up)

INVOCATIONS = Counter(
    "manual_trigger_invocations_total",
    "Manual trigger invocations, by workflow, type, outcome and reason (error code).",
    ["workflow_id", "trigger_type", "status", "reason"],
)
INVOCATION_DURATION = Histogram(
    "manual_trigger_invocation_duration_seconds",
    "Time from receiving an invoke request to replying to it.",
    ["workflow_id", "trigger_type"],
)
VALIDATION_ERRORS = Counter(
    "manual_trigger_validation_errors_total",
    "Parameter validation errors, by JSON Schema keyword or check.",
    ["trigger_type", "error_type"],
)
DRY_RUNS = Counter(
    "manual_trigger_dry_runs_total",
    "Dry run requests, whatever their outcome (status='dry_run' in invocations counts the "
    "ones that resolved).",
    ["trigger_type"],
)
TRANSIENT_FAILURES = Counter(
    "manual_trigger_transient_failures_total",
    "Messages returned to their queue for a retry after a dependency failed.",
    ["role"],
)
SCHEDULER_EVENTS = Counter(
    "manual_trigger_scheduler_events_total",
    "Trigger events seen by the scheduler, by outcome (recorded, duplicate, rejected).",
    ["trigger_type", "outcome"],
)
EXECUTION_UPDATES = Counter(
    "manual_trigger_execution_updates_total",
    "Execution updates seen by the scheduler, by status reported and outcome (applied, stale, "
    "unknown_execution, malformed).",
    ["status", "outcome"],
)
# What the shim answers itself, before any worker sees the request.
SHIM_STATUS = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "invalid",
    415: "invalid",
    429: "rate_limited",
}
SHIM_REASON = {
    401: "invalid_token",
    404: "not_found",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def count_refusal_by_shim(status: int, codes: list[str], dry_run: bool) -> None:
    """One invoke request the shim refused before a worker saw it: counted as the worker
    counts its own refusals, with the workflow and type `unknown` (the shim looked neither up).
    """
    codes = codes or [SHIM_REASON.get(status, str(status))]
    INVOCATIONS.labels(
        workflow_id=UNKNOWN,
        trigger_type=UNKNOWN,
        status=SHIM_STATUS.get(status, "invalid"),
        reason=codes[0],
    ).inc()
    if status in (400, 413, 415):  # the body itself was refused: validation errors
        for code in codes:
            VALIDATION_ERRORS.labels(trigger_type=UNKNOWN, error_type=code).inc()
    if dry_run:
        DRY_RUNS.labels(trigger_type=UNKNOWN).inc()
