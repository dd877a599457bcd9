"""CRON: a schedule firing. Its spec (what a manual run accepts) and its kind."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from contracts.kinds.base import TriggerKind, WirePreview, text_of
from contracts.models import FieldError, TriggerType
from contracts.specs import JSON_SCHEMA_DIALECT, ManualInvocationSpec, ParameterExample, field

CRON_SPEC = ManualInvocationSpec(
    trigger_type=TriggerType.CRON,
    supported=True,
    description=(
        "Fire the schedule now. By default the event carries the most recent time the "
        "schedule would have fired at or before the request, in the trigger's time zone."
    ),
    parameter_schema={
        "$schema": JSON_SCHEMA_DIALECT,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "scheduled_time": field(
                "Scheduled time",
                "The date and time the run stands for (no offset: in the trigger's time zone). "
                "Must be a time the schedule fires at, unless off-schedule times are allowed.",
                type="string",
                format="iso-date-time",
            ),
            "allow_off_schedule": field(
                "Allow off-schedule time",
                "Accept a scheduled time the schedule would never fire at.",
                type="boolean",
            ),
            "trigger_time": field(
                "Trigger time",
                "The date and time of the scheduler's tick (default: the time of the request).",
                type="string",
                format="iso-date-time",
            ),
            "cron_expression": field(
                "Cron expression",
                "Fire as this schedule, not the trigger's (a warning says so).",
                type="string",
                maxLength=255,
            ),
            "timezone": field(
                "Time zone",
                "IANA time zone to read times in instead of the trigger's, e.g. Europe/Berlin.",
                type="string",
                maxLength=64,
            ),
            "execution_type": field(
                "Execution type",
                "The execution context's execution_type (default manual_cron).",
                type="string",
                pattern="^[a-z][a-z0-9_]{0,63}$",
            ),
        },
    },
    default_parameters={"allow_off_schedule": False, "execution_type": "manual_cron"},
    parameter_examples=[
        ParameterExample(
            name="Latest scheduled run",
            description="Run as the most recent scheduled firing would have.",
            parameters={},
        ),
        ParameterExample(
            name="Backfill a missed run",
            description="Re-run the firing of a given day at the schedule's time.",
            parameters={"scheduled_time": "2026-11-02T09:00:00+01:00"},
        ),
        ParameterExample(
            name="Off-schedule run",
            description="A run at a time the schedule does not fire at.",
            parameters={"scheduled_time": "2026-11-01T12:34:00Z", "allow_off_schedule": True},
        ),
    ],
)


def with_seconds(expression: str) -> bool:
    """Six-field expressions carry seconds first, as in Quartz, Spring and node-cron."""
    return len(expression.split()) == 6


def expression_problem(expression: Any) -> str | None:
    """Why this is not a cron expression of 5 fields (6 with seconds first), or None."""
    if not isinstance(expression, str) or len(expression.split()) not in (5, 6):
        return "must be a cron expression of 5 fields (6 with seconds first)"
    if not croniter.is_valid(expression, second_at_beginning=with_seconds(expression)):
        return f"not a valid cron expression: {expression!r}"
    return None


def zone_problem(name: Any) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return f"not an IANA time zone: {name!r}"
    return None


class CronKind(TriggerKind):
    spec = CRON_SPEC

    def config_errors(self, config: dict[str, Any]) -> list[FieldError]:
        checks = [
            ("schedule", expression_problem(config.get("schedule"))),
            ("timezone", zone_problem(config.get("timezone", "UTC"))),
        ]
        return [
            FieldError(path=f"/trigger_config/{name}", code="invalid_trigger_config", message=m)
            for name, m in checks
            if m
        ]

    def display_name(self, config: dict[str, Any]) -> str:
        zone = f" ({config['timezone']})" if config.get("timezone") else ""
        return f"Schedule {text_of(config.get('schedule'))}{zone}".strip()

    def wire_preview(self, resolved: dict[str, Any]) -> WirePreview:
        lines = [
            f"Schedule:       {text_of(resolved.get('cron_expression'))} "
            f"({text_of(resolved.get('timezone'))})",
            f"Stands for:     {text_of(resolved.get('scheduled_time'))}",
            f"Fired at:       {text_of(resolved.get('trigger_time'))}",
            f"Execution type: {text_of(resolved.get('execution_type'))}",
        ]
        return WirePreview(title="Scheduled run", text="\n".join(lines))


KIND = CronKind()
