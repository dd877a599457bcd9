"""The panel's own checks, run by the suite: its component tests, and its API types."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from scripts.openapi import document

UI = Path(__file__).resolve().parents[2] / "ui"
BIN = UI / "node_modules" / ".bin"


def test_the_panel_s_component_tests_pass() -> None:
    done = subprocess.run(
        [str(BIN / "vitest"), "run", "--reporter=dot"],
        cwd=UI,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in done.stdout


def test_the_panel_s_api_types_are_generated_from_the_shim(tmp_path: Path) -> None:
    """src/api/schema.d.ts is openapi-typescript's output for the shim's own document: when
    an endpoint changes, `make ui-types` must be run (and the panel compile against it)."""
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(document(), indent=2, sort_keys=True))
    generated = tmp_path / "schema.d.ts"
    subprocess.run(
        [str(BIN / "openapi-typescript"), str(spec), "-o", str(generated)],
        cwd=UI,
        capture_output=True,
        check=True,
        timeout=120,
    )
    committed = (UI / "src" / "api" / "schema.d.ts").read_text()
    assert generated.read_text() == committed, "the panel's API types drifted: make ui-types"
