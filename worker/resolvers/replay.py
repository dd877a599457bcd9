"""Replays: a dead-lettered event emitted again through the manual path, edited or not.

The replayed event keeps the original's trigger data and input (with the `set` edits of the
request applied), gets a new event id derived from the replay's invocation id, and carries
the original metadata plus the manual invocation metadata with `replay_of`.
"""

from __future__ import annotations

import copy
from typing import Any

from contracts.models import FieldError, InvokeRequest
from contracts.specs import Trigger
from contracts.validation import pointer, validate
from worker.paths import parse_path, set_path
from worker.resolvers.base import InvalidInvocation, Resolution
from worker.safety import shape_errors, url_errors

# `parameters` of a replay: {"set": {"/trigger_data/body/amount": 5, ...}}
REPLAY_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "set": {
            "type": "object",
            "description": "JSON pointer (into the event) -> new value.",
            "propertyNames": {"pattern": "^/(trigger_data|input_data)(/.*)?$"},
        }
    },
}


def resolve_replay(request: InvokeRequest, trigger: Trigger) -> Resolution:
    original = request.replay_of
    assert original is not None
    if errors := validate(REPLAY_PARAMETERS, request.parameters, "/parameters"):
        raise InvalidInvocation(errors)
    if (original.workflow_id, original.trigger_id, original.trigger_type) != (
        trigger.workflow_id,
        trigger.id,
        trigger.type,
    ):
        raise InvalidInvocation(
            [
                FieldError(
                    path="/replay_of",
                    code="replay_mismatch",
                    message="the replayed event belongs to another workflow, trigger or type",
                )
            ]
        )
    edits: dict[str, Any] = request.parameters.get("set", {})
    if errors := shape_errors(edits, "/parameters/set") + url_errors(edits, "/parameters/set"):
        raise InvalidInvocation(errors)
    document = {
        "trigger_data": copy.deepcopy(original.trigger_data),
        "input_data": copy.deepcopy(original.input_data),
    }
    for path, value in edits.items():
        segments = parse_path(path)
        if segments == ["input_data"]:
            document["input_data"] = value
            continue
        try:
            set_path(document, segments, value)
        except KeyError:
            raise InvalidInvocation(
                [
                    FieldError(
                        path="/parameters/set" + pointer([path]),
                        code="invalid_path",
                        message=f"cannot set {path} in the event",
                    )
                ]
            ) from None
    warnings = []
    signed = "raw_body" in original.trigger_data or "raw_message" in original.trigger_data
    if signed and any(p.startswith("/trigger_data") for p in edits):
        warnings.append("edited a signed event: raw_body and its signature are the original's")
    return Resolution(
        trigger_data=document["trigger_data"],
        input_data=document["input_data"],
        metadata={**original.metadata, "original_occurred_at": original.occurred_at.isoformat()},
        warnings=warnings,
    )
