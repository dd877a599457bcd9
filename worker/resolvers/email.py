"""EMAIL: an inbound message as the mail ingress parsed it, with the raw RFC 5322 text.

The raw message is built with the standard library's `email` package, and then parsed back
with it (`read_back_errors`): the headers, senders, recipients, body and attachment names a
mail reader finds must be the ones intended, or the invocation is refused. Header values are
judged as that package reads them (RFC 2047 encoded words decoded, whatever their charset).
Message-ID, Date and MIME boundaries derive from the request, never from the clock or a random
source.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
from email import message_from_string, policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from contracts.models import FieldError, InvokeRequest
from contracts.regex import linear
from contracts.triggers import EmailKind
from contracts.validation import pointer
from worker.resolvers.base import InvalidInvocation, Resolution, derived_uuid, invalid

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


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, with each header's class made once.

    The stock registry builds a fresh class with `type()` on every header it parses (and the
    email package parses every header set, Content-Type parameters included): that was a third
    of the cost of simulating an email. The classes it builds for a name are all alike, so one
    per name gives byte-identical messages.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


_POLICY = policy.SMTP.clone(header_factory=_HeaderClasses())


def _header(name: str, value: str) -> Any:
    return _POLICY.header_factory(name, value)


def mailboxes(field: str) -> list[str]:
    """Every address in an address field as the `email` package reads it, lower-cased:
    `From: a@x, b@y` names two senders, not one."""
    try:
        return [a.addr_spec.lower() for a in _header("To", field).addresses]
    except (ValueError, TypeError, IndexError):
        return []


def address_of(mailbox: str) -> str:
    """The (first) bare address of `Name <addr>` or `addr`, lower-cased for comparison."""
    return next(iter(mailboxes(mailbox)), "")


def decoded(value: str) -> str:
    """A header value as the `email` package reads it: RFC 2047 encoded words decoded, in any
    charset, known or not (`=?x-foo?q?=0D=0A?=` is a CR LF to it). A CR or LF there is a header
    (or body) injection once serialised."""
    try:
        return str(_header("Subject", value))
    except (ValueError, TypeError, IndexError):
        return value


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
        lowered = name.lower()
        if lowered in STRUCTURAL_HEADERS or lowered.startswith("content-"):
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


def _attachments(parameters: dict[str, Any]) -> list[tuple[str, str, bytes]]:
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


def _lines(text: str) -> str:
    return "\n".join(text.splitlines())


def _text_body(message: Any) -> str | None:
    """The plain-text body of a message parsed with a modern policy (an `EmailMessage`)."""
    part = message.get_body(preferencelist=("plain",))
    return None if part is None else str(part.get_content())


def read_back_errors(
    built: EmailMessage, raw: str, parameters: dict[str, Any], attachment_names: list[str]
) -> list[FieldError]:
    """The contract on the emitted message: parsed back by the `email` package, it has exactly
    the headers that were set, the intended senders and recipients, the body, and the
    attachment names. Any other reading (a header smuggled in by an encoded word, a display
    name that reads back as a second address) refuses the invocation at the parameter."""
    back: Any = message_from_string(raw, policy=policy.default)
    errors = []
    for name, path in (
        ("From", "/parameters/from"),
        ("To", "/parameters/to"),
        ("Cc", "/parameters/cc"),
    ):
        meant = mailboxes(str(built[name])) if built[name] is not None else []
        read = mailboxes(str(back[name])) if back[name] is not None else []
        if meant != read or (name == "From" and read != mailboxes(parameters["from"])):
            errors.append(
                FieldError(
                    path=path,
                    code="ambiguous_address",
                    message=f"a mail reader would read {name}: as {read}, not {meant}",
                )
            )
    meant_names = [n.lower() for n in built.keys()]  # noqa: SIM118 -- headers repeat
    read_names = [n.lower() for n in back.keys()]  # noqa: SIM118
    if meant_names != read_names:
        errors.append(
            FieldError(
                path="/parameters",
                code="header_injection",
                message=f"the message would read back with the headers {read_names}, "
                f"not {meant_names}",
            )
        )
    body = _text_body(back)
    if body is None or _lines(body) != _lines(parameters["body"]):
        errors.append(
            FieldError(
                path="/parameters/body",
                code="body_mismatch",
                message="the message would read back with another body",
            )
        )
    read_attachments = [part.get_filename() for part in back.iter_attachments()]
    if read_attachments != attachment_names:
        errors.append(
            FieldError(
                path="/parameters/attachments",
                code="attachment_name_mismatch",
                message=f"attachments would read back as {read_attachments}",
            )
        )
    return errors


def _fix_boundaries(message: EmailMessage, request: InvokeRequest) -> None:
    # The email package picks random MIME boundaries; ours derive from the request.
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            part.set_boundary(f"===============manual{derived_uuid(request, f'b{index}').hex}==")


class EmailResolver(EmailKind):
    def resolve(
        self, config: dict[str, Any], parameters: dict[str, Any], request: InvokeRequest
    ) -> Resolution:
        errors = header_errors(parameters) or _check_addresses(parameters)
        errors = errors or recipient_errors(config, parameters) + filter_errors(config, parameters)
        if errors:
            raise InvalidInvocation(errors)
        attachments = _attachments(parameters)
        sender_domain = address_of(parameters["from"]).rpartition("@")[2]
        message_id = f"<{derived_uuid(request, 'message-id').hex}@{sender_domain}>"
        received_at = request.requested_at

        message = EmailMessage(policy=_POLICY)
        message["From"] = parameters["from"]
        message["To"] = ", ".join(parameters["to"])
        if parameters["cc"]:
            message["Cc"] = ", ".join(parameters["cc"])
        message["Subject"] = parameters["subject"]
        message["Date"] = format_datetime(received_at)
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
        try:
            raw_message = message.as_string()
        except (ValueError, TypeError) as exc:  # e.g. a header the email package cannot fold
            raise invalid(
                "/parameters/headers", f"cannot build the message: {exc}", "invalid_message"
            ) from None
        names = [name for name, _, _ in attachments]
        if errors := read_back_errors(message, raw_message, parameters, names):
            raise InvalidInvocation(errors)

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
            "received_at": received_at.isoformat(),
            "message_id": message_id,
            "headers": {name: str(value) for name, value in message.items()},
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


RESOLVER = EmailResolver()
