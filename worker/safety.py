"""What may come in: limits on the size and shape of input, and URLs that must not point inward.

The same checks run in the shim (before a request is published) and in the worker (for
messages that bypass the shim), so no entry point is looser than another.
"""

from __future__ import annotations

import ipaddress
import json
import math
import socket
from collections.abc import Iterator
from functools import lru_cache, partial
from typing import Any
from urllib.parse import urlsplit

import ada_url

from contracts.documents import Links, path_of, storable_problems, walk
from contracts.models import MAX_BODY_BYTES, MAX_ERROR_PATH, MAX_STRING, FieldError, unstorable
from contracts.regex import linear
from contracts.validation import BoundedErrors, pointer

MAX_DEPTH = 32
MAX_VALUES = 10_000
MAX_KEY_LENGTH = 1024  # characters, for a member name
# No answer, stored status or event may be larger (no amplification of a 1 MiB request).
MAX_OUTPUT_BYTES = 2 * 1024 * 1024

# Schemes a WHATWG parser treats as URLs even without `//` (`http:127.0.0.1`, `http:/x`).
_SPECIAL_SCHEMES = {"http", "https", "ws", "wss", "ftp", "file"}
_ALLOWED_SCHEMES = {"http", "https"}
# Browsers and WHATWG parsers strip leading and trailing C0 controls and spaces, and drop
# tabs and newlines anywhere, before they parse.
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_NO_TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")
# Slack's link markup: `<https://example.com|label>` in message text is a link Slack follows.
_SLACK_LINK = linear(r"<([^<>|]+)(?:\|[^<>]*)?>")
# Shared address space for carrier-grade NAT (RFC 6598): not global, not "private" either.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# Host names that resolve inward on common systems, refused with every name under them
# (docs/security.md lists them). A name without a dot is refused too: it resolves through the
# machine's search domains, to an intranet host.
INTERNAL_NAMES = frozenset(
    {
        # the machine itself (RFC 6761, /etc/hosts of Debian, Ubuntu, Fedora, Alpine)
        "localhost",
        "localhost.localdomain",
        "localdomain",
        "ip6-localhost",
        "ip6-loopback",
        # cloud instance metadata services
        "metadata.google.internal",
        "instance-data.ec2.internal",
        "metadata.azure.com",
        "metadata.tencentyun.com",
        # private DNS zones: cloud-internal, Kubernetes, Consul, mDNS, RFC 8375 and common
        # intranet suffixes, and reverse-lookup names
        "internal",
        "local",
        "cluster.local",
        "svc",
        "consul",
        "home.arpa",
        "lan",
        "intranet",
        "corp",
        "private",
        "arpa",
        # public wildcard DNS that answers with the address written in the name
        # (127.0.0.1.nip.io, 10-0-0-1.sslip.io) or with 127.0.0.1 for every name
        "nip.io",
        "sslip.io",
        "xip.io",
        "nip.direct",
        "localtest.me",
        "lvh.me",
        "vcap.me",
        "lacolhost.com",
        "fuf.me",
        "readme.localtest.me",
    }
)


def internal_name(host: str) -> bool:
    """Whether a host name is, or is under, one of INTERNAL_NAMES (or has no dot)."""
    labels = host.rstrip(".").lower().split(".")
    if len(labels) < 2:
        return True
    return any(".".join(labels[i:]) in INTERNAL_NAMES for i in range(len(labels)))


class TooLarge(Exception):
    """The input is over a size limit; the shim answers 413."""


def not_a_json_number(name: str) -> Any:
    """`parse_constant` for `json.loads`: NaN and Infinity, which Python's parser takes, are
    not JSON."""
    raise ValueError(f"{name} is not a JSON number")


def parse_json(body: bytes) -> Any:
    """Parse a JSON body no larger than the limit. Nesting too deep, and the NaN/Infinity that
    Python's parser would accept but JSON does not have, are ValueErrors."""
    if len(body) > MAX_BODY_BYTES:
        raise TooLarge(f"body is larger than {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(body, parse_constant=not_a_json_number)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels") from None


def shape_errors(value: Any, base: str) -> list[FieldError]:
    """The request's complexity budgets, then what no store can hold, each at its path.

    Budgets first, in one walk that builds no path: more than MAX_VALUES values, nesting deeper
    than MAX_DEPTH, a member name over MAX_KEY_LENGTH or a string over MAX_STRING characters
    refuses the request with one error naming the budget, before any per-value check runs.
    Paths are built only for the errors reported, and bounded (a name repeated down a deep
    chain must not make each error as long as the chain).
    """
    if (over := _over_budget(value, base)) is not None:
        return [over]
    errors = BoundedErrors()
    for links, code, problem in storable_problems(value):
        errors.add(partial(field_error, base, links, code, problem))
    return errors.result()


def field_error(base: str, links: Links, code: str, message: str) -> FieldError:
    """An error at the path the links lead to, under `base`, the path bounded."""
    path = pointer(path_of(links), limit=MAX_ERROR_PATH)
    return FieldError(path=base + path, code=code, message=message)


def _over_budget(value: Any, base: str) -> FieldError | None:
    for count, (links, depth, item) in enumerate(walk(value), start=1):
        if count > MAX_VALUES:
            return FieldError(
                path=base,
                code="too_many_values",
                message=f"more than {MAX_VALUES} values (the budget of one request)",
            )
        if depth > MAX_DEPTH:
            return field_error(base, links, "too_deep", f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, str) and len(item) > MAX_STRING:
            return field_error(
                base, links, "string_too_long", f"longer than {MAX_STRING} characters"
            )
        if isinstance(item, dict):
            for key in item:
                if len(key) > MAX_KEY_LENGTH:
                    return field_error(
                        base,
                        (links, key[:64]),
                        "name_too_long",
                        f"a member name is longer than {MAX_KEY_LENGTH} characters",
                    )
    return None


def _ip_of(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host spells in the forms urllib-based clients accept, or None."""
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


def _host_problem(host: str) -> str | None:
    address = _ip_of(host)
    if address is not None:
        return f"the URL points at an internal address ({address})" if _inward(address) else None
    if internal_name(host):
        return f"the URL points at an internal host ({host})"
    return None


def _whatwg_host(text: str) -> str | None:
    """The host a browser, Node's fetch or httpx would connect to: percent-decoded, IDNA/UTS 46
    mapped (full-width digits, ideographic dots, circled letters), IPv4 numbers normalised."""
    try:
        return ada_url.URL(text).hostname or None
    except ValueError:
        return None


def _urllib_host(text: str) -> str | None:
    """The host urllib, requests and curl-like parsers see (they differ from WHATWG on `\\`,
    zone ids and more)."""
    try:
        return urlsplit(text).hostname
    except ValueError:
        return None


_SCHEME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")


def _scheme(text: str) -> tuple[str, bool] | None:
    """The scheme as the WHATWG URL Standard reads one (a letter, then letters, digits, `+`,
    `.` or `-`, then `:`), lower-cased, and whether `//` follows it; None without one."""
    colon = text.find(":")
    name = text[:colon] if colon > 0 else ""
    if not name or not name[0].isascii() or not name[0].isalpha():
        return None
    if not _SCHEME_CHARACTERS.issuperset(name):
        return None
    return name.lower(), text.startswith("//", colon + 1)


def _may_start_with_scheme(text: str) -> bool:
    """Whether the text, cleaned, starts with an ASCII letter (as every scheme does): its
    first character past C0 controls and spaces (cleaning removes tabs and line breaks only
    among those, and strips them at the ends)."""
    first = text.lstrip(_C0_AND_SPACE)[:1]
    return first.isascii() and first.isalpha()


def url_like(text: str) -> str | None:
    """The text as a client would parse it, when a client would take it for a URL; else None.
    With `//` after it any scheme is a URL; special schemes are URLs without (`http:x`)."""
    if ":" not in text:
        return None  # the common case, found by one scan
    if not _may_start_with_scheme(text):
        return None  # a JSON body, a timestamp: no need to clean it all
    cleaned = text.strip(_C0_AND_SPACE).translate(_NO_TAB_OR_NEWLINE)
    found = _scheme(cleaned)
    if found is None or not (found[0] in _SPECIAL_SCHEMES or found[1]):
        return None
    return cleaned


@lru_cache(maxsize=16384)  # the input and the emitted event carry the same URLs
def url_problem(text: str, *, any_scheme: bool = False) -> str | None:
    """Why this URL may not be used, or None when it is an http(s) URL to the outside (with
    `any_scheme`, a URL of any scheme but `file` to the outside: `git://github.com/...` in a
    generated payload).

    The host is judged as each kind of client would read it, and refused if any of them
    would reach an internal address: a spelling one parser reads harmlessly may be read by
    another as 127.0.0.1.
    """
    cleaned = url_like(text) or text
    found = _scheme(cleaned)
    scheme = found[0] if found else ""
    if scheme == "file" or not (any_scheme or scheme in _ALLOWED_SCHEMES):
        return f"only http and https URLs are allowed, not {scheme or 'this'}"
    hosts = {h for h in (_whatwg_host(cleaned), _urllib_host(cleaned)) if h}
    # With no host for any parser, no client can fetch it: it is text, not a URL.
    return next((problem for host in sorted(hosts) if (problem := _host_problem(host))), None)


def _urls_in(text: str) -> Iterator[str]:
    """The URLs a client could take from this text: the whole text, or Slack link markup."""
    if ":" not in text:
        return  # neither: every URL has a scheme
    if url_like(text):
        yield text
    if "<" in text:
        for link in _SLACK_LINK.findall(text):
            if url_like(link):
                yield link


# Texts this long are judged afresh each time rather than kept in the cache of verdicts.
_CACHED_TEXT_CHARS = 1024


def _text_problem(text: str, any_scheme: bool) -> str | None:
    """Why a URL this text holds may not be used, or None (also for text that holds none)."""
    if ":" not in text:
        return None
    if "<" not in text and not _may_start_with_scheme(text):
        return None  # neither a URL nor link markup (a timestamp): not worth a cache entry
    if len(text) > _CACHED_TEXT_CHARS:
        return _judged_text(text, any_scheme)
    return _cached_text_problem(text, any_scheme)


def _judged_text(text: str, any_scheme: bool) -> str | None:
    for url in _urls_in(text):
        if problem := url_problem(url, any_scheme=any_scheme):
            return problem
    return None


# An event carries the same URLs invocation after invocation (a repository's API links).
_cached_text_problem = lru_cache(maxsize=8192)(_judged_text)


def plainly_safe(
    value: Any, *, urls: bool = True, storable: bool = False, any_scheme: bool = False
) -> bool:
    """One pass that builds no paths: True when no string or member name of the value holds a
    URL `url_errors` would refuse (with `urls`) or text no store can hold, and no number is
    infinite (with `storable`). The checks run their walks, which say where, only when this
    says there may be something to say: the common case is nothing. (It looks at every string
    of every event, so the texts of each object or array are judged together: joined, one
    scan each finds that none holds a NUL, a non-ASCII character or a colon.)"""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            texts = [*item]  # member names
            children: Any = item.values()
        elif isinstance(item, list):
            texts, children = [], item
        else:
            texts, children = [], (item,)
        for child in children:
            if isinstance(child, str):
                texts.append(child)
            elif isinstance(child, dict | list):
                stack.append(child)
            elif storable and isinstance(child, float) and not math.isfinite(child):
                return False
        if texts and not _texts_plainly_safe(texts, urls, storable, any_scheme):
            return False
    return True


def _texts_plainly_safe(texts: list[str], urls: bool, storable: bool, any_scheme: bool) -> bool:
    joined = "\x01".join(texts)
    if (
        storable
        and ("\x00" in joined or not joined.isascii())
        and any("\x00" in text or (not text.isascii() and unstorable(text)) for text in texts)
    ):
        return False
    if urls and ":" in joined:
        return not any(_text_problem(text, any_scheme) for text in texts if ":" in text)
    return True


def url_errors(value: Any, base: str, *, any_scheme: bool = False) -> list[FieldError]:
    """Every URL in the value (a whole string, a member name, or a Slack `<url|label>` link)
    must be http(s) (with `any_scheme`: of any scheme but `file`) to a public host."""
    if plainly_safe(value, any_scheme=any_scheme):
        return []
    return walked_url_errors(value, base, any_scheme=any_scheme)


def walked_url_errors(value: Any, base: str, *, any_scheme: bool = False) -> list[FieldError]:
    """`url_errors` by the walk that says where each one is."""
    errors = BoundedErrors()
    for links, _, item in walk(value):
        texts: list[tuple[Links, str]] = [(links, item)] if isinstance(item, str) else []
        if isinstance(item, dict):
            texts += [((links, key), key) for key in item if ":" in key]
        for at, text in texts:
            if problem := _text_problem(text, any_scheme):
                errors.add(partial(field_error, base, at, "unsafe_url", problem))
    return errors.result()
