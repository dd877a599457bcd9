"""What may come in: limits on the size and shape of input, and URLs that must not point inward.

The same checks run in the shim (before a request is published) and in the worker (for
messages that bypass the shim), so no entry point is looser than another.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from contracts.models import FieldError
from worker.validation import pointer

MAX_BODY_BYTES = 1024 * 1024  # an HTTP request body or an invoke message
MAX_DEPTH = 32
MAX_VALUES = 10_000
MAX_STRING = 256 * 1024  # characters, for any one string the schema does not bound tighter

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_ALLOWED_SCHEMES = {"http", "https"}
# Shared address space for carrier-grade NAT (RFC 6598): not global, not "private" either.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# Names that resolve to the machine itself or to a cloud's instance metadata service.
_INTERNAL_NAMES = re.compile(
    r"(^|\.)localhost$|^metadata$|^metadata\.google\.internal$|^instance-data(\.ec2\.internal)?$"
    r"|^metadata\.azure\.com$|\.internal$",
    re.IGNORECASE,
)


class TooLarge(Exception):
    """The input is over a size limit; the shim answers 413."""


def parse_json(body: bytes) -> Any:
    """Parse a JSON body no larger than the limit; nesting too deep is a ValueError."""
    if len(body) > MAX_BODY_BYTES:
        raise TooLarge(f"body is larger than {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels") from None


def _walk(
    value: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every value with its path, parents first, without recursion (depth is untrusted)."""
    stack = [(path, value)]
    while stack:
        at, item = stack.pop()
        yield at, item
        if isinstance(item, dict):
            stack.extend(((*at, k), v) for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend(((*at, i), v) for i, v in reversed(list(enumerate(item))))


def shape_errors(value: Any, base: str) -> list[FieldError]:
    """Depth, value count and string length limits, each reported at its path."""
    errors: list[FieldError] = []
    for count, (path, item) in enumerate(_walk(value), start=1):
        if count > MAX_VALUES:
            return [
                *errors,
                FieldError(
                    path=base, code="too_many_values", message=f"more than {MAX_VALUES} values"
                ),
            ]
        if len(path) > MAX_DEPTH:
            return [
                *errors,
                FieldError(
                    path=base + pointer(path),
                    code="too_deep",
                    message=f"nested deeper than {MAX_DEPTH} levels",
                ),
            ]
        if isinstance(item, str) and len(item) > MAX_STRING:
            errors.append(
                FieldError(
                    path=base + pointer(path),
                    code="string_too_long",
                    message=f"longer than {MAX_STRING} characters",
                )
            )
        keys = item.keys() if isinstance(item, dict) else ()
        for key in keys:
            if len(key) > MAX_STRING:
                errors.append(
                    FieldError(
                        path=base + pointer(path),
                        code="string_too_long",
                        message="a member name is too long",
                    )
                )
    return errors


def _ip_of(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a URL host spells, in any spelling an HTTP client accepts, or None."""
    host = host.strip("[]").split("%")[0]  # IPv6 brackets and zone ids
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:  # decimal (2130706433), octal (0177.0.0.1), hex (0x7f.1) and short (127.1) forms
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _inward(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.packed[:12] == bytes(12) and int(address) > 1:
            embedded = ipaddress.IPv4Address(address.packed[12:])  # IPv4-compatible ::a.b.c.d
        if embedded is not None:
            return _inward(embedded)
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT)
    )


def url_problem(text: str) -> str | None:
    """Why this URL may not be used, or None when it is an http(s) URL to the outside."""
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return "not a valid URL"
    if parts.scheme.lower() not in _ALLOWED_SCHEMES:
        return f"only http and https URLs are allowed, not {parts.scheme}"
    if not host:
        return "the URL has no host"
    address = _ip_of(host)
    if address is not None and _inward(address):
        return f"the URL points at an internal address ({address})"
    if address is None and _INTERNAL_NAMES.search(host.rstrip(".")):
        return f"the URL points at an internal host ({host})"
    return None


def url_errors(value: Any, base: str) -> list[FieldError]:
    """Every string that is an absolute URL must be http(s) to a public host."""
    errors: list[FieldError] = []
    for path, item in _walk(value):
        if isinstance(item, str) and _URL.match(item) and (problem := url_problem(item)):
            errors.append(FieldError(path=base + pointer(path), code="unsafe_url", message=problem))
    return errors
