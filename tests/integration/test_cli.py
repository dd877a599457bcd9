"""The operator commands of `manual-trigger`, run as a user would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import TEST_JWT_SECRET
from worker.auth import TokenVerifier
from worker.settings import Settings

pytestmark = pytest.mark.integration
CLI = Path(sys.executable).parent / "manual-trigger"


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MTI_DATABASE_URL": settings.database_url.get_secret_value(),
        "MTI_AMQP_URL": settings.amqp_url.get_secret_value(),
        "MTI_NAMESPACE": settings.namespace,
        "MTI_JWT_SECRET": TEST_JWT_SECRET,
    }
    return subprocess.run(
        [str(CLI), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_token_prints_only_a_token_for_the_user(settings: Settings) -> None:
    done = cli(settings, "token", "--user", "alice", "--ttl", "60")
    assert done.returncode == 0
    assert TokenVerifier(TEST_JWT_SECRET).verify(done.stdout.strip()) == "alice"


async def test_apply_upserts_a_file_idempotently(
    settings: Settings, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    # Given a workflow file kept in version control
    path = tmp_path / "flows.yaml"
    path.write_text(
        """
workflows:
  - id: wf_cli
    name: From a file
    owner: team-lead
    members: {ops-bot: operator}
    triggers:
      - {id: deploy, type: MANUAL, config: {input_schema: {type: object}}}
      - {id: hook, type: WEBHOOK, manual_invocation: false}
"""
    )
    # When it is applied twice, the second time with a changed member role
    first = cli(settings, "apply", str(path))
    path.write_text(path.read_text().replace("ops-bot: operator", "ops-bot: viewer"))
    second = cli(settings, "apply", str(path))
    # Then both succeed and the database holds the file's latest content, once
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "applied workflow wf_cli: 2 trigger(s)" in second.stdout
    triggers = await pool.fetch(
        "SELECT id, manual_invocation FROM workflow_triggers"
        " WHERE workflow_id = 'wf_cli' ORDER BY id"
    )
    assert [(r["id"], r["manual_invocation"]) for r in triggers] == [
        ("deploy", True),
        ("hook", False),
    ]
    roles = await pool.fetch(
        "SELECT user_id, role FROM workflow_members WHERE workflow_id='wf_cli'"
    )
    assert [(r["user_id"], r["role"]) for r in roles] == [("ops-bot", "viewer")]


async def test_an_invalid_file_is_refused_whole(
    settings: Settings, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        '{"workflows": [{"id": "wf_bad", "name": "x", "owner": "o",'
        ' "triggers": [{"id": "t", "type": "TELEPATHY"}]}]}'
    )
    done = cli(settings, "apply", str(path))
    assert done.returncode == 2
    assert "TELEPATHY" in done.stderr or "type" in done.stderr
    assert await pool.fetchval("SELECT count(*) FROM workflows WHERE id = 'wf_bad'") == 0


def test_migrate_and_demo_are_idempotent(settings: Settings, pool: asyncpg.Pool) -> None:
    for _ in range(2):
        migrate = cli(settings, "migrate")
        demo = cli(settings, "demo")
        assert migrate.returncode == 0, migrate.stderr
        assert "applied 0 migration(s)" in migrate.stdout
        assert demo.returncode == 0, demo.stderr
        assert "applied workflow wf_demo: 6 trigger(s)" in demo.stdout
