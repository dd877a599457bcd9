"""The README's curl examples, run as written against the running system."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import Service

pytestmark = pytest.mark.e2e
README = Path(__file__).resolve().parents[2] / "README.md"


def readme_curl_commands() -> list[str]:
    """Every curl command in the README's code blocks, with the lines it continues onto."""
    fences = re.findall(r"^```(\w*)\n(.*?)^```", README.read_text(), flags=re.DOTALL | re.M)
    commands: list[str] = []
    for language, block in fences:
        if language not in ("", "sh", "bash"):
            continue
        current: list[str] | None = None
        for line in block.splitlines():
            if line.startswith("curl "):
                current = [line]
                commands.append("")
            elif current is not None and line.startswith(" "):
                current.append(line)
            else:
                current = None
            if current is not None:
                commands[-1] = "\n".join(current)
    return commands


def test_the_readme_shows_the_issue_s_commands() -> None:
    commands = readme_curl_commands()
    assert len(commands) >= 9
    assert any("/manual-invoke/schema" in c for c in commands)
    assert any("<execution_id from the response>" in c for c in commands)


def test_every_readme_curl_example_answers_without_error(service: Service) -> None:
    # Given the README's commands, pointed at the test instance with a real token
    host = service.url.removeprefix("http://")
    token = service.token("demo-user")["Authorization"].removeprefix("Bearer ")
    last_execution = ""
    for command in readme_curl_commands():
        command = command.replace("localhost:8000", host)
        command = command.replace("<execution_id from the response>", last_execution)
        # When each runs in a shell, as a user would paste it
        done = subprocess.run(
            ["bash", "-c", command],
            env={**os.environ, "TOKEN": token},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        # Then it answers JSON that is not a problem document
        assert done.returncode == 0, done.stderr
        body = json.loads(done.stdout)
        assert not isinstance(body.get("status"), int), (command, body)
        last_execution = body.get("execution_id") or last_execution
    assert last_execution
