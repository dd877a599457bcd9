"""The string formats the parameter schemas declare beyond JSON Schema's own: their grammars.

`iso-date-time`, `mailbox` and `base64` are checked by `contracts.validation` (the worker) and,
as you type, by the panel (ui/src/lib/formats.ts); `cases.json` beside this module pins each
grammar, and both sides' tests run every case of it. `ipv4` and `ipv6` are JSON Schema's own.
The grammars run on RE2 (`contracts.regex`): linear time whatever the text.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from contracts.regex import linear, unicode_spaces_as_space

CASES_PATH = Path(__file__).parent / "cases.json"

# A date, `T` or a space, hours and minutes, optional seconds with 1 to 6 fractional digits,
# an optional offset (`Z`, `z` or ±HH:MM).
_DATE_TIME = linear(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?"
    r"([Zz]|[+-]\d{2}:\d{2})?"
)
# `local@domain.tld`, bare or in angle brackets after a display name (quoted or not) that has
# no angle bracket and no line break. Whitespace is every Unicode space (matched after
# `unicode_spaces_as_space`), as a browser's `\s` matches it.
_ADDRESS = r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+"
_MAILBOX = linear(rf"(?:{_ADDRESS}|[^<>\r\n]*<{_ADDRESS}>)")
# RFC 4648 §4: the standard alphabet, padded to a multiple of four characters.
_BASE64 = linear(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")

# What a value of each format must be, said to the person who typed it.
FORMAT_MESSAGES = {
    "iso-date-time": "must be a date and time like 2026-03-02T09:00:00+01:00",
    "mailbox": "must be an email address like Alice <alice@example.com>",
    "base64": "must be base64 (RFC 4648, padded)",
    "ipv4": "must be an IPv4 address like 203.0.113.9",
    "ipv6": "must be an IPv6 address like 2001:db8::1",
}


def parse_date_time(text: str) -> datetime | None:
    """The moment an `iso-date-time` names (naive without an offset), or None when the text
    is not one: the grammar above, on a date and a time of day that exist."""
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    zone = None
    if offset in ("Z", "z"):
        zone = UTC
    elif offset:
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            return None
        sign = -1 if offset[0] == "-" else 1
        zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "").ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError:  # no such day (February 30), hour (24) or minute
        return None


def is_date_time(text: str) -> bool:
    return parse_date_time(text) is not None


def is_mailbox(text: str) -> bool:
    return _MAILBOX.fullmatch(unicode_spaces_as_space(text)) is not None


def is_base64(text: str) -> bool:
    return _BASE64.fullmatch(text) is not None
