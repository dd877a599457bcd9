"""The one list of trigger types. Everything else that knows the types derives from it.

Each member `X` is a type whose description lives in `contracts/kinds/x.py` (its
`ManualInvocationSpec` and its kind, exported as `KIND`) and whose resolver lives in
`worker/resolvers/x.py` (exported as `RESOLVER`). `contracts.kinds.KINDS`, `SPECS`,
`worker.resolvers.RESOLVERS`, the exported JSON Schemas, the AsyncAPI document, the API's
schemas and the panel are all made from this list; a member whose modules are missing fails
at import. docs/trigger-types.md, "Adding a trigger type", walks through adding one.

A leaf module: it imports nothing of the project, so `contracts.models` takes the enum from
here and the kinds, which need the models, can still be found from it.
"""

from __future__ import annotations

import importlib
from enum import StrEnum
from types import ModuleType
from typing import Any

# (No docstring on the enum: it would become the `description` of the API's TriggerType
# schema.)


class TriggerType(StrEnum):
    CRON = "CRON"
    WEBHOOK = "WEBHOOK"
    EMAIL = "EMAIL"
    GITHUB = "GITHUB"
    SLACK = "SLACK"
    MANUAL = "MANUAL"


def module_name(trigger_type: TriggerType) -> str:
    """The name of the type's modules: `contracts.kinds.<name>`, `worker.resolvers.<name>`."""
    return trigger_type.value.lower()


def registered(package: str, trigger_type: TriggerType, export: str) -> tuple[str, Any]:
    """What the type's module in `package` exports as `export` (None if nothing), and the
    module's name; a registered type without that module fails with the way to add one."""
    name = f"{package}.{module_name(trigger_type)}"
    try:
        module: ModuleType = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        raise ImportError(
            f"trigger type {trigger_type.value} is registered (contracts/registry.py) but has "
            f"no module {name}: docs/trigger-types.md, 'Adding a trigger type'"
        ) from exc
    return name, getattr(module, export, None)
