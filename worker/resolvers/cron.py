"""CRON: the schedule firing, as the scheduler's own tick would have reported it.

`scheduled_time` defaults to the most recent time the schedule fired at or before the
request, in the trigger's time zone, computed with croniter. Six-field expressions carry
seconds first (`30 0 9 * * 1-5` is 09:00:30 on weekdays), as in Quartz, Spring and node-cron.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from contracts.models import FieldError, InvokeRequest
from contracts.specs import CRON_SPEC
from worker.resolvers.base import Resolution, SpecResolver, invalid


def _with_seconds(expression: str) -> bool:
    return len(expression.split()) == 6


def _fires_at(expression: str, moment: datetime) -> bool:
    """True when the schedule fires exactly at `moment` (to the second)."""
    following = croniter(
        expression, moment - timedelta(seconds=1), second_at_beginning=_with_seconds(expression)
    ).get_next(datetime)
    return bool(following == moment)


def most_recent_firing(expression: str, moment: datetime) -> datetime:
    """The latest time at or before `moment` at which the schedule fires."""
    floor = moment.replace(microsecond=0)
    if not _with_seconds(expression):
        floor = floor.replace(second=0)
    if _fires_at(expression, floor):
        return floor
    previous: datetime = croniter(
        expression, floor, second_at_beginning=_with_seconds(expression)
    ).get_prev(datetime)
    return previous


# Schedules are looked at one firing either side of the time: the calendar must have room.
EARLIEST_YEAR, LATEST_YEAR = 1970, 2999


def _parse_time(text: str, zone: ZoneInfo) -> datetime:
    """ISO 8601; a time without an offset is read in the trigger's time zone."""
    path = "/parameters/scheduled_time"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise invalid(path, f"not an ISO 8601 date-time: {text!r}", "format") from None
    if not EARLIEST_YEAR < moment.year < LATEST_YEAR:
        raise invalid(
            path,
            f"must lie after {EARLIEST_YEAR} and before {LATEST_YEAR}: {text!r}",
            "out_of_range",
        )
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


def _zone(config: dict[str, Any]) -> ZoneInfo:
    return ZoneInfo(config.get("timezone", "UTC"))


class CronResolver(SpecResolver):
    spec = CRON_SPEC

    def config_errors(self, config: dict[str, Any]) -> list[FieldError]:
        errors = []
        expression = config.get("schedule")
        if not isinstance(expression, str) or len(expression.split()) not in (5, 6):
            errors.append(
                FieldError(
                    path="/trigger_config/schedule",
                    code="invalid_trigger_config",
                    message="schedule must be a cron expression of 5 fields (6 with seconds first)",
                )
            )
        elif not croniter.is_valid(expression, second_at_beginning=_with_seconds(expression)):
            errors.append(
                FieldError(
                    path="/trigger_config/schedule",
                    code="invalid_trigger_config",
                    message=f"not a valid cron expression: {expression!r}",
                )
            )
        timezone = config.get("timezone", "UTC")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            errors.append(
                FieldError(
                    path="/trigger_config/timezone",
                    code="invalid_trigger_config",
                    message=f"not an IANA time zone: {timezone!r}",
                )
            )
        return errors

    def resolve(
        self, config: dict[str, Any], parameters: dict[str, Any], request: InvokeRequest
    ) -> Resolution:
        expression: str = config["schedule"]
        zone = _zone(config)
        requested = request.requested_at.astimezone(zone)
        warnings = []
        if "scheduled_time" in parameters:
            scheduled = _parse_time(parameters["scheduled_time"], zone)
            on_schedule = _fires_at(expression, scheduled)
            if not on_schedule and not parameters["allow_off_schedule"]:
                raise invalid(
                    "/parameters/scheduled_time",
                    f"{scheduled.isoformat()} is not a time at which {expression!r} fires in "
                    f"{zone.key}; set allow_off_schedule to use it anyway",
                    "off_schedule",
                )
            if scheduled > requested:
                warnings.append("scheduled_time is later than the time of the request")
        else:
            scheduled = most_recent_firing(expression, requested)
        trigger_data = {
            "trigger_time": requested.isoformat(),
            "scheduled_time": scheduled.isoformat(),
            "execution_type": "manual_cron",
            "cron_expression": expression,
            "timezone": zone.key,
        }
        return Resolution(
            trigger_data=trigger_data,
            input_data={
                "scheduled_time": trigger_data["scheduled_time"],
                "trigger_time": trigger_data["trigger_time"],
            },
            metadata={"original_schedule": expression},
            warnings=warnings,
        )


RESOLVER = CronResolver()
