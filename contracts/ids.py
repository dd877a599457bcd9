"""Deterministic ids: a redelivered request must produce the very same event and execution.

The event id of a manual invocation derives from its invocation id, and every execution id
derives from its event id, so the scheduler's unique key on event_id drops duplicates.
"""

from __future__ import annotations

import uuid

_MANUAL_EVENTS = uuid.UUID("6f1c3c52-6a5e-4c44-9a53-4bb5f4a3a1d0")
_EXECUTIONS = uuid.UUID("0e4d1f0a-9c55-4b8e-8f0e-2d7d3f6a9b17")


def manual_event_id(invocation_id: str) -> str:
    return f"evt_manual_{uuid.uuid5(_MANUAL_EVENTS, invocation_id).hex}"


def execution_id_for_event(event_id: str) -> str:
    return f"exec_{uuid.uuid5(_EXECUTIONS, event_id).hex}"


def execution_url(execution_id: str) -> str:
    return f"/api/v1/executions/{execution_id}"
