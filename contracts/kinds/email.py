"""EMAIL: an inbound message. Its spec and its kind."""

from __future__ import annotations

from typing import Any

from contracts.kinds.base import TriggerKind, WirePreview, pretty, text_of
from contracts.models import TriggerType
from contracts.specs import (
    JSON_SCHEMA_DIALECT,
    ManualInvocationSpec,
    ParameterExample,
    field,
    header_map,
    one_line,
)


def _mailbox(title: str, description: str) -> dict[str, Any]:
    return {**one_line(title, description), "format": "mailbox"}


def _mailboxes(title: str, description: str, **limits: Any) -> dict[str, Any]:
    recipient = _mailbox("Recipient", "A mailbox: `address` or `Display Name <address>`.")
    return field(title, description, type="array", items=recipient, maxItems=100, **limits)


_FILE = field(
    "File",
    "An attachment with its content.",
    type="object",
    additionalProperties=False,
    required=["name"],
    properties={
        "name": one_line("File name", "The attachment's file name.", 255),
        "content_type": field(
            "Content type",
            "MIME type, e.g. application/pdf; guessed from the name if absent.",
            type="string",
            pattern=r"^[\w.+-]+/[\w.+-]+$",
        ),
        "size": field(
            "Size",
            "In bytes; must match the content when both are given.",
            type="integer",
            minimum=0,
            maximum=1_048_576,
        ),
        "content": field(
            "Content",
            "The file's bytes, base64-encoded (RFC 4648, padded).",
            type="string",
            format="base64",
        ),
    },
)

EMAIL_SPEC = ManualInvocationSpec(
    trigger_type=TriggerType.EMAIL,
    supported=True,
    description=(
        "Simulate an inbound email: sender, recipients, subject, text and HTML bodies, "
        "attachments and headers, with the raw RFC 5322 message a mail parser would see. "
        "The trigger's sender and subject filters apply."
    ),
    parameter_schema={
        "$schema": JSON_SCHEMA_DIALECT,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "from": _mailbox("From", "The sender: `address` or `Display Name <address>`."),
            "to": _mailboxes(
                "To", "Recipients; defaults to the trigger's email_address.", minItems=1
            ),
            "cc": _mailboxes("Cc", "Carbon-copy recipients."),
            "subject": one_line("Subject", "The subject line."),
            "body": field(
                "Text body", "The plain-text body.", type="string", contentMediaType="text/plain"
            ),
            "body_html": field(
                "HTML body",
                "The HTML alternative of the body; null: none.",
                type=["string", "null"],
                contentMediaType="text/html",
            ),
            "attachments": field(
                "Attachments",
                "Files attached to the message.",
                type="array",
                maxItems=50,
                items=field(
                    "Attachment",
                    "A file name (an empty file), or a file with its content.",
                    anyOf=[
                        one_line("File name", "The file name of an empty attachment.", 255),
                        _FILE,
                    ],
                ),
            ),
            "headers": header_map("Headers", "Extra message headers, e.g. In-Reply-To."),
        },
    },
    default_parameters={
        "from": "Test Sender <test@example.com>",
        "cc": [],
        "subject": "Manual Test Email",
        "body": "This is a manually triggered email simulation",
        "body_html": None,
        "attachments": [],
        "headers": {},
    },
    parameter_examples=[
        ParameterExample(
            name="Support request",
            description="A customer writes to support, with a screenshot.",
            parameters={
                "from": "Jane Customer <customer@example.com>",
                "subject": "Urgent Support Request",
                "body": "Please help with login issues",
                "attachments": ["support-screenshot.png"],
            },
        ),
        ParameterExample(
            name="Invoice with HTML and a PDF",
            description="An HTML mail with a small base64 attachment and a reply header.",
            parameters={
                "from": "billing@example.com",
                "cc": ["Accounts <accounts@example.com>"],
                "subject": "Invoice 2026-117",
                "body": "Your invoice is attached.",
                "body_html": "<p>Your invoice is <b>attached</b>.</p>",
                "attachments": [
                    {
                        "name": "invoice.pdf",
                        "content_type": "application/pdf",
                        "content": "JVBERi0xLjQKJcOkw7zDtsOfCg==",
                    }
                ],
                "headers": {"In-Reply-To": "<req-117@example.com>"},
            },
        ),
    ],
)


class EmailKind(TriggerKind):
    spec = EMAIL_SPEC
    html_parameters = frozenset({"body_html"})
    config_schema = {  # noqa: RUF012 -- read-only
        "type": "object",
        "required": ["email_address"],
        "properties": {
            "email_address": {"type": "string", "format": "email"},
            "allowed_senders": {"type": "array", "items": {"type": "string"}},
            "allowed_sender_domains": {"type": "array", "items": {"type": "string"}},
            "subject_contains": {"type": "string"},
            "subject_regex": {"type": "string", "format": "regex"},
        },
    }

    def default_parameters(self, config: dict[str, Any]) -> dict[str, Any]:
        return {**EMAIL_SPEC.default_parameters, "to": [config.get("email_address", "")]}

    def display_name(self, config: dict[str, Any]) -> str:
        return f"Email to {text_of(config.get('email_address')) or 'mailbox'}"

    def wire_preview(self, resolved: dict[str, Any]) -> WirePreview:
        raw = text_of(resolved.get("raw_message"))
        return WirePreview(title="Email message (RFC 5322)", text=raw or pretty(resolved))


KIND = EmailKind()
