"""Deterministic ids: a redelivered request must produce the very same event and execution.

The event id of a manual invocation derives from its invocation id, and every execution id
derives from its event id, so the scheduler's unique key on event_id drops duplicates.
"""

from __future__ import annotations

import hashlib
import uuid

_MANUAL_EVENTS = uuid.UUID("6f1c3c52-6a5e-4c44-9a53-4bb5f4a3a1d0")
_IDEMPOTENT_INVOCATIONS = uuid.UUID("9d2f7a61-3c4b-4e8a-b1f0-5a6c7d8e9f01")
_REPLAYS = uuid.UUID("4c8e2b7d-1f3a-4d5e-8b9c-0a1b2c3d4e5f")
_EXECUTIONS = uuid.UUID("0e4d1f0a-9c55-4b8e-8f0e-2d7d3f6a9b17")


def uuid5_hex(namespace: uuid.UUID, name: str) -> str:
    """`uuid.uuid5(namespace, name).hex` without making a `UUID` (a fifth of the cost; every
    invocation derives several ids): SHA-1 of the namespace and the name, its first 16 bytes,
    version 5 in the 13th hex digit and the RFC 4122 variant in the 17th."""
    digest = hashlib.sha1(namespace.bytes + name.encode(), usedforsecurity=False).hexdigest()
    variant = "89ab"[int(digest[16], 16) & 3]
    return f"{digest[:12]}5{digest[13:16]}{variant}{digest[17:32]}"


def dashed(hex_id: str) -> str:
    """A UUID's 32 hex digits in its usual text form (`str(uuid.UUID(hex_id))`)."""
    return f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"


def idempotent_invocation_id(user_id: str, idempotency_key: str, fingerprint: str) -> str:
    """The invocation id of a keyed request: the same user, key and request (its
    `InvokeRequest.fingerprint()`) always make the same event, so a retry stays exactly-once
    even when the idempotency record is gone. What it asks for is part of the identity: after
    the record is gone (Redis emptied, the key reused after its TTL), the same key with another
    body is a new invocation with its own execution, never an answer about the first one."""
    return dashed(
        uuid5_hex(_IDEMPOTENT_INVOCATIONS, f"{user_id}\n{idempotency_key}\n{fingerprint}")
    )


def replay_invocation_id(event_id: str, again: str = "") -> str:
    """A replay of an event is one invocation, however often it is replayed, unless `again`
    names a deliberate new run."""
    return dashed(uuid5_hex(_REPLAYS, f"{event_id}\n{again}"))


def manual_event_id(invocation_id: str) -> str:
    return f"evt_manual_{uuid5_hex(_MANUAL_EVENTS, invocation_id)}"


def execution_id_for_event(event_id: str) -> str:
    return f"exec_{uuid5_hex(_EXECUTIONS, event_id)}"


def execution_url(execution_id: str) -> str:
    return f"/api/v1/executions/{execution_id}"


def derived_hex(seed: str, length: int = 40) -> str:
    """Hex digits that look random but always come out the same for the same seed."""
    digest = hashlib.sha256(seed.encode()).hexdigest()
    while len(digest) < length:
        digest += hashlib.sha256(digest.encode()).hexdigest()
    return digest[:length]
