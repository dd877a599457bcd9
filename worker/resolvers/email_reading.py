"""EMAIL: a message as a mail reader reads it, with the standard library's `email` package:
the addresses of a field, a header value decoded, and the contract on an emitted message (it
reads back as it was meant).
"""

from __future__ import annotations

from email import message_from_string, policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from functools import lru_cache
from typing import Any

from contracts.models import FieldError


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


POLICY = policy.SMTP.clone(header_factory=_HeaderClasses())


def _header(name: str, value: str) -> Any:
    return POLICY.header_factory(name, value)


def mailboxes(field: str) -> list[str]:
    """Every address in an address field as the `email` package reads it, lower-cased:
    `From: a@x, b@y` names two senders, not one."""
    return list(_mailboxes(field))


# What the `email` package's parser raises on text it cannot read: besides its own errors
# (ValueError subclasses), it crashes on some display names (a lone "." as one:
# AttributeError, TypeError), so any of these means "no reader can read this".
PARSER_ERRORS = (ValueError, TypeError, IndexError, AttributeError)


# The same few addresses are read several times per message (checks, filters, the sender's
# domain) and message after message; the email package's parser is slow.
@lru_cache(maxsize=4096)
def _mailboxes(field: str) -> tuple[str, ...]:
    try:
        return tuple(a.addr_spec.lower() for a in _header("To", field).addresses)
    except PARSER_ERRORS:
        return ()


def address_of(mailbox: str) -> str:
    """The (first) bare address of `Name <addr>` or `addr`, lower-cased for comparison."""
    return next(iter(mailboxes(mailbox)), "")


@lru_cache(maxsize=4096)
def decoded(value: str) -> str:
    """A header value as the `email` package reads it: RFC 2047 encoded words decoded, in any
    charset, known or not (`=?x-foo?q?=0D=0A?=` is a CR LF to it). A CR or LF there is a header
    (or body) injection once serialised."""
    try:
        return str(_header("Subject", value))
    except PARSER_ERRORS:
        return value


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
