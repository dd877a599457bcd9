"""Every registered trigger type's kind and spec, found from the registry.

`contracts.registry.TriggerType` lists the types; the type `X` is described by the module
`contracts.kinds.x`, which exports `KIND` (its `TriggerKind`, whose `spec` is its
`ManualInvocationSpec`). Nothing here lists a type: a type added to the registry is found,
and one whose module is missing or malformed fails here, at import.
"""

from __future__ import annotations

from contracts.kinds.base import TriggerKind, WirePreview
from contracts.registry import TriggerType, registered
from contracts.specs import ManualInvocationSpec

__all__ = ["KINDS", "SPECS", "TriggerKind", "WirePreview", "kind_of"]


def kind_of(trigger_type: TriggerType) -> TriggerKind:
    """The kind the type's module exports, checked to be that type's."""
    name, kind = registered(__name__, trigger_type, "KIND")
    if not isinstance(kind, TriggerKind) or kind.spec.trigger_type is not trigger_type:
        raise ImportError(f"{name}.KIND must be the TriggerKind of {trigger_type.value}")
    return kind


KINDS: dict[TriggerType, TriggerKind] = {t: kind_of(t) for t in TriggerType}
SPECS: dict[TriggerType, ManualInvocationSpec] = {t: kind.spec for t, kind in KINDS.items()}
