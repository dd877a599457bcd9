"""Write the JSON Schemas of the contracts to `contracts/schemas/`, and the AsyncAPI document of
the message interface to `contracts/asyncapi.json`, for other languages.

`python -m contracts.export` rewrites them; a unit test fails when they are stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from contracts import asyncapi
from contracts.executions import ExecutionUpdate
from contracts.kinds import SPECS
from contracts.models import InvokeRequest, InvokeResult, ManualInvocationMetadata, TriggerEvent
from contracts.specs import JSON_SCHEMA_DIALECT, ManualInvocationSpec

SCHEMA_DIR = Path(__file__).parent / "schemas"
# The AsyncAPI document of the message interface, beside the schemas.
ASYNCAPI_PATH = Path(__file__).parent / "asyncapi.json"

_MODELS: dict[str, type[BaseModel]] = {
    "invoke-request": InvokeRequest,
    "invoke-result": InvokeResult,
    "trigger-event": TriggerEvent,
    "execution-update": ExecutionUpdate,
    "manual-invocation-metadata": ManualInvocationMetadata,
    "manual-invocation-spec": ManualInvocationSpec,
}


def rendered_schemas() -> dict[str, str]:
    """File name -> exact file content, for every exported schema."""
    documents: dict[str, Any] = {
        f"{name}.schema.json": model.model_json_schema() for name, model in _MODELS.items()
    }
    for trigger_type, spec in SPECS.items():
        documents[f"parameters/{trigger_type.value.lower()}.schema.json"] = spec.parameter_schema
    # Every file says which dialect it is and where it belongs (`$id`, a URN of its name); the
    # documents are copied first (a spec's parameter schema is the one validation uses).
    documents = {
        name: {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": f"urn:manual-trigger:schemas:{name.removesuffix('.schema.json')}",
            **document,
        }
        for name, document in documents.items()
    }
    return {
        name: json.dumps(doc, indent=2, sort_keys=True) + "\n" for name, doc in documents.items()
    }


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    written = []
    for name, content in rendered_schemas().items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_schemas():
        print(path)
    ASYNCAPI_PATH.write_text(asyncapi.rendered())
    print(ASYNCAPI_PATH)
