"""The README's examples, run as written against the running system: curl and the CLI."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from tests.helpers import Service, cli_env

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
RUNNABLE = ("curl ", ".venv/bin/manual-trigger ", "echo ")


def readme_commands() -> list[str]:
    """Every curl or CLI command in the README's shell blocks, continuation lines joined."""
    fences = re.findall(r"^```(\w*)\n(.*?)^```", README.read_text(), flags=re.DOTALL | re.M)
    commands: list[str] = []
    for language, block in fences:
        if language not in ("", "sh", "bash"):
            continue
        current: list[str] | None = None
        for line in block.splitlines():
            if line.startswith(RUNNABLE) and not line.startswith(".venv/bin/manual-trigger token"):
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
    commands = readme_commands()
    curls = [c for c in commands if c.startswith("curl ")]
    assert len(curls) >= 9
    assert any("/manual-invoke/schema" in c for c in curls)
    assert any("<execution_id from the response>" in c for c in curls)
    assert any(" replay " in c for c in commands) and any(" dlq " in c for c in commands)


async def run(command: str, env: dict[str, str]) -> tuple[int | None, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        command,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out, err


async def test_every_readme_example_answers_without_error(service: Service) -> None:
    # Given the README's commands, pointed at the test instance with a real token
    host = service.url.removeprefix("http://")
    settings = service.settings
    token = service.token("demo-user")["Authorization"].removeprefix("Bearer ")
    env = cli_env(settings, TOKEN=token)
    last_execution = ""
    for command in readme_commands():
        command = command.replace("localhost:8000", host)
        command = command.replace("<execution_id from the response>", last_execution)
        # When each runs in a shell, as a user would paste it
        code, out, err = await run(command, env)
        if "/api/v1/executions/" in command:
            # The scheduler records the execution moments after the 202: as a user would,
            # ask again while it answers 404.
            for _ in range(50):
                if b'"status":404' not in out:
                    break
                await asyncio.sleep(0.1)
                code, out, err = await run(command, env)
        service.responses.append(out.decode() + err.decode())  # checked for leaked secrets
        # Then it succeeds; curl's JSON answers are not problem documents
        assert code == 0, (command, out.decode(), err.decode())
        if command.startswith("curl "):
            body = json.loads(out)
            assert not isinstance(body.get("status"), int), (command, body)
            last_execution = body.get("execution_id") or last_execution
    assert last_execution


def readme_sample_202() -> dict[str, object]:
    """The JSON block the README shows as the invoke call's 202 answer."""
    blocks = re.findall(r"^```json\n(.*?)^```", README.read_text(), flags=re.DOTALL | re.M)
    sample = next(json.loads(b) for b in blocks if '"status": "accepted"' in b)
    assert isinstance(sample, dict)
    return sample


async def test_the_readme_s_202_body_shows_every_field_that_comes_back(service: Service) -> None:
    # When the README's first invoke call is sent
    command = next(c for c in readme_commands() if "manual-invoke" in c and "-X POST" in c)
    command = command.replace("localhost:8000", service.url.removeprefix("http://"))
    token = service.token("demo-user")["Authorization"].removeprefix("Bearer ")
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        command,
        env=cli_env(service.settings, TOKEN=token),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    service.responses.append(out.decode())
    answer = json.loads(out)
    # Then the README's sample names exactly the fields of the real answer, nested ones too
    sample = readme_sample_202()
    assert sorted(sample) == sorted(answer)
    resolved = answer["trigger_data"]["resolved_parameters"]
    shown = sample["trigger_data"]["resolved_parameters"]  # type: ignore[index]
    assert sorted(shown) == sorted(resolved)
