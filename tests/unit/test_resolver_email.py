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
        ({"from": "a@example.com, ceo@evil.test"}, "/parameters/from"),
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


@pytest.mark.parametrize(
    ("parameters", "path"),
    [
        ({"subject": "=?utf-8?q?hi=0D=0ABcc:_v@evil.test?="}, "/parameters/subject"),
        ({"subject": "=?utf-8?b?aGkNCkJjYzogdkBldmlsLnRlc3Q=?="}, "/parameters/subject"),  # base64
        ({"subject": "=?utf-8?q?a=00b?="}, "/parameters/subject"),  # NUL
        (
            {"headers": {"X-Note": "=?utf-8?q?x=0D=0A=0D=0Ainjected_body?="}},
            "/parameters/headers/X-Note",
        ),
        ({"from": "=?utf-8?q?a=0Ab?= <dev@example.com>"}, "/parameters/from"),
        ({"to": ["=?utf-8?q?a=0Db?= <x@example.com>"]}, "/parameters/to/0"),
        ({"cc": ["ok@example.com", "=?utf-8?q?x=0A?= <c@example.com>"]}, "/parameters/cc/1"),
        ({"attachments": ["=?utf-8?q?a=0Ab.pdf?="]}, "/parameters/attachments/0"),
        ({"attachments": [{"name": "=?utf-8?q?a=0Ab?="}]}, "/parameters/attachments/0/name"),
    ],
)
def test_encoded_words_cannot_smuggle_line_breaks_into_headers(
    parameters: dict[str, Any], path: str
) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve(parameters)
    assert [(e.path, e.code) for e in exc.value.errors] == [(path, "line_break")]


@pytest.mark.parametrize(
    "name",
    [
        "From",
        "to",
        "CC",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
        "content-transfer-encoding",
        "X-Manual-Trigger",
    ],
)
def test_a_custom_header_cannot_duplicate_a_structural_one(name: str) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve({"headers": {name: "x@example.com"}})
    assert [(e.path, e.code) for e in exc.value.errors] == [
        (f"/parameters/headers/{name}", "structural_header")
    ]


@pytest.mark.parametrize("name", [".", ". ", "=?utf-8?q?.?=", "=?utf-8?q?._?="])
@pytest.mark.parametrize("where", ["from", "to"])
def test_a_display_name_the_email_package_cannot_read_is_refused(where: str, name: str) -> None:
    # The email package's own parser crashes on these (AttributeError, TypeError): refused,
    # never an exception of the resolver's
    parameters = {
        "from": {"from": f"{name} <test@example.com>"},
        "to": {"to": ["support@demo.example.com", f"{name} <b@example.com>"]},
    }[where]
    with pytest.raises(InvalidInvocation):
        resolve(parameters)


@pytest.mark.parametrize("names", [("Reply-To", "reply-to"), ("Bcc", "BCC")])
def test_a_header_allowed_once_given_twice_is_refused_where_it_was_given(
    names: tuple[str, str],
) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve({"headers": dict.fromkeys(names, "<a@example.com>")})
    assert [(e.path, e.code) for e in exc.value.errors] == [
        ("/parameters/headers", "invalid_message")
    ]


@pytest.mark.parametrize(
    ("parameters", "path"),
    [
        # (A From of several mailboxes is refused before: its format is one mailbox.)
        ({"from": "ceo@evil.test"}, "/parameters/from"),
        ({"from": "Boss <boss@evil.test>"}, "/parameters/from"),
        ({"headers": {"Sender": "relay@evil.test"}}, "/parameters/headers/Sender"),
    ],
)
def test_every_sending_mailbox_must_pass_the_sender_filter(
    parameters: dict[str, Any], path: str
) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve(parameters)
    (error,) = exc.value.errors
    assert (error.path, error.code) == (path, "filter_allowed_senders")
    assert "*@example.com" in error.message  # says what would pass


def test_encoded_words_that_decode_to_one_line_are_fine_and_kept() -> None:
    event = resolve(
        {"subject": "=?utf-8?q?Caf=C3=A9_menu?=", "headers": {"Sender": "a@example.com"}}
    )
    assert (
        email.message_from_string(event.trigger_data["raw_message"], policy=policy.default)[
            "Subject"
        ]
        == "Café menu"
    )


def test_attachments_are_bounded_so_the_event_stays_small() -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve({"attachments": [{"name": "f", "size": 1_048_576}] * 50})
    assert [(e.path, e.code) for e in exc.value.errors] == [
        ("/parameters/attachments", "output_too_large")
    ]
