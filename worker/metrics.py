"""Every Prometheus metric of the service, defined once. Labels stay low-cardinality."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

INVOCATIONS = Counter(
    "manual_trigger_invocations_total",
    "Manual trigger invocations handled by the worker, by outcome and reason (error code).",
    ["trigger_type", "status", "reason"],
)
INVOCATION_DURATION = Histogram(
    "manual_trigger_invocation_duration_seconds",
    "Time from receiving an invoke request to replying to it.",
    ["trigger_type"],
)
VALIDATION_ERRORS = Counter(
    "manual_trigger_validation_errors_total",
    "Parameter validation errors, by JSON Schema keyword or check.",
    ["trigger_type", "error_type"],
)
DRY_RUNS = Counter(
    "manual_trigger_dry_runs_total",
    "Dry runs: resolved and validated, nothing published.",
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
