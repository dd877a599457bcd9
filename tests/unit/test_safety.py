"""Limits on what may come in, and URLs that may not point inward."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.documents import storable_problems
from contracts.models import TriggerType
from tests.factories import demo_request, demo_trigger
from worker import safety
from worker.resolvers import InvalidInvocation, prepare_invocation
from worker.safety import (
    MAX_BODY_BYTES,
    MAX_DEPTH,
    MAX_KEY_LENGTH,
    MAX_STRING,
    MAX_VALUES,
    TooLarge,
    parse_json,
    plainly_safe,
    shape_errors,
    url_errors,
    url_like,
    url_problem,
    walked_url_errors,
)


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


def test_nesting_up_to_the_limit_is_fine_and_one_more_is_not() -> None:
    assert shape_errors(nested(MAX_DEPTH), "/p") == []
    (error,) = shape_errors(nested(MAX_DEPTH + 1), "/p")
    assert error.code == "too_deep"
    assert error.path == "/p" + "/a" * (MAX_DEPTH + 1)


def test_too_many_values_is_reported_once_at_the_root() -> None:
    (error,) = shape_errors({"list": list(range(MAX_VALUES))}, "/parameters")
    assert (error.path, error.code) == ("/parameters", "too_many_values")
    assert shape_errors({"list": list(range(MAX_VALUES - 2))}, "/parameters") == []


def test_overlong_strings_are_reported_at_their_path() -> None:
    errors = shape_errors({"body": {"text": "x" * (MAX_STRING + 1)}, "ok": "y"}, "/parameters")
    assert [(e.path, e.code) for e in errors] == [("/parameters/body/text", "string_too_long")]


def test_member_names_up_to_the_limit_are_fine_and_a_longer_one_is_a_budget() -> None:
    assert shape_errors({"body": {"k" * MAX_KEY_LENGTH: 1}}, "/parameters") == []
    long = "k" * (MAX_KEY_LENGTH + 1)
    (error,) = shape_errors({"body": {"ok": "\u0000", long: 1}}, "/parameters")
    # The budget is found first and alone (before the NUL), at the name's first 64 characters
    assert (error.path, error.code) == ("/parameters/body/" + "k" * 64, "name_too_long")
    assert str(MAX_KEY_LENGTH) in error.message


def test_parse_json_refuses_big_bodies_and_survives_absurd_nesting() -> None:
    with pytest.raises(TooLarge):
        parse_json(b" " * (MAX_BODY_BYTES + 1))
    with pytest.raises(ValueError, match="nested"):
        parse_json(b"[" * 500_000 + b"]" * 500_000)
    assert parse_json(b'{"a": [1]}') == {"a": [1]}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/admin",
        "http://localhost:8080/",
        "http://api.localhost/",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",  # CGNAT
        "http://169.254.169.254/latest/meta-data/",  # AWS/GCP/Azure metadata
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
        "http://[::ffff:a9fe:a9fe]/",  # mapped metadata address
        "http://[fe80::1%25eth0]/",  # link-local with a zone id
        "http://[fd00:ec2::254]/",  # AWS IPv6 metadata
        "http://2130706433/",  # decimal 127.0.0.1
        "http://0177.0.0.1/",  # octal
        "http://0x7f.1/",  # hex, short form
        "http://127.1/",
        "http://0/",
        "ftp://example.com/file",
        "file:///etc/passwd",
        "gopher://example.com/",
        "http:///nohost",
        "http://jenkins/",  # a single-label name: the search domains make it an intranet host
        # Spellings that WHATWG parsers (browsers, Node fetch, httpx) or urllib-based clients
        # (requests, urllib, curl-like) all send to an internal address:
        "http://%31%32%37.0.0.1/",
        "http://loca%6chost/",
        " http://127.0.0.1/",
        "\thttp://127.0.0.1/",
        "h\ttp://127.0.0.1/",
        "http://127\u30020\u30020\u30021/",  # ideographic full stops
        "http://\uff11\uff12\uff17.0.0.1/",  # full-width digits
        "http://127\uff0e0\uff0e0\uff0e1/",  # full-width full stops
        "http://\u24c1\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3/",  # circled letters
        "http:/127.0.0.1/",
        "http:127.0.0.1",
        "HTTP://127.0.0.1/",
        "http://127.0.0.1:80\\@example.com/",  # WHATWG reads \\ as /: the host is 127.0.0.1
        "http://example.com@127.0.0.1/",
        "http://127.0.0.1./",
        "http://localhost./",
        "http://LOCALHOST/",
        "http://[0:0:0:0:0:ffff:7f00:1]/",
        "http://0x7f000001/",
        "https://169.254.169.254.",
        "ws://127.0.0.1:6379/",
        "wss://example.com/",  # only http(s)
    ],
)
def test_inward_and_non_http_urls_are_refused(url: str) -> None:
    assert url_problem(url) is not None


@pytest.mark.parametrize(
    "url", ["https://example.com/hook", "http://93.184.216.34/", "https://[2606:4700::1111]/"]
)
def test_public_http_urls_pass(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize(
    "text",
    [
        "Re: the deploy",  # a scheme-like word, but no client fetches it
        "note:127.0.0.1",
        "127.0.0.1:8080",
        "see http://localhost:3000 in the docs",  # prose that mentions a URL is prose
        "http: the protocol",  # a WHATWG parser refuses it: nothing can be fetched
        "urn:isbn:0451450523",
    ],
)
def test_text_that_no_client_would_fetch_is_not_judged_as_a_url(text: str) -> None:
    assert url_errors({"text": text}, "") == []


def test_urls_in_member_names_and_slack_link_markup_are_judged_too() -> None:
    value = {
        "body": {"http://127.0.0.1/": "x", "https://example.com/": "fine"},
        "text": "see <http://169.254.169.254/latest|the docs> and <https://example.com|this>",
        "mention": "<@U0DEMOBOT> <#C0DEMO001|general>",
    }
    assert sorted((e.path, e.code) for e in url_errors(value, "/parameters")) == [
        ("/parameters/body/http:~1~1127.0.0.1~1", "unsafe_url"),
        ("/parameters/text", "unsafe_url"),
    ]


@pytest.mark.parametrize(
    ("value", "path", "code"),
    [
        ({"a": "\u0000"}, "/p/a", "unstorable_text"),
        ({"a": ["ok", "x\x00y"]}, "/p/a/1", "unstorable_text"),
        ({"a": "\ud800"}, "/p/a", "unstorable_text"),
        ({"a": "x\udfffy"}, "/p/a", "unstorable_text"),
        ({"k\x00": 1}, "/p/k\x00", "unstorable_text"),
        ({"a": float("nan")}, "/p/a", "number_out_of_range"),
        ({"a": [float("inf")]}, "/p/a/0", "number_out_of_range"),
        ({"a": float("-inf")}, "/p/a", "number_out_of_range"),
    ],
)
def test_what_postgresql_or_json_cannot_hold_is_refused_at_its_path(
    value: Any, path: str, code: str
) -> None:
    assert [(e.path, e.code) for e in shape_errors(value, "/p")] == [(path, code)]


def test_astral_characters_and_big_finite_numbers_are_fine() -> None:
    assert shape_errors({"emoji": "\U0001f680 \u00e9", "n": 1e308, "i": 10**40}, "") == []


@pytest.mark.parametrize("body", [b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}'])
def test_parse_json_refuses_what_json_does_not_have(body: bytes) -> None:
    with pytest.raises(ValueError, match="not a JSON number"):
        parse_json(body)


def test_every_unsafe_url_in_the_parameters_is_reported_with_its_path() -> None:
    request = demo_request(
        TriggerType.WEBHOOK,
        parameters={
            "body": {
                "callback": "http://169.254.169.254/",
                "ok": "https://example.com",
                "list": ["file:///etc/passwd"],
            },
            "source_ip": "127.0.0.1",
        },  # an address, not a URL: simulating it is fine
    )
    with pytest.raises(InvalidInvocation) as exc:
        prepare_invocation(request, demo_trigger(TriggerType.WEBHOOK))
    assert sorted((e.path, e.code) for e in exc.value.errors) == [
        ("/parameters/body/callback", "unsafe_url"),
        ("/parameters/body/list/0", "unsafe_url"),
    ]


def test_shape_limits_apply_before_the_schema() -> None:
    request = demo_request(TriggerType.WEBHOOK, parameters={"body": nested(MAX_DEPTH + 5)})
    with pytest.raises(InvalidInvocation) as exc:
        prepare_invocation(request, demo_trigger(TriggerType.WEBHOOK))
    assert [e.code for e in exc.value.errors] == ["too_deep"]


_TEXTS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "http://127.0.0.1/x",
            "https://example.com/ok",
            "git://github.com/o/r.git",
            "file:///etc/passwd",
            "HTTP://[::1]:80/",
            "ht\ttp://localhost/",
            "<http://10.0.0.1|a link>",
            "a\x00b",
            "\ud800",
            "2026-03-02T09:00:00Z",
            "mailto:someone@example.com",
        ]
    ),
)
_DOCUMENTS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _TEXTS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXTS, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(document=_DOCUMENTS, any_scheme=st.booleans())
def test_the_one_pass_check_never_passes_what_the_walks_refuse(
    document: Any, any_scheme: bool
) -> None:
    # The pass without paths decides alone in the common case: it may send a clean document
    # to the walks (they then find nothing), never let through one they would refuse.
    if plainly_safe(document, any_scheme=any_scheme):
        assert walked_url_errors(document, "", any_scheme=any_scheme) == []
    if plainly_safe(document, storable=True, any_scheme=any_scheme):
        assert walked_url_errors(document, "", any_scheme=any_scheme) == []
        assert list(storable_problems(document)) == []
    if plainly_safe(document, urls=False, storable=True):
        assert list(storable_problems(document)) == []


_LEADS = st.text(st.sampled_from([*'\t\n\r \x00\x1f{"1é']), max_size=3)
_SCHEMES = st.sampled_from(["http", "HTTPS", "h\ttp", "git", "file", "mailto", "x-1.a+b", ""])
_RESTS = st.text(st.sampled_from([*"//:/a.b \t\n1é"]), max_size=8)


@settings(max_examples=500, deadline=None)
@given(st.tuples(_LEADS, _SCHEMES, st.sampled_from([":", "://", ":/", ""]), _RESTS).map("".join))
def test_a_url_is_recognised_whatever_text_leads_it(text: str) -> None:
    """`url_like` looks at the first character before cleaning the whole text: the same
    verdict as cleaning first."""
    cleaned = text.strip(safety._C0_AND_SPACE).translate(safety._NO_TAB_OR_NEWLINE)
    found = safety._scheme(cleaned) if ":" in text else None
    expected = cleaned if found and (found[0] in safety._SPECIAL_SCHEMES or found[1]) else None
    assert url_like(text) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.tuples(
        _LEADS,
        st.sampled_from(["", "2026-03-02T09:00:00Z ", "note: ", "http://10.0.0.1/ ", "a:b "]),
        st.sampled_from(["", "<http://127.0.0.1|x>", "<https://example.com>", "<mailto:a@b>"]),
    ).map("".join),
    st.booleans(),
)
def test_a_text_s_url_verdict_is_the_full_one_whatever_it_starts_with(
    text: str, any_scheme: bool
) -> None:
    """Texts that neither start like a URL nor hold link markup skip the cache and the walk:
    the verdict is still the walk's."""
    assert safety._text_problem(text, any_scheme) == safety._judged_text(text, any_scheme)
