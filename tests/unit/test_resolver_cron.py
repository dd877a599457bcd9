"""CRON: scheduled_time computed with croniter in the trigger's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.kinds.cron import with_seconds
from contracts.models import TriggerType
from tests.factories import demo_request, demo_trigger
from tests.unit.resolver_helpers import error_codes, error_paths
from worker.resolvers import InvalidInvocation, cron, prepare_invocation
from worker.resolvers.cron import most_recent_firing

CRON = TriggerType.CRON


def resolve(at: datetime, parameters: dict[str, Any] | None = None, **config: Any) -> Any:
    request = demo_request(CRON, parameters=parameters or {}, requested_at=at)
    return prepare_invocation(request, demo_trigger(CRON, **config))


def test_default_scheduled_time_is_the_latest_firing_in_the_trigger_zone() -> None:
    # Given the demo's "0 9 * * 1-5" in Europe/Berlin, asked on Saturday 2026-03-07 10:00 UTC
    prepared = resolve(datetime(2026, 3, 7, 10, 0, tzinfo=UTC))
    data = prepared.event.trigger_data
    # Then the run stands for Friday 09:00 Berlin time (08:00 UTC, winter offset +01:00)
    assert data == {
        "trigger_time": "2026-03-07T11:00:00+01:00",
        "scheduled_time": "2026-03-06T09:00:00+01:00",
        "execution_type": "manual_cron",
        "cron_expression": "0 9 * * 1-5",
        "timezone": "Europe/Berlin",
    }
    assert prepared.event.input_data["scheduled_time"] == data["scheduled_time"]
    assert prepared.warnings == []


def test_a_request_exactly_at_a_firing_stands_for_that_firing() -> None:
    at = datetime(2026, 3, 4, 8, 0, 0, 250_000, tzinfo=UTC)  # Wednesday 09:00:00.25 Berlin
    data = resolve(at).event.trigger_data
    assert data["scheduled_time"] == "2026-03-04T09:00:00+01:00"


def test_summer_time_is_honoured() -> None:
    data = resolve(datetime(2026, 7, 1, 12, 0, tzinfo=UTC)).event.trigger_data
    assert data["scheduled_time"] == "2026-07-01T09:00:00+02:00"


def test_six_field_expressions_have_seconds_first() -> None:
    moment = datetime(2026, 3, 4, 9, 0, 45, tzinfo=UTC)
    assert most_recent_firing("30 0 9 * * *", moment) == datetime(2026, 3, 4, 9, 0, 30, tzinfo=UTC)
    data = resolve(moment, schedule="*/15 * * * * *", timezone="UTC").event.trigger_data
    assert data["scheduled_time"] == "2026-03-04T09:00:45+00:00"


def test_a_given_scheduled_time_must_be_on_the_schedule() -> None:
    at = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)
    ok = resolve(at, {"scheduled_time": "2026-03-02T09:00:00"})  # Monday, no offset: Berlin
    assert ok.event.trigger_data["scheduled_time"] == "2026-03-02T09:00:00+01:00"
    with pytest.raises(InvalidInvocation) as exc:
        resolve(at, {"scheduled_time": "2026-03-01T09:00:00+01:00"})  # a Sunday
    assert error_paths(exc) == ["/parameters/scheduled_time"]
    assert error_codes(exc) == ["off_schedule"]


def test_off_schedule_times_pass_when_allowed_and_future_ones_warn() -> None:
    at = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)
    prepared = resolve(at, {"scheduled_time": "2026-04-01T12:34:00Z", "allow_off_schedule": True})
    assert prepared.event.trigger_data["scheduled_time"] == "2026-04-01T14:34:00+02:00"
    assert prepared.warnings == ["scheduled_time is later than the time of the request"]


def test_a_malformed_scheduled_time_is_400() -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve(datetime(2026, 3, 7, tzinfo=UTC), {"scheduled_time": "next tuesday"})
    assert error_paths(exc) == ["/parameters/scheduled_time"]


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"schedule": "61 * * * *"}, "/trigger_config/schedule"),
        ({"schedule": "every day"}, "/trigger_config/schedule"),
        ({"schedule": None}, "/trigger_config/schedule"),
        ({"timezone": "Mars/Olympus_Mons"}, "/trigger_config/timezone"),
    ],
)
def test_a_broken_trigger_config_is_a_clear_error(config: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve(datetime(2026, 3, 7, tzinfo=UTC), **config)
    assert error_paths(exc) == [path]


def test_the_documents_overrides_are_accepted_and_reported() -> None:
    event = resolve(
        datetime(2026, 3, 4, 12, 0, tzinfo=UTC),
        {
            "timezone": "America/New_York",
            "cron_expression": "30 6 * * *",
            "trigger_time": "2026-03-04T07:00:00",
            "execution_type": "backfill",
        },
    ).event
    data = event.trigger_data
    assert data["timezone"] == "America/New_York"
    assert data["cron_expression"] == "30 6 * * *"
    assert data["trigger_time"] == "2026-03-04T07:00:00-05:00"
    assert data["scheduled_time"] == "2026-03-04T06:30:00-05:00"  # from the overriding schedule
    assert data["execution_type"] == "backfill"
    assert event.metadata["original_schedule"] == "0 9 * * 1-5"  # the trigger's own


@pytest.mark.parametrize(
    ("parameters", "path"),
    [
        ({"timezone": "Mars/Olympus"}, "/parameters/timezone"),
        ({"cron_expression": "every day"}, "/parameters/cron_expression"),
        ({"cron_expression": "61 * * * *"}, "/parameters/cron_expression"),
        ({"trigger_time": "yesterday"}, "/parameters/trigger_time"),
        ({"trigger_time": "0001-01-01T00:00:00"}, "/parameters/trigger_time"),
        ({"execution_type": "Not Snake"}, "/parameters/execution_type"),
    ],
)
def test_bad_overrides_are_400_at_their_path(parameters: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve(datetime(2026, 3, 4, 12, 0, tzinfo=UTC), parameters)
    assert path in error_paths(exc)


# The latest firing is remembered per schedule and zone, with the next one after it. Whatever
# the order of the moments asked about, around the changes of summer time too, the answer is
# the one computed afresh.
_EXPRESSIONS = ["0 2 * * *", "30 1 * * *", "*/5 * * * *", "0 */3 * * *", "15 2,3 * * *",
                "*/15 * * * * *", "0 0 1 * *", "59 23 * * 0", "0 1-3 * * *",
                "*/7 1-2 * * *"]  # fmt: skip
_ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC", "America/Santiago"]
_CHANGES = [datetime(2026, 3, 8, 7), datetime(2026, 11, 1, 6), datetime(2026, 3, 29, 1),
            datetime(2026, 10, 25, 1), datetime(2026, 4, 4, 15),
            datetime(2026, 9, 6, 4)]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_EXPRESSIONS),
    st.sampled_from(_CHANGES),
    st.lists(st.tuples(st.integers(-3 * 3600, 3 * 3600), st.sampled_from(_ZONES)), min_size=1),
)
def test_a_remembered_firing_is_the_one_computed_afresh(
    expression: str, change: datetime, moments: list[tuple[int, str]]
) -> None:
    cron._KNOWN_FIRINGS.clear()
    for offset, zone in moments:
        moment = (change.replace(tzinfo=UTC) + timedelta(seconds=offset)).astimezone(ZoneInfo(zone))
        floor = moment.replace(microsecond=0)
        if not with_seconds(expression):
            floor = floor.replace(second=0)
        found = most_recent_firing(expression, moment)
        afresh = cron._most_recent_firing_afresh(expression, floor)
        assert (found.isoformat(), found.timestamp()) == (afresh.isoformat(), afresh.timestamp())
