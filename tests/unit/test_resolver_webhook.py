"""WEBHOOK: the request a webhook ingress would have seen, signed when the trigger has a secret."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from contracts.models import TriggerType
from contracts.redaction import REDACTED
from tests.factories import FIXED_TIME, demo_request, demo_trigger
from tests.unit.resolver_helpers import error_paths
from worker.resolvers import InvalidInvocation, prepare_invocation
from worker.resolvers.signing import merge_headers

WEBHOOK = TriggerType.WEBHOOK


def resolve(parameters: dict[str, Any], **config: Any) -> dict[str, Any]:
    request = demo_request(WEBHOOK, parameters=parameters)
    return prepare_invocation(request, demo_trigger(WEBHOOK, **config)).event.trigger_data


def test_webhook_event_has_every_field_of_a_real_request() -> None:
    request = demo_request(
        WEBHOOK, parameters={"body": {"test": True}, "headers": {"X-Source": "manual-test"}}
    )
    prepared = prepare_invocation(request, demo_trigger(WEBHOOK, secret=None))
    data = prepared.event.trigger_data
    assert data == {
        "method": "POST",
        "headers": {
            "Content-Type": "application/json",
            "User-Agent": "Manual-Trigger-System/1.0",
            "X-Source": "manual-test",
            "X-Manual-Invocation": "true",
            "Content-Length": "13",
        },
        "body": {"test": True},
        "raw_body": '{"test":true}',
        "query_params": {},
        "source_ip": "127.0.0.1",
        "webhook_url": "/webhook/abc123",
        "trigger_time": FIXED_TIME.isoformat(),
    }
    assert prepared.event.input_data == {"test": True}
    assert prepared.resolved_parameters == data


def test_a_trigger_with_a_secret_signs_the_exact_body_bytes() -> None:
    data = resolve({"body": {"ü": "ß", "n": [1, 2]}}, secret="shh")
    raw = data["raw_body"].encode()
    expected = "sha256=" + hmac.new(b"shh", raw, hashlib.sha256).hexdigest()
    assert data["headers"]["X-Signature-256"] == expected
    assert data["headers"]["Content-Length"] == str(len(raw))


def test_the_signature_header_name_is_configurable() -> None:
    data = resolve(
        {"body": "x", "headers": {"Content-Type": "text/plain"}},
        secret="k",
        signature_header="X-Hook-Signature",
    )
    assert data["headers"]["X-Hook-Signature"].startswith("sha256=")
    assert "X-Signature-256" not in data["headers"]


def test_the_secret_stays_out_of_the_event() -> None:
    request = demo_request(WEBHOOK)
    event = prepare_invocation(request, demo_trigger(WEBHOOK)).event
    assert event.metadata["original_webhook_config"]["secret"] == REDACTED
    assert "demo-webhook-signing-secret" not in event.model_dump_json()


def test_form_bodies_are_form_encoded_and_parsed_back() -> None:
    data = resolve(
        {
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            "body": {"name": "Ada L", "topics": ["math", "engines"]},
        }
    )
    assert data["raw_body"] == "name=Ada+L&topics=math&topics=engines"
    assert data["body"] == {"name": "Ada L", "topics": ["math", "engines"]}


def test_text_bodies_are_sent_verbatim() -> None:
    data = resolve({"headers": {"content-type": "text/plain; charset=utf-8"}, "body": "ping\n"})
    assert data["raw_body"] == data["body"] == "ping\n"
    assert data["headers"]["content-type"] == "text/plain; charset=utf-8"


def test_a_json_string_body_is_taken_as_the_raw_json() -> None:
    data = resolve({"body": '{"a": 1}'})
    assert data["raw_body"] == '{"a": 1}'
    assert data["body"] == {"a": 1}


@pytest.mark.parametrize(
    "parameters",
    [
        {"body": "{not json"},
        {"headers": {"Content-Type": "text/plain"}, "body": {"a": 1}},
        {"headers": {"Content-Type": "application/x-www-form-urlencoded"}, "body": {"a": {"b": 1}}},
    ],
    ids=["bad-json", "object-as-text", "nested-form"],
)
def test_bodies_that_do_not_fit_their_content_type_are_400(parameters: dict[str, Any]) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve(parameters)
    assert error_paths(exc) == ["/parameters/body"]


def test_headers_merge_case_insensitively_and_the_marker_cannot_be_removed() -> None:
    headers = resolve(
        {"headers": {"content-type": "text/plain", "X-Manual-Invocation": "false"}, "body": ""},
        headers={"x-team": "core", "user-agent": "Ingress/2"},
        secret=None,
    )["headers"]
    assert headers == {
        "content-type": "text/plain",
        "user-agent": "Ingress/2",
        "x-team": "core",
        "X-Manual-Invocation": "true",
        "Content-Length": "0",
    }


def test_merge_headers_keeps_the_winning_spelling() -> None:
    assert merge_headers({"A-B": "1"}, {"a-b": "2"}) == {"a-b": "2"}


def test_webhook_method_defaults_to_the_trigger_config() -> None:
    assert resolve({}, method="PUT")["method"] == "PUT"


@pytest.mark.parametrize(
    ("parameters", "expected_paths"),
    [
        ({"method": "TELEPORT"}, ["/parameters/method"]),
        ({"source_ip": "not-an-ip"}, ["/parameters/source_ip"]),
        ({"headers": {"X-Count": 3}}, ["/parameters/headers/X-Count"]),
        ({"headers": {"X-Evil": "a\r\nSet-Cookie: x=1"}}, ["/parameters/headers/X-Evil"]),
        ({"headers": {"Bad Name": "x"}}, ["/parameters/headers/Bad Name"]),
        ({"query_params": {"a": {"b": 1}}}, ["/parameters/query_params/a"]),
        ({"bogus": 1, "other": 2}, ["/parameters/bogus", "/parameters/other"]),
        ({"method": 1, "headers": []}, ["/parameters/headers", "/parameters/method"]),
    ],
)
def test_invalid_webhook_parameters_are_reported_with_paths(
    parameters: dict[str, Any], expected_paths: list[str]
) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve(parameters)
    assert error_paths(exc) == expected_paths


def test_ipv6_source_address_is_accepted() -> None:
    assert resolve({"source_ip": "2001:db8::1"})["source_ip"] == "2001:db8::1"
