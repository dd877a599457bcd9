"""EMAIL: RFC 5322 messages that a real parser reads back, and the trigger's filters."""

from __future__ import annotations

import base64
import email
from email import policy
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from contracts.models import TriggerType
from tests.factories import FIXED_TIME, demo_request, demo_trigger
from tests.unit.resolver_helpers import error_codes, error_paths
from worker.resolvers import InvalidInvocation, prepare_invocation

EMAIL = TriggerType.EMAIL


def resolve(parameters: dict[str, Any], **config: Any) -> Any:
    request = demo_request(EMAIL, parameters=parameters)
    return prepare_invocation(request, demo_trigger(EMAIL, **config)).event


def test_the_raw_message_parses_back_to_the_same_fields() -> None:
    pdf = b"%PDF-1.4 tiny"
    event = resolve(
        {
            "from": "Jane Customer <customer@example.com>",
            "cc": ["Accounts <accounts@demo.example.com>"],
            "subject": "Urgent: café login ✓",
            "body": "Please help with login issues",
            "body_html": "<p>Please help</p>",
            "attachments": [
                "support-screenshot.png",
                {"name": "invoice.pdf", "content": base64.b64encode(pdf).decode()},
            ],
            "headers": {"In-Reply-To": "<abc@example.com>"},
        }
    )
    data = event.trigger_data
    parsed = email.message_from_string(data["raw_message"], policy=policy.default)
    assert parsed["From"] == "Jane Customer <customer@example.com>"
    assert parsed["From"].addresses[0].addr_spec == "customer@example.com"
    assert parsed["To"].addresses[0].addr_spec == "support@demo.example.com"
    assert parsed["Cc"] == "Accounts <accounts@demo.example.com>"
    assert parsed["Subject"] == "Urgent: café login ✓"
    assert parsed["Message-ID"] == data["message_id"]
    assert parsed["In-Reply-To"] == "<abc@example.com>"
    assert parsedate_to_datetime(parsed["Date"]) == FIXED_TIME.replace(microsecond=0)
    assert parsed.get_body(("plain",)).get_content().strip() == "Please help with login issues"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Please help</p>"
    attachments = {a.get_filename(): a for a in parsed.iter_attachments()}
    assert set(attachments) == {"support-screenshot.png", "invoice.pdf"}
    assert attachments["invoice.pdf"].get_content_type() == "application/pdf"
    assert attachments["invoice.pdf"].get_content() == pdf
    assert attachments["support-screenshot.png"].get_content_type() == "image/png"
    assert data["attachments"] == [
        {"name": "support-screenshot.png", "content_type": "image/png", "size": 0},
        {"name": "invoice.pdf", "content_type": "application/pdf", "size": len(pdf)},
    ]
    assert "\r\n" in data["raw_message"]  # RFC 5322 line endings


def test_message_id_and_date_follow_rfc_5322_and_the_request() -> None:
    data = resolve({}).trigger_data
    assert data["message_id"].startswith("<") and data["message_id"].endswith("@example.com>")
    assert data["headers"]["Date"] == "Wed, 04 Mar 2026 05:06:07 +0000"
    assert data["headers"]["X-Manual-Trigger"] == "true"
    assert data["received_at"] == FIXED_TIME.isoformat()
    assert data["to"] == ["support@demo.example.com"]


def test_input_data_is_the_seed_summary() -> None:
    event = resolve({"subject": "Hello", "body": "Hi"})
    assert event.input_data == {
        "email_content": "Hi",
        "email_subject": "Hello",
        "sender": "Test Sender <test@example.com>",
    }


def test_raw_message_is_deterministic_even_with_multipart_boundaries() -> None:
    request = demo_request(EMAIL, parameters={"body_html": "<b>x</b>", "attachments": ["a.txt"]})
    first = prepare_invocation(request, demo_trigger(EMAIL)).event.trigger_data["raw_message"]
    again = prepare_invocation(request, demo_trigger(EMAIL)).event.trigger_data["raw_message"]
    assert first == again
    assert "===============manual" in first


def test_a_sender_outside_the_allowed_domains_names_the_filter() -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve({"from": "mallory@evil.test"})
    assert error_paths(exc) == ["/parameters/from"]
    assert error_codes(exc) == ["filter_allowed_senders"]
    assert "allowed_sender" in exc.value.errors[0].message


def test_allowed_senders_are_matched_by_address() -> None:
    resolve({"from": "Boss <BOSS@elsewhere.test>"}, allowed_senders=["boss@elsewhere.test"])


@pytest.mark.parametrize(
    ("config", "subject", "code"),
    [
        ({"subject_contains": "invoice"}, "Your receipt", "filter_subject_contains"),
        ({"subject_regex": r"^\[TICKET-\d+\]"}, "no ticket here", "filter_subject_regex"),
    ],
)
def test_subject_filters_name_the_filter_that_failed(
    config: dict[str, Any], subject: str, code: str
) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve({"subject": subject}, **config)
    assert error_paths(exc) == ["/parameters/subject"]
    assert error_codes(exc) == [code]


def test_subject_filters_pass_when_matched() -> None:
    resolve(
        {"subject": "[TICKET-12] Invoice due"},
        subject_contains="INVOICE",
        subject_regex=r"^\[TICKET-\d+\]",
    )


@pytest.mark.parametrize(
    ("parameters", "path"),
    [
        ({"from": "not an address"}, "/parameters/from"),
        ({"to": ["ok@example.com", "nope"]}, "/parameters/to/1"),
        ({"subject": "two\r\nBcc: everyone@example.com"}, "/parameters/subject"),
        ({"headers": {"X-Evil": "a\nb"}}, "/parameters/headers/X-Evil"),
        (
            {"attachments": [{"name": "a.bin", "content": "***"}]},
            "/parameters/attachments/0/content",
        ),
        (
            {"attachments": [{"name": "a.bin", "content": "YWJj", "size": 9}]},
            "/parameters/attachments/0/size",
        ),
    ],
)
def test_bad_email_parameters_are_400_with_paths(parameters: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve(parameters)
    assert error_paths(exc) == [path]


def test_trigger_without_an_address_is_a_config_error() -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve({}, email_address=None)
    assert error_paths(exc) == ["/trigger_config/email_address"]
