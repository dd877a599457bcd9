"""CRON: the schedule firing, as the scheduler's own tick would have reported it.

`scheduled_time` defaults to the most recent time the schedule fired at or before the
request, in the trigger's time zone, computed with croniter. Six-field expressions carry
seconds first (`30 0 9 * * 1-5` is 09:00:30 on weekdays), as in Quartz, Spring and node-cron.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from contracts.formats import FORMAT_MESSAGES, parse_date_time
from contracts.kinds.cron import CronKind, expression_problem, with_seconds, zone_problem
from contracts.models import FieldError, InvokeRequest
from worker.resolvers.base import InvalidInvocation, Resolution, invalid
from worker.resolvers.reproducing import expressible


@lru_cache(maxsize=256)
def _schedule(expression: str) -> croniter:
    """The parsed schedule, one per expression: parsing costs more than finding a firing, and
    a schedule is moved to each time it is asked about (`set_current`)."""
    return croniter(expression, 0, second_at_beginning=with_seconds(expression))


def _schedule_at(expression: str, moment: datetime) -> croniter:
    schedule = _schedule(expression)
    schedule.set_current(moment, force=True)
    return schedule


def _fires_at(expression: str, moment: datetime) -> bool:
    """True when the schedule fires exactly at `moment` (to the second)."""
    following = _schedule_at(expression, moment - timedelta(seconds=1)).get_next(datetime)
    return bool(following == moment)


# The latest firing found for each schedule and zone, and when the one after it falls (as
# POSIX times: aware datetimes of one zone compare by wall time, blind to a repeated hour).
# Requests come close together: each moment between the two has that firing as its latest.
_KNOWN_FIRINGS: dict[tuple[str, tzinfo | None], tuple[float, datetime, float]] = {}
_KNOWN_FIRINGS_KEPT = 1024


def most_recent_firing(expression: str, moment: datetime) -> datetime:
    """The latest time at or before `moment` at which the schedule fires."""
    floor = moment.replace(microsecond=0)
    if not with_seconds(expression):
        floor = floor.replace(second=0)
    key, at = (expression, floor.tzinfo), floor.timestamp()
    known = _KNOWN_FIRINGS.get(key)
    if known is not None and known[0] < at < known[2]:
        return known[1]
    latest = _most_recent_firing_afresh(expression, floor)
    following = _schedule_at(expression, latest).get_next(datetime)
    if len(_KNOWN_FIRINGS) >= _KNOWN_FIRINGS_KEPT:
        _KNOWN_FIRINGS.clear()
    _KNOWN_FIRINGS[key] = (latest.timestamp(), latest, following.timestamp())
    return latest


def _most_recent_firing_afresh(expression: str, floor: datetime) -> datetime:
    if _fires_at(expression, floor):
        return floor
    previous: datetime = _schedule_at(expression, floor).get_prev(datetime)
    return previous


# Schedules are looked at one firing either side of the time: the calendar must have room.
EARLIEST_YEAR, LATEST_YEAR = 1970, 2999


def _parse_time(text: str, zone: ZoneInfo, path: str = "/parameters/scheduled_time") -> datetime:
    """An `iso-date-time` (the schema's format, so one grammar judges both); a time without
    an offset is read in the trigger's time zone."""
    moment = parse_date_time(text)
    if moment is None:
        raise invalid(path, FORMAT_MESSAGES["iso-date-time"], "format")
    if not EARLIEST_YEAR < moment.year < LATEST_YEAR:
        raise invalid(
            path,
            f"must lie after {EARLIEST_YEAR} and before {LATEST_YEAR}: {text!r}",
            "out_of_range",
        )
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


class CronResolver(CronKind):
    def resolve(
        self, config: dict[str, Any], parameters: dict[str, Any], request: InvokeRequest
    ) -> Resolution:
        # The document's overrides: another schedule or zone, the tick's time, its type.
        checks = (("cron_expression", expression_problem), ("timezone", zone_problem))
        if errors := [
            FieldError(path=f"/parameters/{name}", code="format", message=problem)
            for name, check in checks
            if name in parameters and (problem := check(parameters[name]))
        ]:
            raise InvalidInvocation(errors)
        expression: str = parameters.get("cron_expression", config["schedule"])
        zone = ZoneInfo(parameters.get("timezone", config.get("timezone", "UTC")))
        warnings = [
            f"{name} {parameters[name]!r} overrides the trigger's {own!r}"
            for name, own in (
                ("cron_expression", config["schedule"]),
                ("timezone", config.get("timezone", "UTC")),
            )
            if name in parameters and parameters[name] != own
        ]
        if "trigger_time" in parameters:
            requested = _parse_time(parameters["trigger_time"], zone, "/parameters/trigger_time")
        else:
            requested = request.requested_at.astimezone(zone)
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
            "execution_type": parameters["execution_type"],
            "cron_expression": expression,
            "timezone": zone.key,
        }
        return Resolution(
            trigger_data=trigger_data,
            input_data={
                "scheduled_time": trigger_data["scheduled_time"],
                "trigger_time": trigger_data["trigger_time"],
            },
            metadata={
                "original_schedule": config["schedule"],
                "invoked_at": request.requested_at.isoformat(),
            },
            warnings=warnings,
        )

    def params_from(self, trigger_data: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        """The firing's scheduled and tick times and execution type; its schedule and time
        zone where they are not the trigger's own; and leave to be off schedule if it was."""
        parameters = {
            name: trigger_data[name]
            for name in ("scheduled_time", "trigger_time", "execution_type")
            if isinstance(trigger_data.get(name), str)
        }
        own = {"cron_expression": config.get("schedule"), "timezone": config.get("timezone", "UTC")}
        checks = (("cron_expression", expression_problem), ("timezone", zone_problem))
        for name, problem in checks:
            value = trigger_data.get(name)
            if value != own[name] and isinstance(value, str) and problem(value) is None:
                parameters[name] = value
        expression = parameters.get("cron_expression", own["cron_expression"])
        zone = parameters.get("timezone", own["timezone"])
        for name in ("scheduled_time", "trigger_time"):
            if name in parameters and _moment(parameters[name], zone) is None:
                del parameters[name]  # no time a request can name
        scheduled = _moment(parameters.get("scheduled_time"), zone)
        if scheduled is not None and not (
            expression_problem(expression) is None and _fires_at(expression, scheduled)
        ):
            parameters["allow_off_schedule"] = True
        return expressible(self, config, parameters)


def _moment(text: Any, zone_name: Any) -> datetime | None:
    """The time as the resolver reads it, or None when it reads none."""
    if not isinstance(text, str) or zone_problem(zone_name) is not None:
        return None
    try:
        return _parse_time(text, ZoneInfo(zone_name))
    except InvalidInvocation:
        return None


RESOLVER = CronResolver()
