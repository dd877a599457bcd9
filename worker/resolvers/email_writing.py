"""EMAIL: the raw message of the common case, written with string operations, byte for byte
as the standard library's `email` package writes it.

Building a message with the `email` package, serialising it and parsing it back costs over a
millisecond; for plain mail the package's output is fixed text around the values. This writer
takes only the case where that text is certain: ASCII mailboxes of a simple grammar, every
header `Name: value` on one line within the policy's line length (nothing to fold or encode),
7bit text bodies (ASCII, short lines), and base64 attachments whose names need neither
escaping nor RFC 2231. For anything else it answers None and the `email` package, which stays
the judge, builds the message (`worker.resolvers.email`). The unit tests hold both to the same
bytes and show that every message written here reads back as meant.
"""

from __future__ import annotations

import binascii
from datetime import datetime
from email.headerregistry import HeaderRegistry
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, cast

from contracts.models import InvokeRequest
from contracts.regex import linear
from contracts.specs import HEADER_NAME_PATTERN
from worker.resolvers.base import derived_uuid_hex
from worker.resolvers.email_reading import POLICY

LINESEP: str = POLICY.linesep
# The SMTP policy's 78. (A policy without a limit, 0 here, would leave every case to the
# package: no line fits.)
MAX_LINE: int = POLICY.max_line_length or 0
# email.contentmanager cuts base64 into lines of 76 characters: 57 bytes each.
_BASE64_CHUNK = MAX_LINE // 4 * 3
# Headers the package parses with a class of their own (addresses, dates, MIME parameters,
# one-per-message limits): a custom header by such a name is left to the package.
_PARSED_HEADERS = frozenset(cast(HeaderRegistry, POLICY.header_factory).registry)
# A mailbox whose text the package keeps as written, parsed or shown: a display name of atoms
# (no specials to quote, single spaces) and a dot-atom address.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_ADDR_SPEC = rf"{_ATEXT}+(?:\.{_ATEXT}+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_PLAIN_MAILBOX = linear(rf"{_ATEXT}+(?: {_ATEXT}+)* <{_ADDR_SPEC}>|{_ADDR_SPEC}")
_HEADER_NAME = linear(HEADER_NAME_PATTERN)
# A type/subtype of token characters, as an attachment's Content-Type is written unchanged.
_MEDIA_TYPE = linear(r"[\w.+-]+/[\w.+-]+")
_TEXT_PART = [
    ("Content-Type", 'text/plain; charset="utf-8"'),
    ("Content-Transfer-Encoding", "7bit"),
]
_TEXT_PART_HTML = [("Content-Type", 'text/html; charset="utf-8"'), _TEXT_PART[1]]
_MIME_VERSION = ("MIME-Version", "1.0")


def boundary(request: InvokeRequest, index: int) -> str:
    """The MIME boundary of the multipart entity at `index` in `walk()` order: derived from the
    request, where the `email` package would pick a random one."""
    return f"===============manual{derived_uuid_hex(request, f'b{index}')}=="


def _one_line(name: str, value: str) -> str | None:
    """The header as the package folds it when `Name: value` fits on a line: the value as
    written (no space after the colon if empty). None when it would fold or encode it."""
    line = f"{name}: {value}" if value else f"{name}:"
    if len(line) > MAX_LINE or not line.isascii() or not line.isprintable() or "=?" in line:
        return None
    return line + LINESEP


def _header_block(headers: list[tuple[str, str]]) -> str | None:
    lines = [_one_line(name, value) for name, value in headers]
    return None if None in lines else "".join(line for line in lines if line)


def _date(requested_at: datetime) -> str | None:
    """The Date value when the package keeps it: it reads a date and writes it again, and a
    year before 100 or an offset in seconds would not come back the same."""
    text = format_datetime(requested_at)
    try:
        return text if format_datetime(parsedate_to_datetime(text)) == text else None
    except (ValueError, TypeError, IndexError, OverflowError):
        return None


def _top_headers(
    parameters: dict[str, Any], message_id: str, request: InvokeRequest
) -> list[tuple[str, str]] | None:
    """The message's own headers, in the order the resolver sets them."""
    senders = [parameters["from"], *parameters["to"], *parameters["cc"]]
    date = _date(request.requested_at)
    if date is None or not all(_PLAIN_MAILBOX.fullmatch(mailbox) for mailbox in senders):
        return None
    headers = [("From", parameters["from"]), ("To", ", ".join(parameters["to"]))]
    if parameters["cc"]:
        headers.append(("Cc", ", ".join(parameters["cc"])))
    headers += [
        ("Subject", parameters["subject"]),
        ("Date", date),
        ("Message-ID", message_id),
        ("X-Manual-Trigger", "true"),
    ]
    for name, value in parameters["headers"].items():
        if name.lower() in _PARSED_HEADERS or not _HEADER_NAME.fullmatch(name):
            return None
        headers.append((name, value))
    return headers


def _seven_bit(text: str) -> str | None:
    """A text body as the package writes it when it picks 7bit (ASCII, no line over the
    limit): every line ended by CRLF. None for any other text, control characters included."""
    if (
        not text.isascii()
        or not text.replace("\t", "").replace("\r", "").replace("\n", "").isprintable()
    ):
        return None
    lines = text.splitlines()  # on ASCII without control characters: CR, LF, CRLF only
    if any(len(line) > MAX_LINE for line in lines):
        return None
    return LINESEP.join(lines) + LINESEP


def _attachment(name: str, content_type: str, data: bytes) -> str | None:
    """An attachment part: its headers as add_attachment sets them, and base64 lines."""
    maintype = content_type.partition("/")[0].lower()
    if (
        maintype in ("multipart", "message")
        or not _MEDIA_TYPE.fullmatch(content_type)
        or not name
        or name != name.strip()  # a reader strips the name it reads back
        or '"' in name
        or "\\" in name
    ):
        return None
    head = _header_block(
        [
            ("Content-Type", content_type),
            ("Content-Transfer-Encoding", "base64"),
            ("Content-Disposition", f'attachment; filename="{name}"'),
            ("MIME-Version", "1.0"),
        ]
    )
    if head is None:
        return None
    chunks = range(0, len(data), _BASE64_CHUNK)
    lines = [binascii.b2a_base64(data[i : i + _BASE64_CHUNK], newline=False) for i in chunks]
    encoded = "".join(line.decode("ascii") + LINESEP for line in lines)
    return head + LINESEP + encoded


def _entity(headers: list[tuple[str, str]], payload: str) -> str:
    """Headers known to fit on their lines, a blank line, the payload."""
    return "".join(f"{name}: {value}{LINESEP}" for name, value in headers) + LINESEP + payload


def _multipart(subtype: str, separator: str, entities: list[str]) -> tuple[str, str]:
    """(Content-Type value, entity) of a multipart entity as the package's generator writes
    it: no preamble, CRLF before every delimiter. The boundary parameter goes on a line of its
    own: with the derived boundary's length it never fits on the first."""
    value = f'multipart/{subtype}; boundary="{separator}"'
    folded = f'Content-Type: multipart/{subtype};{LINESEP} boundary="{separator}"{LINESEP}'
    delimiter = f"{LINESEP}--{separator}{LINESEP}"
    body = f"--{separator}{LINESEP}{delimiter.join(entities)}{LINESEP}--{separator}--{LINESEP}"
    return value, folded + LINESEP + body


def _content(
    plain: str, html: str | None, files: list[str], request: InvokeRequest
) -> tuple[list[tuple[str, str]], str] | None:
    """(headers, text) of what follows the message's own headers: the text part alone, or
    multipart/alternative and/or multipart/mixed, with boundaries indexed as `walk()` visits
    the entities (the mixed root first, then the alternative)."""
    if html is None and not files:
        headers = [*_TEXT_PART, _MIME_VERSION]
        return headers, _entity(headers, plain)
    nested = html is not None and bool(files)
    separators = [boundary(request, index) for index in range(1 + nested)]
    if any(s in text for s in separators for text in (plain, html or "")):
        return None  # a body line would close its part early
    content = _entity(_TEXT_PART, plain)
    if html is not None:
        entities = [content, _entity([*_TEXT_PART_HTML, _MIME_VERSION], html)]
        value, content = _multipart("alternative", separators[-1], entities)
    if files:
        value, content = _multipart("mixed", separators[0], [content, *files])
    # The root keeps MIME-Version where set_content put it; _make_multipart adds the
    # multipart Content-Type after it.
    return [_MIME_VERSION, ("Content-Type", value)], f"MIME-Version: 1.0{LINESEP}{content}"


def written_message(
    parameters: dict[str, Any],
    attachments: list[tuple[str, str, bytes]],
    message_id: str,
    request: InvokeRequest,
) -> tuple[str, dict[str, str]] | None:
    """(raw message, its headers as the package shows them) exactly as the `email` package
    builds them (`worker.resolvers.email.build_message`), or None when this writer is not
    certain of every byte."""
    top = _top_headers(parameters, message_id, request)
    head = None if top is None else _header_block(top)
    plain = _seven_bit(parameters["body"])
    html_text = parameters.get("body_html")
    html = _seven_bit(html_text) if html_text else None
    if top is None or head is None or plain is None or (html_text and html is None):
        return None
    files = []
    for attachment in attachments:
        if (file := _attachment(*attachment)) is None:
            return None
        files.append(file)
    if (content := _content(plain, html, files, request)) is None:
        return None
    content_headers, text = content
    return head + text, dict(top + content_headers)
