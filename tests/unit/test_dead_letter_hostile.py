"""A dead letter is whatever something else could not handle: any body and any headers must be
summarised, and whatever it holds must reach the operator's terminal as inert text."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from io import StringIO
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from contracts.models import InvokeRequest, TriggerEvent, TriggerType
from worker.cli.common import json_text, printable, terminal_text
from worker.replay import (
    MALFORMED_X_DEATH,
    DeadLetter,
    DeadLetterQueue,
    Filters,
    ReplayOptions,
    ReplayOutcome,
    letters,
)
from worker.replay.sending import republish, through_worker


@dataclass
class Message:
    """The part of an incoming message a DeadLetter reads."""

    body: bytes
    headers: Any = None
    routing_key: str | None = "webhook.wf.trig"
    processed: bool = False


def letter(
    body: bytes, headers: Any = None, kind: DeadLetterQueue = DeadLetterQueue.events
) -> DeadLetter:
    return DeadLetter.of(cast(Any, Message(body, headers)), kind)


def event_body(event_id: str = "ev-1") -> bytes:
    return TriggerEvent(
        event_id=event_id,
        workflow_id="wf",
        trigger_id="trig",
        trigger_type=TriggerType.WEBHOOK,
        occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        trigger_data={"body": {"n": 1}},
    ).body()


def request_body(user_id: str = "alice") -> bytes:
    return InvokeRequest(
        invocation_id="inv-1",
        workflow_id="wf",
        trigger_id="trig",
        user_id=user_id,
        requested_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    ).body()


RABBIT_DEATH = {
    "count": 2,
    "reason": "rejected",
    "queue": "scheduler.trigger-events",
    "time": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    "exchange": "trigger-events",
    "routing-keys": ["webhook.wf.trig"],
}

# What a terminal must never receive raw: C0, DEL, C1, bidi overrides, line separators, and
# lone surrogates (which cannot even be encoded).
UNSAFE = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]}
UNSAFE |= set("\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e")
UNSAFE |= set("\u2066\u2067\u2068\u2069")


def unsafe_in(text: str) -> set[str]:
    return {c for c in text if c in UNSAFE or unicodedata.category(c) == "Cs"}


def rendered(value: Any) -> str:
    """What the CLI's console writes for a value, without styles or wrapping."""
    buffer = StringIO()
    console = Console(file=buffer, width=1_000_000, emoji=False, color_system=None)
    console.print(terminal_text(value), end="", soft_wrap=True)
    return buffer.getvalue()


def test_a_well_formed_dead_letter_reads_as_rabbitmq_wrote_it() -> None:
    found = letter(event_body(), {"x-death": [RABBIT_DEATH], "x-first-death-reason": "rejected"})
    assert found.event is not None and found.problems == []
    assert (found.reason, found.queue, found.exchange) == (
        "rejected",
        "scheduler.trigger-events",
        "trigger-events",
    )
    assert (found.count, found.died_at) == (2, RABBIT_DEATH["time"])
    assert found.summary()["problem"] is None


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000],
    ids=["array", "object"],
)
def test_a_body_nested_100000_deep_is_summarised_without_recursing(body: bytes) -> None:
    found = letter(body, {"x-death": [RABBIT_DEATH]})
    assert not found.parses and found.problems == ["body nested deeper than 64 levels"]
    assert found.summary()["problem"] == "body nested deeper than 64 levels"
    assert Filters(matches=[(["a"], 1)]).accept(found) is False


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"\xff\xfe not json", "body is not JSON"),
        (b'{"n": NaN}', "body is not JSON"),  # printed as --json, NaN would not be JSON
        (b"", "body is not JSON"),
        (b'["[[[[", "\\"{{{{"]', None),  # brackets in strings do not count
    ],
)
def test_a_body_that_is_not_json_is_named_as_such(body: bytes, problem: str | None) -> None:
    assert letter(body).summary()["problem"] == problem


@pytest.mark.parametrize(
    "headers",
    [
        {"x-death": "rejected"},
        {"x-death": {"count": 1}},
        {"x-death": ["rejected", 5]},
        {"x-death": [{**RABBIT_DEATH, "count": "5"}]},
        {"x-death": [{**RABBIT_DEATH, "count": True}]},
        {"x-death": [{**RABBIT_DEATH, "count": -1}]},
        {"x-death": [{**RABBIT_DEATH, "time": "yesterday"}]},
        {"x-death": [{**RABBIT_DEATH, "routing-keys": "webhook.wf.trig"}]},
        {"x-death": [{**RABBIT_DEATH, "routing-keys": []}]},
        {"x-death": [{**RABBIT_DEATH, "reason": ["rejected"]}]},
        {"x-death": [{**RABBIT_DEATH}], "x-first-death-queue": 7},
    ],
)
def test_malformed_death_headers_are_ignored_and_named(headers: dict[str, Any]) -> None:
    found = letter(event_body(), headers)
    assert found.event is not None  # the body is still read
    assert MALFORMED_X_DEATH in found.problems
    assert found.count >= 1 and isinstance(found.reason, str)
    assert isinstance(found.routing_key, str)


def test_a_death_without_a_reason_says_its_headers_are_malformed() -> None:
    assert letter(b"{}", {"x-death": 3}).reason == MALFORMED_X_DEATH
    assert letter(b"{}", {"x-death": 3, "x-first-death-reason": "maxlen"}).reason == "maxlen"


async def test_a_replay_refuses_a_letter_it_cannot_trust_and_goes_on() -> None:
    options = ReplayOptions(user_id="replayer", filters=Filters())
    unused: Any = None  # neither the broker nor a worker is asked
    forged = letter(event_body(), {"x-death": "forged"})
    assert await republish(unused, forged, "replayer", "guest") is ReplayOutcome.MALFORMED_X_DEATH
    not_utf8 = letter(event_body(), {"x-death": [RABBIT_DEATH], "note": b"\xff\x1b"})
    assert not_utf8.problems == []  # read, but it cannot be sent back as it came
    refused = await republish(unused, not_utf8, "replayer", "guest")
    assert refused is ReplayOutcome.UNPUBLISHABLE_HEADERS
    deep = letter(b"[" * 100_000 + b"]" * 100_000, {"x-death": [RABBIT_DEATH]})
    outcome = await through_worker(unused, deep, options, "", unused)
    assert outcome is ReplayOutcome.NOT_A_TRIGGER_EVENT
    nul = letter(event_body("ev-\x00"), {"x-death": [RABBIT_DEATH]})
    assert nul.event is not None  # parses, but a request cannot carry its id
    assert await through_worker(unused, nul, options, "", unused) is ReplayOutcome.INVALID_EVENT


# --- properties -----------------------------------------------------------------------------

controls = st.characters(codec="utf-8") | st.sampled_from(sorted(UNSAFE))
hostile_text = st.text(controls, max_size=30) | st.sampled_from(
    ["\x1b]0;pwned\x07", "\x1b[2J", "\x9b31m", "[bold red]x[/]", ":smile:", "a\\", "\ud800"]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | hostile_text
    | st.binary(max_size=20)
    | st.datetimes(timezones=st.none() | st.just(UTC))
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=12,
)
death_tables = st.fixed_dictionaries(
    {},
    optional={
        key: values | st.just(RABBIT_DEATH[key])
        for key in ("count", "reason", "queue", "time", "exchange", "routing-keys")
    },
)
x_death = values | st.lists(death_tables | values, max_size=3)
headers = st.none() | st.fixed_dictionaries(
    {},
    optional={
        "x-death": x_death,
        "x-first-death-reason": values,
        "x-first-death-queue": values,
        "x-first-death-exchange": values,
        "x-delivery-count": values,
    },
)


def json_bodies() -> st.SearchStrategy[bytes]:
    """Bodies that parse, or nearly: events and requests with hostile ids, JSON values, deep
    nesting, bytes."""
    ids = hostile_text.filter(lambda t: len(t) > 0 and "\ud800" not in t and "\x00" not in t)
    events = ids.map(event_body) | ids.map(request_body)
    documents = values.map(lambda v: json.dumps(v, default=str).encode(errors="replace"))
    deep = st.integers(0, 3000).map(lambda n: b"[" * n + b"]" * n)
    return events | documents | deep | st.binary(max_size=200)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=json_bodies(), headers=headers, kind=st.sampled_from(DeadLetterQueue))
def test_any_body_and_headers_give_a_summary_printed_inertly(
    body: bytes, headers: Any, kind: DeadLetterQueue
) -> None:
    found = letter(body, headers, kind)
    summary = found.summary()
    assert isinstance(summary["count"], int) and summary["count"] >= 1
    shown = json_text({**summary, "event": found.document})
    assert not unsafe_in(shown.replace("\n", ""))  # its own line breaks (strings hold none)
    assert json.loads(shown) == json.loads(json.dumps({**summary, "event": found.document}))
    for value in summary.values():
        assert not unsafe_in(rendered(value))


@given(st.text(controls))
def test_printable_leaves_no_control_character(text: str) -> None:
    assert not unsafe_in(printable(text))
    assert not unsafe_in(rendered(text))


@given(st.text(st.characters(codec="utf-8")).filter(lambda t: not unsafe_in(t)))
def test_printable_text_prints_exactly_as_it_reads(text: str) -> None:
    assert printable(text) == text
    assert rendered(text) == text  # markup such as `[bold]` and `:smile:` is not obeyed


@given(values)
def test_json_output_stays_valid_json_without_control_characters(value: Any) -> None:
    try:
        expected = json.loads(json.dumps(value, default=str))
    except ValueError:  # NaN or Infinity: not JSON in the first place
        return
    shown = json_text(json.loads(json.dumps(value, default=str)))
    assert not unsafe_in(shown.replace("\n", ""))  # its own line breaks (strings hold none)
    assert json.loads(shown) == expected


# Text made of the pieces depth counting cares about: brackets, quotes, escapes, filler.
json_ish = st.text(alphabet=st.sampled_from('[]{}"\\ a,:'), max_size=300)


@settings(max_examples=500)
@given(json_ish, st.integers(min_value=0, max_value=20))
def test_counting_opening_brackets_never_lets_a_deeper_body_through(text: str, limit: int) -> None:
    # Whenever the cheap count says "at most `limit` deep", the string-aware scan agrees
    if letters._opens_at_most(text, limit):
        assert letters._depth(text) <= limit


def test_a_shallow_body_with_many_brackets_is_read() -> None:
    # Past the count's bound, the scan decides: 201 siblings are 2 levels deep
    found = letter(b"[" + b"[]," * 200 + b"[]]", {"x-death": [RABBIT_DEATH]})
    assert found.document == [[]] * 201 and not found.problems
