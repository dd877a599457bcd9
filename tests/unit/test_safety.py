"""Limits on what may come in, and URLs that may not point inward."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.models import TriggerType
from tests.factories import demo_request, demo_trigger
from worker.resolvers import InvalidInvocation, prepare_invocation
from worker.safety import (
    MAX_BODY_BYTES,
    MAX_DEPTH,
    MAX_STRING,
    MAX_VALUES,
    TooLarge,
    parse_json,
    shape_errors,
    url_problem,
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
    ],
)
def test_inward_and_non_http_urls_are_refused(url: str) -> None:
    assert url_problem(url) is not None


@pytest.mark.parametrize(
    "url", ["https://example.com/hook", "http://93.184.216.34/", "https://[2606:4700::1111]/"]
)
def test_public_http_urls_pass(url: str) -> None:
    assert url_problem(url) is None


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
