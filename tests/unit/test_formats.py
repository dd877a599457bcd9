"""The string formats, as the worker checks them: every case of contracts/formats/cases.json
(the panel's tests run the same cases), and what a refused value is told."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from contracts.formats import CASES_PATH, FORMAT_MESSAGES, parse_date_time
from contracts.kinds import SPECS
from contracts.models import TriggerType
from contracts.validation import validate

CASES: dict[str, Any] = json.loads(CASES_PATH.read_text())
FORMATS = [name for name in CASES if not name.startswith("$")]


def test_every_format_has_cases_and_a_message() -> None:
    assert (
        set(FORMATS)
        == set(FORMAT_MESSAGES)
        == {
            "iso-date-time",
            "mailbox",
            "base64",
            "ipv4",
            "ipv6",
        }
    )
    for name in FORMATS:
        assert CASES[name]["valid"] and CASES[name]["invalid"], name


@pytest.mark.parametrize(
    ("format_name", "value", "valid"),
    [
        (name, value, verdict == "valid")
        for name in FORMATS
        for verdict in ("valid", "invalid")
        for value in CASES[name][verdict]
    ],
)
def test_the_worker_checks_every_case_as_pinned(format_name: str, value: str, valid: bool) -> None:
    errors = validate({"type": "string", "format": format_name}, value, "/parameters/x")
    if valid:
        assert errors == []
    else:
        assert [(e.path, e.code, e.message) for e in errors] == [
            ("/parameters/x", "format", FORMAT_MESSAGES[format_name])
        ]


def test_a_format_says_nothing_of_other_types() -> None:
    for name in FORMATS:
        assert validate({"format": name}, 12) == []


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-03-02T09:00:00", datetime(2026, 3, 2, 9)),
        ("2026-03-02 09:00", datetime(2026, 3, 2, 9)),
        ("2026-03-02T09:00:00.5z", datetime(2026, 3, 2, 9, 0, 0, 500000, tzinfo=UTC)),
        (
            "2026-03-02T09:00:00-05:30",
            datetime(2026, 3, 2, 9, tzinfo=timezone(-timedelta(hours=5, minutes=30))),
        ),
    ],
)
def test_a_date_time_reads_as_the_moment_it_names(text: str, moment: datetime) -> None:
    parsed = parse_date_time(text)
    assert parsed == moment and (parsed.tzinfo is None) == (moment.tzinfo is None)


def test_format_errors_point_at_the_field_and_say_what_is_wanted() -> None:
    schema = SPECS[TriggerType.EMAIL].parameter_schema
    errors = validate(
        schema,
        {
            "from": "nobody",
            "cc": ["ok@example.com", "x"],
            "attachments": [{"name": "a", "content": "*"}],
        },
        "/parameters",
    )
    assert [(e.path, e.code) for e in errors] == [
        ("/parameters/attachments/0/content", "format"),
        ("/parameters/cc/1", "format"),
        ("/parameters/from", "format"),
    ]
    assert errors[2].message == "must be an email address like Alice <alice@example.com>"


def test_an_address_of_either_family_is_said_once() -> None:
    schema = SPECS[TriggerType.WEBHOOK].parameter_schema
    errors = validate(schema, {"source_ip": "localhost"}, "/parameters")
    assert [(e.path, e.code, e.message) for e in errors] == [
        (
            "/parameters/source_ip",
            "format",
            "must be an IPv4 address like 203.0.113.9 or an IPv6 address like 2001:db8::1",
        )
    ]


def test_a_scheduled_time_must_be_a_date_and_time() -> None:
    schema = SPECS[TriggerType.CRON].parameter_schema
    errors = validate(schema, {"scheduled_time": "2026-11-02"}, "/parameters")
    assert [(e.path, e.message) for e in errors] == [
        ("/parameters/scheduled_time", "must be a date and time like 2026-03-02T09:00:00+01:00")
    ]
