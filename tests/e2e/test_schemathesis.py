"""Schemathesis against the shim's own OpenAPI: no 5xx, no response that breaks the schema."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import Service

pytestmark = pytest.mark.e2e
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# Path parameters that exist, so that generated requests reach the worker, not only 404s.
CONFIG = """
[parameters]
"path.workflow_id" = "wf_demo"
"path.trigger_id" = "trig_webhook_1"
"""


def test_the_api_keeps_its_openapi_promises(service: Service, tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    token = service.token("demo-user", ttl=3600)["Authorization"]
    done = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(config),
            "run",
            f"{service.url}/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance,"
            "status_code_conformance,content_type_conformance",
            "-H",
            f"Authorization: {token}",
            "--max-examples",
            "40",
            "--seed",
            os.environ.get("SCHEMATHESIS_SEED", "20261125"),
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "No issues found" in done.stdout
