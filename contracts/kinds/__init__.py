"""Every registered trigger type's kind and spec, found from the registry.

`contracts.registry.TriggerType` lists the types; the type `X` is described by the module
`contracts.kinds.x`, which exports `KIND` (its `TriggerKind`, whose `spec` is its
`ManualInvocationSpec`). Nothing here lists a type: a type added to the registry is found,
and one whose module is missing or malformed fails here, at import.
"""

from __future__ import annotations

import importlib

from contracts.kinds.base import TriggerKind, WirePreview
from contracts.registry import TriggerType, module_name
from contracts.specs import ManualInvocationSpec

__all__ = ["KINDS", "SPECS", "TriggerKind", "WirePreview", "kind_of"]


def kind_of(trigger_type: TriggerType) -> TriggerKind:
    """The kind the type's module exports, checked to be that type's."""
    name = f"{__name__}.{module_name(trigger_type)}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        raise ImportError(
            f"trigger type {trigger_type.value} is registered (contracts/registry.py) but has "
            f"no module {name}: docs/trigger-types.md, 'Adding a trigger type'"
        ) from exc
    kind = getattr(module, "KIND", None)
    if not isinstance(kind, TriggerKind) or kind.spec.trigger_type is not trigger_type:
        raise ImportError(f"{name}.KIND must be the TriggerKind of {trigger_type.value}")
    return kind


KINDS: dict[TriggerType, TriggerKind] = {t: kind_of(t) for t in TriggerType}
SPECS: dict[TriggerType, ManualInvocationSpec] = {t: kind.spec for t, kind in KINDS.items()}
