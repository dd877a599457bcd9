"""EMAIL's fast writer: wherever it writes a message, the bytes and headers are the `email`
package's own, and the message reads back as meant; everywhere else the package builds it.

Each case runs the resolver twice: as it runs (the fast writer when it applies) and with the
`email` package alone (`fast=False`). Both must give the same resolution or the same refusal.
"""

from __future__ import annotations

import base64
import string
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from contracts.kinds.email import EMAIL_SPEC
from contracts.models import InvokeRequest, TriggerType
from tests.factories import FIXED_TIME, demo_request, demo_trigger
from tests.unit.schema_strategies import FORMATS, parameters_of
from worker.resolvers import InvalidInvocation
from worker.resolvers.base import Resolution
from worker.resolvers.email import (
    RESOLVER,
    attachments_of,
    build_message,
    message_id_of,
)
from worker.resolvers.email_reading import read_back_errors
from worker.resolvers.email_writing import boundary, written_message

EMAIL = TriggerType.EMAIL
CONFIG = dict(demo_trigger(EMAIL).config)  # sender domains example.com and demo.example.com
PDF = base64.b64encode(b"%PDF-1.4 tiny").decode()


def outcome(config: dict[str, Any], parameters: dict[str, Any], request: Any, fast: bool) -> Any:
    """The resolution, or the refusal (its errors; another exception by type and text)."""
    try:
        return RESOLVER.resolve(config, parameters, request, fast=fast)
    except InvalidInvocation as exc:
        return ("refused", exc.errors)
    except Exception as exc:  # the two paths must fail alike, whatever the failure
        return (type(exc), str(exc))


def written(
    parameters: dict[str, Any], request: InvokeRequest
) -> tuple[str, dict[str, str]] | None:
    """The fast writer's message, None where it leaves the message to the `email` package."""
    try:
        attachments = attachments_of(parameters)
    except InvalidInvocation:
        return None
    return written_message(parameters, attachments, message_id_of(parameters, request), request)


def check_both_paths(
    config: dict[str, Any], parameters: dict[str, Any], request: InvokeRequest
) -> bool:
    """The resolver gives what the `email` package alone gives; a message the fast writer
    wrote is the package's byte for byte, and reads back as meant. Whether it wrote one."""
    fast = outcome(config, parameters, request, fast=True)
    packaged = outcome(config, parameters, request, fast=False)
    assert fast == packaged
    if not isinstance(packaged, Resolution):
        return False  # refused before any message is written, or by the read-back
    message = written(parameters, request)
    if message is None:
        return False
    raw, headers = message
    assert raw == packaged.trigger_data["raw_message"]
    assert headers == packaged.trigger_data["headers"]
    attachments = attachments_of(parameters)
    built = build_message(parameters, attachments, message_id_of(parameters, request), request)
    names = [name for name, _, _ in attachments]
    assert read_back_errors(built, raw, parameters, names) == []
    return True


def with_defaults(parameters: dict[str, Any]) -> dict[str, Any]:
    """As `prepare_invocation` passes them: the defaults, overridden key by key."""
    return {**RESOLVER.default_parameters(CONFIG), **parameters}


SPEC_EXAMPLES = [(example.parameters, True) for example in EMAIL_SPEC.parameter_examples]
HAND_MADE: list[tuple[dict[str, Any], bool]] = [
    ({}, True),
    ({"cc": ["a@example.com", "Bo Bee <b@demo.example.com>"]}, True),
    ({"body_html": "<p>Hello <b>there</b></p>\n<p>again</p>"}, True),
    (
        {
            "attachments": [
                "notes.txt",
                {"name": "exact.bin", "content": base64.b64encode(bytes(57)).decode()},
                {"name": "one-more.bin", "content": base64.b64encode(bytes(range(58))).decode()},
                {"name": "table.csv", "size": 300},
                {"name": "Report (final) v2.pdf", "content_type": "application/pdf"},
                {"name": "plain.txt", "content_type": "text/plain", "content": PDF},
            ]
        },
        True,
    ),
    ({"body_html": "<i>x</i>", "attachments": ["a.png", "b.tar.gz", "c.unknownext"]}, True),
    ({"headers": {"In-Reply-To": "<req-1@example.com>", "X-Priority": "1", "x-empty": ""}}, True),
    ({"subject": "", "body": ""}, True),
    ({"subject": "s" * 69}, True),  # "Subject: " and 69 characters: 78, the line limit
    ({"body": "tab\there\r\nCRLF\rCR\n\n" + "b" * 78}, True),
    ({"subject": "s" * 70}, False),  # folds
    ({"subject": "Caf\u00e9 menu"}, False),  # encoded on output
    ({"subject": "=?utf-8?q?Caf=C3=A9?="}, False),  # an encoded word, decoded for the headers
    ({"body": "b" * 79}, False),  # quoted-printable
    ({"body": "na\u00efve"}, False),  # 8bit
    ({"body": "form\x0cfeed"}, False),
    ({"body_html": "<p>" + "h" * 80 + "</p>"}, False),
    ({"attachments": ["r\u00e9sum\u00e9.pdf"]}, False),  # RFC 2231
    ({"attachments": ['say "hi".txt']}, False),  # escaped in the quoted name
    ({"attachments": ["n" * 40 + ".pdf"]}, False),  # folds
    ({"attachments": [{"name": "x.eml", "content_type": "message/rfc822"}]}, False),
    ({"from": "Jane Q. Doe <jane@example.com>"}, False),  # the display name is quoted
    ({"to": ["support@demo.example.com", "Fran\u00e7oise <f@example.com>"]}, False),
    ({"cc": [f"person{i}@example.com" for i in range(4)]}, False),  # folds
    ({"headers": {"Reply-To": "help@example.com"}}, False),  # an address header
    ({"headers": {"X-Long": "v" * 80}}, False),
]


@pytest.mark.parametrize(("parameters", "fast"), SPEC_EXAMPLES + HAND_MADE)
def test_the_fast_writer_writes_what_the_email_package_writes(
    parameters: dict[str, Any], fast: bool
) -> None:
    request = demo_request(EMAIL, parameters=parameters, invocation_id="golden-email")
    assert check_both_paths(CONFIG, with_defaults(parameters), request) is fast


@pytest.mark.parametrize("nested", [False, True])
def test_a_body_holding_a_boundary_is_left_to_the_email_package(nested: bool) -> None:
    request = demo_request(EMAIL, invocation_id="boundary-in-body")
    separator = boundary(request, 1 if nested else 0)
    parameters = with_defaults(
        {"body": f"--{separator}\nsmuggled", "body_html": "<p>x</p>", "attachments": ["a.txt"]}
    )
    if not nested:
        parameters["attachments"] = []
    assert check_both_paths(CONFIG, parameters, request) is False


def test_a_date_the_email_package_rewrites_is_left_to_it() -> None:
    odd = datetime(99, 1, 2, 3, 4, 5, tzinfo=UTC)  # reads back as 1999
    request = demo_request(EMAIL, requested_at=odd)
    assert check_both_paths(CONFIG, with_defaults({}), request) is False


# Generated parameters lean to the common case: most draws take only plain values, and the
# rest mix in what the fast writer must leave alone (non-ASCII, long lines, control
# characters, encoded words, names to quote or encode, headers the package parses itself).
PRINTABLE = "".join(map(chr, range(0x20, 0x7F)))
ODD = '\t\x0b\x0c\x1c\x7f\u00e9\u00fc\u2713\u2028\x85=?"\\;,.<>@() '
ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"


def text(plain: bool, max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    alphabet = st.sampled_from(PRINTABLE) if plain else st.sampled_from(PRINTABLE + ODD * 3)
    return st.text(alphabet, min_size=min_size, max_size=max_size)


def body(plain: bool) -> st.SearchStrategy[str]:
    line = text(plain, 80) | st.sampled_from(["", ".", "From me", "--", "\tindented"])
    lines = st.lists(line, max_size=6)
    separators = st.sampled_from(["\n", "\r\n", "\r"])
    return st.tuples(lines, separators).map(lambda pair: pair[1].join(pair[0]))


def mailbox(plain: bool) -> st.SearchStrategy[str]:
    word = st.text(st.sampled_from(ATEXT), min_size=1, max_size=8)
    label = st.text(st.sampled_from(string.ascii_letters + string.digits + "-"), min_size=1)
    domain = st.lists(label, min_size=2, max_size=3).map(".".join) | st.just("example.com")
    address = st.tuples(st.lists(word, min_size=1, max_size=2), domain).map(
        lambda pair: ".".join(pair[0]) + "@" + pair[1]
    )
    names = st.lists(word, max_size=2)
    named = st.tuples(names.map(" ".join), address).map(
        lambda pair: f"{pair[0]} <{pair[1]}>" if pair[0] else pair[1]
    )
    odd = FORMATS["mailbox"] | st.sampled_from(
        ['"Doe, Jane" <jane@example.com>', "Jane  Two <j@example.com>", "<bare@example.com>"]
    )
    return named if plain else named | odd


def attachment(plain: bool) -> st.SearchStrategy[Any]:
    stem = st.text(st.sampled_from(string.ascii_letters + string.digits + "-_. ()+"), max_size=30)
    suffix = st.sampled_from([".pdf", ".png", ".txt", ".tar.gz", ".unknownext", ""])
    name = st.tuples(stem, suffix).map("".join) | text(True, 34)
    if not plain:
        name = name | text(False, 40)
    types = ["application/pdf", "text/plain", "Image/PNG", "x_y/a.b+c", "multipart/mixed"]
    content = st.binary(max_size=200).map(lambda data: base64.b64encode(data).decode())
    return name | st.fixed_dictionaries(
        {"name": name},
        optional={"content_type": st.sampled_from(types), "content": content},
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], InvokeRequest]:
    plain_case = draw(st.integers(0, 7)) > 0

    def plain() -> bool:
        return plain_case or draw(st.booleans())

    names = ["In-Reply-To", "References", "X-Tag", "x-tag"]
    if not plain():
        names += ["Reply-To", "Sender", "Resent-Date"]  # headers the package parses itself
    parameters = {
        "from": draw(mailbox(plain())),
        "to": draw(st.lists(mailbox(plain()), min_size=1, max_size=2)),
        "cc": draw(st.lists(mailbox(plain()), max_size=2)),
        "subject": draw(text(plain(), 72)),
        "body": draw(body(plain())),
        "body_html": draw(st.none() | body(plain())),
        "attachments": draw(st.lists(attachment(plain()), max_size=3)),
        "headers": draw(st.dictionaries(st.sampled_from(names), text(plain(), 40), max_size=2)),
    }
    zones = st.just(UTC) | st.integers(-86399, 86399).map(lambda s: timezone(timedelta(seconds=s)))
    when = FIXED_TIME if plain() else draw(st.datetimes(timezones=zones))
    invocation = str(draw(st.uuids()))
    return parameters, demo_request(EMAIL, invocation_id=invocation, requested_at=when)


def test_generated_messages_are_the_email_packages_own() -> None:
    took = {True: 0, False: 0}

    @given(cases())
    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def check(case: tuple[dict[str, Any], InvokeRequest]) -> None:
        parameters, request = case
        fast = check_both_paths({}, parameters, request)
        event("fast writer" if fast else "email package")
        took[fast] += 1

    check()
    # A writer that never applies would pass every comparison: most plain cases must take it.
    assert took[True] >= 0.35 * (took[True] + took[False]), took
    assert took[False] > 0, took


def test_schema_drawn_parameters_resolve_alike_on_both_paths() -> None:
    schema = RESOLVER.parameter_schema(CONFIG)

    @given(parameters_of(schema), st.uuids())
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def check(parameters: dict[str, Any], invocation: uuid.UUID) -> None:
        request = demo_request(EMAIL, parameters=parameters, invocation_id=str(invocation))
        check_both_paths(CONFIG, with_defaults(parameters), request)

    check()
