"""The documented plain-AMQP example works as written, against the real broker."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from tests.helpers import TEST_JWT_SECRET, RunningSystem
from worker.auth import mint_token
from worker.settings import Settings

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "invoke_with_pika.py"
NODE_EXAMPLE = ROOT / "docs" / "examples" / "invoke_with_amqplib.js"


async def test_the_pika_example_invokes_and_prints_the_answer(
    settings: Settings, system: RunningSystem
) -> None:
    env = {
        **os.environ,
        "MTI_AMQP_URL": settings.amqp_url.get_secret_value(),
        "MTI_NAMESPACE": settings.namespace,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    result = json.loads(out)
    assert result["status"] == "accepted"
    assert result["trigger_data"]["resolved_parameters"]["headers"]["X-Source"] == "amqp-script"


@pytest.mark.parametrize("how", ["broker", "token"])
async def test_the_node_example_authenticates_both_ways(
    settings: Settings, system: RunningSystem, how: str
) -> None:
    env = {
        **os.environ,
        "MTI_AMQP_URL": settings.amqp_url.get_secret_value(),
        "MTI_NAMESPACE": settings.namespace,
        "MTI_TOKEN": mint_token(TEST_JWT_SECRET, "demo-user", 300),
        "NODE_PATH": str(ROOT / "ui" / "node_modules"),  # amqplib, from the panel's dev tools
    }
    process = await asyncio.create_subprocess_exec(
        "node",
        str(NODE_EXAMPLE),
        how,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, out.decode() + err.decode()
    result = json.loads(out)
    assert result["status"] == "accepted"
    assert result["requested_by"] == "demo-user"
