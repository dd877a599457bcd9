"""Print the shim's OpenAPI document without starting anything (the UI's types come from it).

Usage: python scripts/openapi.py > FILE
"""

from __future__ import annotations

import json
import sys
from typing import Any, cast

from worker.resources import Resources
from worker.settings import Settings
from worker.shim.app import create_app


def document() -> dict[str, Any]:
    # Building the app touches no connection: routes and models are all the document needs.
    settings = Settings(jwt_secret="unused-here")  # noqa: S106 -- never verifies a token
    resources = Resources(settings, *(cast(Any, None),) * 3)
    return create_app(resources, cast(Any, None)).openapi()


if __name__ == "__main__":
    json.dump(document(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
