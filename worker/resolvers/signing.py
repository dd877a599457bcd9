"""The headers of a signed HTTP delivery: one helper for every type that sends one.

A delivery's `Content-Length` is its raw body's UTF-8 length, and its signatures are
hex HMACs computed over exact strings (the raw body, or Slack's `v0:{timestamp}:{body}`).
The header names come from the type's kind (`signature_headers`), the same names its
redaction hides.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any


def merge_headers(*layers: dict[str, str]) -> dict[str, str]:
    """Later layers win; names compare case-insensitively and keep the winner's spelling."""
    merged: dict[str, tuple[str, str]] = {}
    for layer in layers:
        for name, value in layer.items():
            merged[name.lower()] = (name, value)
    return dict(merged.values())


def hmac_hex(secret: str, message: str, digest: Callable[[], Any] = hashlib.sha256) -> str:
    """The hex HMAC of the message's UTF-8 bytes with the secret's (SHA-256 unless told)."""
    return hmac.new(secret.encode(), message.encode(), digest).hexdigest()


def signed_headers(
    headers: dict[str, str], raw_body: str, signatures: dict[str, str] | None = None
) -> dict[str, str]:
    """The delivery's headers completed with the raw body's `Content-Length` and then the
    signatures (header name to value), each replacing any header of its name
    (case-insensitively) where it stands, or added at the end."""
    computed = {"Content-Length": str(len(raw_body.encode())), **(signatures or {})}
    return merge_headers(headers, computed)
