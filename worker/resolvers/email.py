"""EMAIL: an inbound message as the mail ingress parsed it, with the raw RFC 5322 text.

The raw message is built with the standard library's `email` package, and then parsed back
with it (`read_back_errors`): the headers, senders, recipients, body and attachment names a
mail reader finds must be the ones intended, or the invocation is refused. Header values are
judged as that package reads them (RFC 2047 encoded words decoded, whatever their charset).
Plain ASCII mail, the common case, is written directly instead (`email_writing`): the same
bytes at a fraction of the cost, and only where they are certain to read back as meant.
Message-ID, Date and MIME boundaries derive from the request, never from the clock or a random
source.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from contracts.kinds.email import EmailKind
from contracts.models import FieldError, InvokeRequest
from contracts.regex import linear
from contracts.validation import pointer
from worker.resolvers.base import InvalidInvocation, Resolution, derived_uuid_hex, invalid
from worker.resolvers.email_reading import (
    PARSER_ERRORS,
    POLICY,
    address_of,
    decoded,
    mailboxes,
    read_back_errors,
)
from worker.resolvers.email_writing import boundary, written_message
from worker.resolvers.reproducing import dict_of, expressible, present

# Headers the resolver writes itself: a custom header may not add a second one (a second From
# slips past the sender filter, a Content-Type rewrites the MIME structure).
STRUCTURAL_HEADERS = {
    "from",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "x-manual-trigger",
}
# Placeholder and decoded attachment bytes, all together: their base64 lands in the raw
# message, which must stay within the event bound.
MAX_ATTACHMENT_BYTES = 1024 * 1024
# Every character str.splitlines() (and so the email package) ends a line at, and NUL.
_LINE_BREAK_OR_NUL = linear("[\r\n\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_ADDRESS = linear(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


def written_header(name: str) -> bool:
    """A header the resolver writes itself (from the named parameters, or the MIME structure)."""
    lowered = name.lower()
    return lowered in STRUCTURAL_HEADERS or lowered.startswith("content-")


def _header_values(parameters: dict[str, Any]) -> list[tuple[str, str]]:
    values = [
        ("/parameters/from", parameters["from"]),
        ("/parameters/subject", parameters["subject"]),
    ]
    values += [(f"/parameters/to/{i}", a) for i, a in enumerate(parameters["to"])]
    values += [(f"/parameters/cc/{i}", a) for i, a in enumerate(parameters["cc"])]
    values += [(f"/parameters/headers{pointer([n])}", v) for n, v in parameters["headers"].items()]
    for index, item in enumerate(parameters["attachments"]):
        spec: dict[str, Any] = {"name": item} if isinstance(item, str) else item
        path = f"/parameters/attachments/{index}" + ("" if isinstance(item, str) else "/name")
        values.append((path, spec["name"]))
    return values


def header_errors(parameters: dict[str, Any]) -> list[FieldError]:
    """Every value that becomes a header is one line once decoded, and no custom header
    duplicates one the resolver writes."""
    errors = [
        FieldError(
            path=path,
            code="line_break",
            message="must not contain line breaks or NUL, not even RFC 2047-encoded",
        )
        for path, value in _header_values(parameters)
        if _LINE_BREAK_OR_NUL.search(decoded(value))
    ]
    for name in parameters["headers"]:
        if written_header(name):
            errors.append(
                FieldError(
                    path=f"/parameters/headers{pointer([name])}",
                    code="structural_header",
                    message=f"{name} comes from the named parameters; not a custom header",
                )
            )
    return errors


def _check_addresses(parameters: dict[str, Any]) -> list[FieldError]:
    fields = [("/parameters/from", parameters["from"])]
    fields += [(f"/parameters/to/{i}", a) for i, a in enumerate(parameters["to"])]
    fields += [(f"/parameters/cc/{i}", a) for i, a in enumerate(parameters["cc"])]
    errors = []
    for path, field in fields:
        found = mailboxes(field)
        if not found or not all(_ADDRESS.fullmatch(address) for address in found):
            errors.append(
                FieldError(path=path, code="format", message=f"not an email address: {field!r}")
            )
    return errors


def _senders(parameters: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, address) of every mailbox that claims to have sent the message."""
    found = [("/parameters/from", a) for a in mailboxes(parameters["from"])]
    for name, value in parameters["headers"].items():
        if name.lower() == "sender":
            found += [(f"/parameters/headers{pointer([name])}", a) for a in mailboxes(value)]
    return found


def recipient_errors(config: dict[str, Any], parameters: dict[str, Any]) -> list[FieldError]:
    """The trigger receives the mail sent to its own address: To or Cc names it (its identity,
    as a GitHub delivery's repository is the trigger's)."""
    address = str(config.get("email_address", "")).lower()
    fields = [*parameters["to"], *parameters["cc"]]
    if not address or any(address in mailboxes(field) for field in fields):
        return []
    return [
        FieldError(
            path="/parameters/to",
            code="recipient_mismatch",
            message=f"the trigger receives mail sent to {address}; To or Cc must name it",
        )
    ]


def filter_errors(config: dict[str, Any], parameters: dict[str, Any]) -> list[FieldError]:
    """The trigger's filters a real message would have to pass; each failure names its filter
    and what would pass it. Every mailbox of From (and Sender) must pass the sender filter."""
    errors = []
    senders = [s.lower() for s in config.get("allowed_senders", [])]
    domains = [d.lower().lstrip("@") for d in config.get("allowed_sender_domains", [])]
    if senders or domains:
        allowed = ", ".join([*senders, *(f"*@{d}" for d in domains)])
        for path, sender in _senders(parameters):
            if sender in senders or sender.rpartition("@")[2] in domains:
                continue
            errors.append(
                FieldError(
                    path=path,
                    code="filter_allowed_senders",
                    message=f"sender {sender!r} does not pass the trigger's allowed_senders/"
                    f"allowed_sender_domains filter; it passes: {allowed}",
                )
            )
    subject = parameters["subject"]
    contains = config.get("subject_contains")
    if contains and contains.lower() not in subject.lower():
        errors.append(
            FieldError(
                path="/parameters/subject",
                code="filter_subject_contains",
                message=f"subject does not contain {contains!r} (the trigger's subject_contains)",
            )
        )
    pattern = config.get("subject_regex")
    if pattern and not linear(pattern).search(subject):
        errors.append(
            FieldError(
                path="/parameters/subject",
                code="filter_subject_regex",
                message=f"subject does not match {pattern!r} (the trigger's subject_regex)",
            )
        )
    return errors


def attachments_of(parameters: dict[str, Any]) -> list[tuple[str, str, bytes]]:
    """(name, content type, bytes) per attachment; a bare string is a file name."""
    found = []
    errors = []
    for index, item in enumerate(parameters["attachments"]):
        spec: dict[str, Any] = {"name": item} if isinstance(item, str) else item
        name = spec["name"]
        guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
        content_type = spec.get("content_type", guessed)
        if "content" in spec:
            try:
                data = base64.b64decode(spec["content"], validate=True)
            except (binascii.Error, ValueError):
                errors.append(
                    FieldError(
                        path=f"/parameters/attachments/{index}/content",
                        message="not valid base64",
                        code="format",
                    )
                )
                continue
            if "size" in spec and spec["size"] != len(data):
                errors.append(
                    FieldError(
                        path=f"/parameters/attachments/{index}/size",
                        code="size_mismatch",
                        message=f"size {spec['size']} differs from the content's {len(data)} bytes",
                    )
                )
                continue
        else:
            data = bytes(spec.get("size", 0))  # a placeholder of the declared size
        found.append((name, content_type, data))
    if errors:
        raise InvalidInvocation(errors)
    if (total := sum(len(data) for _, _, data in found)) > MAX_ATTACHMENT_BYTES:
        raise invalid(
            "/parameters/attachments",
            f"attachments total {total} bytes; at most {MAX_ATTACHMENT_BYTES} fit in one event",
            "output_too_large",
        )
    return found


def _fix_boundaries(message: EmailMessage, request: InvokeRequest) -> None:
    # The email package picks random MIME boundaries; ours derive from the request.
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            part.set_boundary(boundary(request, index))


def build_message(
    parameters: dict[str, Any],
    attachments: list[tuple[str, str, bytes]],
    message_id: str,
    request: InvokeRequest,
) -> EmailMessage:
    """The message as the mail ingress would have received it."""
    message = EmailMessage(policy=POLICY)
    message["From"] = parameters["from"]
    message["To"] = ", ".join(parameters["to"])
    if parameters["cc"]:
        message["Cc"] = ", ".join(parameters["cc"])
    message["Subject"] = parameters["subject"]
    message["Date"] = format_datetime(request.requested_at)
    message["Message-ID"] = message_id
    message["X-Manual-Trigger"] = "true"
    for name, value in parameters["headers"].items():
        message[name] = value
    message.set_content(parameters["body"])
    if parameters.get("body_html"):
        message.add_alternative(parameters["body_html"], subtype="html")
    for name, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(
            data, maintype=maintype, subtype=subtype or "octet-stream", filename=name
        )
    _fix_boundaries(message, request)
    return message


def _raw(message: EmailMessage) -> str:
    try:
        return message.as_string()
    except (ValueError, TypeError) as exc:  # e.g. a header the email package cannot fold
        raise invalid(
            "/parameters/headers", f"cannot build the message: {exc}", "invalid_message"
        ) from None


def packaged_message(
    parameters: dict[str, Any],
    attachments: list[tuple[str, str, bytes]],
    message_id: str,
    request: InvokeRequest,
) -> tuple[str, dict[str, str]]:
    """(raw message, headers) as the `email` package builds them; refused unless the message
    reads back as meant."""
    try:
        message = build_message(parameters, attachments, message_id, request)
    except ValueError as exc:  # e.g. `Reply-To` and `reply-to`: a header allowed only once
        raise invalid(
            "/parameters/headers", f"cannot build the message: {exc}", "invalid_message"
        ) from None
    raw_message = _raw(message)
    names = [name for name, _, _ in attachments]
    try:
        errors = read_back_errors(message, raw_message, parameters, names)
    except PARSER_ERRORS as exc:  # no mail reader could read it back at all
        raise invalid(
            "/parameters",
            f"a mail reader could not read this message back ({type(exc).__name__})",
            "invalid_message",
        ) from None
    if errors:
        raise InvalidInvocation(errors)
    return raw_message, {name: str(value) for name, value in message.items()}


def message_id_of(parameters: dict[str, Any], request: InvokeRequest) -> str:
    """Derived from the request, at the sender's domain, as a mail server names a message."""
    sender_domain = address_of(parameters["from"]).rpartition("@")[2]
    return f"<{derived_uuid_hex(request, 'message-id')}@{sender_domain}>"


class EmailResolver(EmailKind):
    def resolve(
        self,
        config: dict[str, Any],
        parameters: dict[str, Any],
        request: InvokeRequest,
        *,
        fast: bool = True,
    ) -> Resolution:
        """`fast=False`: always with the `email` package (what the fast writer is tested
        against)."""
        errors = header_errors(parameters) or _check_addresses(parameters)
        errors = errors or recipient_errors(config, parameters) + filter_errors(config, parameters)
        if errors:
            raise InvalidInvocation(errors)
        attachments = attachments_of(parameters)
        message_id = message_id_of(parameters, request)
        # The fast writer's output needs no read-back: it writes only messages whose every
        # field reads back as written (its tests parse back each one they generate).
        written = written_message(parameters, attachments, message_id, request) if fast else None
        raw_message, headers = written or packaged_message(
            parameters, attachments, message_id, request
        )
        trigger_data = {
            "from": parameters["from"],
            "to": parameters["to"],
            "cc": parameters["cc"],
            "subject": parameters["subject"],
            "body": parameters["body"],
            "body_html": parameters.get("body_html"),
            "attachments": [
                {"name": n, "content_type": t, "size": len(d)} for n, t, d in attachments
            ],
            "received_at": request.requested_at.isoformat(),
            "message_id": message_id,
            "headers": headers,
            "raw_message": raw_message,
        }
        return Resolution(
            trigger_data=trigger_data,
            input_data={
                "email_content": parameters["body"],
                "email_subject": parameters["subject"],
                "sender": parameters["from"],
            },
            metadata={"filter_matched": True, "trigger_config": self.shown_config(config)},
        )

    def params_from(self, trigger_data: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        """The message's sender, recipients, subject, bodies, attachments (name, type, size,
        and content when the record has it) and the headers the resolver does not write."""
        headers = dict_of(trigger_data.get("headers"))
        parameters = {
            "from": trigger_data.get("from"),
            "to": _addresses(trigger_data.get("to")),
            "cc": _addresses(trigger_data.get("cc")),
            "subject": trigger_data.get("subject"),
            "body": trigger_data.get("body"),
            "body_html": trigger_data.get("body_html"),
            "attachments": _attachment_parameters(trigger_data.get("attachments")),
            "headers": {n: v for n, v in headers.items() if not written_header(n)},
        }
        return expressible(self, config, present(parameters))


def _addresses(value: Any) -> Any:
    """A recipient field as a list of mailboxes (an ingress may record one text)."""
    return [value] if isinstance(value, str) else value


ATTACHMENT_FIELDS = ("name", "content_type", "size", "content")


def _attachment_parameters(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    return [
        {k: item[k] for k in ATTACHMENT_FIELDS if k in item} if isinstance(item, dict) else item
        for item in value
    ]


RESOLVER = EmailResolver()
