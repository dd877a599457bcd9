"""The parameters that reproduce a recorded execution: what the API lists with each execution
and what `manual-trigger invoke --from-execution` starts from.

A manual invocation's are the parameters it was invoked with (its metadata's
`simulated_parameters`). Any other execution (an event a real trigger published, or a replayed
dead letter, which carries the original's trigger data) is read back into parameters by its
trigger type's resolver (`params_from`, the inverse of `resolve`). Either way the trigger's
redaction applies first, at the same locations as in the recorded event, and what it hid is
left out: no secret comes out through the parameters, and none is sent again as a placeholder.
"""

from __future__ import annotations

from typing import Any

from contracts.documents import walk
from contracts.redaction import Redaction
from contracts.specs import Trigger
from contracts.triggers import trigger_redaction
from worker import store
from worker.resolvers import RESOLVERS
from worker.resolvers.reproducing import without_hidden
from worker.safety import MAX_DEPTH


def reproduction(execution: store.Execution, trigger: Trigger | None) -> dict[str, Any] | None:
    """The parameters that invoke `trigger` again as `execution` ran; None when there are none
    to give (an execution of a trigger that no longer exists, or of another type, or one
    nested deeper than a request may be)."""
    metadata = execution.metadata if isinstance(execution.metadata, dict) else {}
    redaction = trigger_redaction(trigger) if trigger is not None else Redaction()
    if metadata.get("manual_invocation") is True and not metadata.get("replay_of"):
        parameters = metadata.get("simulated_parameters")
        return shown_parameters(parameters, redaction) if isinstance(parameters, dict) else None
    data = execution.trigger_data
    if (
        trigger is None
        or trigger.type.value != execution.trigger_type
        or not isinstance(data, dict)
    ):
        return None
    if any(depth > MAX_DEPTH for _, depth, _ in walk(data)):
        return None
    shown = redaction.record({"trigger_data": data})["trigger_data"]
    return RESOLVERS[trigger.type].params_from(shown, trigger.config)


def shown_parameters(parameters: dict[str, Any], redaction: Redaction) -> dict[str, Any]:
    """Parameters as the trigger's redaction shows them (the headers it hides, the body members
    and URLs it hides, read where the parameters hold them), without what it hid."""
    shown = redaction.record({"trigger_data": parameters})["trigger_data"]
    kept: dict[str, Any] = without_hidden(shown)
    return kept
