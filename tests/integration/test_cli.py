"""The operator commands of `manual-trigger`, run as a user would run them."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiormq
import asyncpg
import pytest

from contracts.models import (
    InvokeRequest,
    InvokeResult,
    InvokeStatus,
    TriggerEvent,
    TriggerType,
)
from contracts.topology import dead_letter_exchange, dead_letter_queue
from tests.helpers import (
    CLI,
    TEST_JWT_SECRET,
    RunningSystem,
    cli_env,
    eventually,
    make_settings,
    publish_raw,
    run_cli,
)
from worker import amqp, store
from worker.auth import TokenVerifier
from worker.settings import Settings, key_fingerprint

pytestmark = pytest.mark.integration


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
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


async def cli_async(
    settings: Settings, *args: str, stdin: bytes | None = None, **env: str
) -> tuple[int, str, str]:
    return await run_cli(settings, *args, stdin=stdin, **{"MTI_USER": "demo-user", **env})


WEBHOOK = ("wf_demo", "trig_webhook_1")


async def test_invoke_prints_the_event_and_execution(
    settings: Settings, system: RunningSystem, pool: asyncpg.Pool
) -> None:
    code, out, _ = await cli_async(
        settings,
        "invoke",
        *WEBHOOK,
        "--param",
        "body.order=42",
        "-p",
        "headers.X-Source=cli",
        "--description",
        "from a test",
    )
    assert code == 0
    assert "accepted" in out and "exec_" in out and '"order": 42' in out
    assert '"X-Source": "cli"' in out


async def test_invoke_json_merges_example_file_and_params(
    settings: Settings, system: RunningSystem, tmp_path: Path
) -> None:
    params = tmp_path / "params.json"
    params.write_text('{"number": 7, "title": "From a file"}')
    code, out, _ = await cli_async(
        settings,
        "invoke",
        "wf_demo",
        "trig_github_1",
        "--example",
        "Pull request opened",
        "--params-file",
        str(params),
        "-p",
        "title=From the flag",
        "--dry-run",
        "--json",
    )
    assert code == 0
    result = InvokeResult.parse(out)
    assert result.status is InvokeStatus.DRY_RUN
    assert result.trigger_data is not None
    pr = result.trigger_data.resolved_parameters["payload"]["pull_request"]
    assert (pr["number"], pr["title"], pr["head"]["ref"]) == (
        7,
        "From the flag",
        "feature/manual-triggers",
    )


async def test_invoke_reads_parameters_from_stdin(
    settings: Settings, system: RunningSystem
) -> None:
    code, out, _ = await cli_async(
        settings,
        "invoke",
        *WEBHOOK,
        "--params-file",
        "-",
        "--dry-run",
        "--json",
        stdin=b'{"body": {"piped": true}}',
    )
    assert code == 0
    result = InvokeResult.parse(out)
    assert result.trigger_data is not None
    assert result.trigger_data.resolved_parameters["body"] == {"piped": True}


@pytest.mark.parametrize(
    ("args", "env", "code", "shown"),
    [
        (["-p", "method=BREW"], {}, 2, "/parameters/method"),
        ([], {"MTI_USER": "demo-viewer"}, 3, "insufficient_role"),
        (["--user", "stranger"], {}, 4, "/workflow_id"),
        ([], {"MTI_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/"}, 5, "broker unavailable"),
    ],
    ids=["invalid", "denied", "not-found", "broker-down"],
)
async def test_invoke_exit_codes(
    settings: Settings,
    system: RunningSystem,
    args: list[str],
    env: dict[str, str],
    code: int,
    shown: str,
) -> None:
    returned, out, err = await cli_async(settings, "invoke", *WEBHOOK, *args, **env)
    assert returned == code
    assert shown in out + err


async def test_invoke_times_out_with_exit_5_when_no_worker_answers(
    settings: Settings, system: RunningSystem, broker: Any
) -> None:
    lonely = settings.model_copy(update={"namespace": settings.namespace + "lonely"})
    channel = await broker.channel()
    await amqp.declare_topology(channel, lonely.topology, lonely.delivery_limit)
    try:
        returned, _, err = await cli_async(lonely, "invoke", *WEBHOOK, "--timeout", "0.5")
    finally:
        await amqp.delete_topology(channel, lonely.topology)
        await channel.close()
    assert returned == 5
    assert "stays queued" in err


async def test_no_wait_publishes_and_returns_the_invocation_id(
    settings: Settings, system: RunningSystem
) -> None:
    code, out, _ = await cli_async(settings, "invoke", *WEBHOOK, "--no-wait", "--json")
    assert code == 0
    invocation_id = json.loads(out)["invocation_id"]
    result = await eventually(lambda: system.resources.statuses.finished(invocation_id))
    assert result.status is InvokeStatus.ACCEPTED


async def test_idempotency_key_flag(settings: Settings, system: RunningSystem) -> None:
    key = f"cli-{uuid.uuid4()}"
    first = await cli_async(settings, "invoke", *WEBHOOK, "--idempotency-key", key, "--json")
    again = await cli_async(settings, "invoke", *WEBHOOK, "--idempotency-key", key, "--json")
    assert first[0] == again[0] == 0
    assert InvokeResult.parse(first[1]) == InvokeResult.parse(again[1])
    changed = await cli_async(
        settings, "invoke", *WEBHOOK, "--idempotency-key", key, "-p", "body.x=1"
    )
    assert changed[0] == 2 and "idempotency_key_reused" in changed[1]


async def test_schema_shows_parameters_defaults_and_examples(settings: Settings) -> None:
    code, out, _ = await cli_async(settings, "schema", "wf_demo", "trig_manual_1")
    assert code == 0
    assert "environment *" in out and '"staging"' in out and "Deploy a release" in out
    code, out, _ = await cli_async(settings, "schema", "wf_demo", "trig_github_1", "--json")
    document = json.loads(out)
    assert document["trigger_config"]["secret"] == "***REDACTED***"
    assert "demo-github-webhook-secret" not in out
    assert (await cli_async(settings, "schema", "wf_demo", "trig_nope"))[0] == 4
    # Each event type's own fields are listed with the event they apply to
    code, out, _ = await cli_async(settings, "schema", "wf_demo", "trig_github_1")
    rows = [line.split() for line in out.splitlines()]
    assert ["head_sha", "Pull", "request"] in [row[:3] for row in rows]
    assert ["before", "Push"] in [row[:2] for row in rows]


def test_token_keeps_one_development_secret_wherever_it_runs(
    settings: Settings, tmp_path: Path
) -> None:
    # Given no configured secret, as on a fresh laptop
    env = cli_env(settings, XDG_CONFIG_HOME=str(tmp_path / "config"))
    env.pop("MTI_JWT_SECRET")
    env.pop("MTI_CONFIG_DIR", None)
    runs = []
    # When `token` runs from the repository and from somewhere else
    for directory in ("repo", "elsewhere"):
        (tmp_path / directory).mkdir()
        runs.append(
            subprocess.run(
                [str(CLI), "token", "--user", "alice"],
                env=env,
                cwd=tmp_path / directory,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
        )
    # Then both tokens verify with the one secret of the user's config directory, and the
    # log names its fingerprint, never the key
    secret = (tmp_path / "config" / "manual-trigger" / "dev-jwt-secret").read_text()
    for done in runs:
        assert TokenVerifier(secret).verify(done.stdout.strip()) == "alice"
        assert key_fingerprint(secret) in done.stderr
        assert secret not in done.stderr + done.stdout


async def test_invoke_without_a_user_says_how_to_name_one(settings: Settings) -> None:
    process = await asyncio.create_subprocess_exec(
        str(CLI),
        "invoke",
        *WEBHOOK,
        env={k: v for k, v in cli_env(settings).items() if k != "MTI_USER"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert "--user" in err.decode() and "MTI_USER" in err.decode()
    assert not out


@pytest.mark.parametrize("command", ["invoke", "replay", "dlq list", "teardown"])
def test_help_labels_only_options_that_take_a_value(settings: Settings, command: str) -> None:
    done = cli(settings, *command.split(), "--help")
    assert done.returncode == 0, done.stderr
    assert "<bool>" not in done.stdout
    flag = next(line for line in done.stdout.splitlines() if "--json" in line or "--yes" in line)
    assert "<" not in flag, flag
    if command == "invoke":
        assert "--timeout <float>" in done.stdout  # options with a value still say which


async def test_schema_table_names_types_as_a_reader_writes_them(settings: Settings) -> None:
    code, out, _ = await cli_async(settings, "schema", "wf_demo", "trig_email_1")
    assert code == 0
    assert "string | null" in out and "array of string" in out
    assert "['" not in out


async def test_teardown_asks_then_removes_queues_keys_and_database(
    urls: dict[str, str], settings: Settings, broker: Any, redis: Any
) -> None:
    # Given an install left behind by `make run`: topology, a dead letter, keys, a database
    own = make_settings(urls, f"{settings.namespace}td", f"mti_test_{settings.namespace}td")
    await store.migrate(own.database_url.get_secret_value())
    channel = await broker.channel()
    await amqp.declare_topology(channel, own.topology, own.delivery_limit)
    await redis.set(own.topology.redis_key("invocation", "left-over"), "{}")
    queues = [*own.topology.consumer_queues, dead_letter_queue(own.topology.invoke_queue)]
    try:
        # When teardown runs without a terminal and without --yes, nothing goes
        code, _, err = await run_cli(own, "teardown")
        assert code == 2 and "--yes" in err
        assert await redis.exists(own.topology.redis_key("invocation", "left-over"))
        # When it runs with --yes
        code, out, err = await run_cli(own, "teardown", "--yes")
        assert code == 0, err
        assert "1 Redis key(s)" in out
        # Then the queues, the keys and the database are gone
        for queue in queues:
            probe = await broker.channel()
            with pytest.raises(aiormq.exceptions.ChannelNotFoundEntity):
                await probe.declare_queue(queue, passive=True)
        assert not await redis.exists(own.topology.redis_key("invocation", "left-over"))
        admin = await asyncpg.connect(urls["MTI_DATABASE_URL"].rsplit("/", 1)[0] + "/postgres")
        try:
            assert not await admin.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", f"mti_test_{settings.namespace}td"
            )
        finally:
            await admin.close()
    finally:
        await amqp.delete_topology(channel, own.topology)
        await channel.close()
        await store.drop_database(own.database_url.get_secret_value())


# --- hostile dead letters ------------------------------------------------------------------

# A window title and bell, a screen clear, a C1 CSI, DEL, and markup rich would obey.
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x9b31m\x7f[bold red]boo[/]"
# Raw controls in what the CLI wrote (tab and newline are its own layout); C1 as UTF-8.
RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")
DEEP = b"[" * 100_000 + b"]" * 100_000
ROUTE = "webhook.wf_hostile.trig_hostile"


@pytest.fixture
async def hostile(urls: dict[str, str], settings: Settings, broker: Any) -> AsyncIterator[Settings]:
    """A namespace of its own (the session's database, for `dlq show`), removed afterwards."""
    own = make_settings(urls, f"{settings.namespace}h{uuid.uuid4().hex[:6]}", "unused")
    own = own.model_copy(update={"database_url": settings.database_url})
    channel = await broker.channel()
    await amqp.declare_topology(channel, own.topology, own.delivery_limit)
    try:
        yield own
    finally:
        await amqp.delete_topology(channel, own.topology)
        await channel.close()


def death(own: Settings, queue: str, **changes: Any) -> dict[str, Any]:
    """Death headers as RabbitMQ writes them; `changes` forge the x-death table."""
    exchange = own.topology.trigger_exchange
    table = {
        "count": 1,
        "reason": "rejected",
        "queue": queue,
        "time": datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        "exchange": exchange,
        "routing-keys": [ROUTE],
    }
    first = {"x-first-death-reason": "rejected", "x-first-death-queue": queue}
    return {"x-death": [table | changes], **first, "x-first-death-exchange": exchange}


def event_body(event_id: str) -> bytes:
    return TriggerEvent(
        event_id=event_id,
        workflow_id="wf_hostile",
        trigger_id="trig_hostile",
        trigger_type=TriggerType.WEBHOOK,
        occurred_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        trigger_data={"body": {"note": ESCAPES}},
    ).body()


async def dead_letter(
    broker: Any, own: Settings, queue: str, letters: list[tuple[bytes, dict[str, Any]]]
) -> None:
    """Into `queue`'s dead-letter queue, in order, headers as given (forged ones included)."""
    for body, headers in letters:
        await publish_raw(broker, dead_letter_exchange(queue), ROUTE, body, headers=headers)


async def cli_bytes(own: Settings, *args: str) -> tuple[int, bytes, bytes]:
    """The CLI's exit code and its output as the terminal would receive it, bytes unchanged."""
    env = {k: v for k, v in cli_env(own, MTI_USER="replayer").items() if k != "FORCE_COLOR"}
    process = await asyncio.create_subprocess_exec(
        str(CLI), *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    assert not RAW_CONTROL.search(out), out[:2000]
    assert not RAW_CONTROL.search(err), err[:2000]
    return process.returncode, out, err


async def test_hostile_dead_letters_are_listed_shown_and_replayed_one_by_one(
    hostile: Settings, broker: Any
) -> None:
    # Given a good dead letter among hostile ones: a body nested 100,000 deep, x-death
    # headers of shapes RabbitMQ never writes, escapes in the event id and the reason
    queue = hostile.topology.scheduler_queue
    good = death(hostile, queue)
    letters = [
        (event_body("ev-good"), good),
        (DEEP, good),
        (event_body("ev-xdeath-text"), {"x-death": "rejected"}),
        (event_body("ev-xdeath-items"), {"x-death": ["rejected", 5]}),
        (event_body("ev-count-text"), death(hostile, queue, count="5")),
        (event_body("ev-time-text"), death(hostile, queue, time="yesterday")),
        (event_body("ev-keys-text"), {**death(hostile, queue, **{"routing-keys": ROUTE})}),
        (event_body(f"ev-{ESCAPES}"), {**good, "x-first-death-reason": ESCAPES}),
        (b"\x1b[2J\x9b not JSON \x07", good),
    ]
    await dead_letter(broker, hostile, queue, letters)
    ids = ["ev-good", None, "ev-xdeath-text", "ev-xdeath-items", "ev-count-text"]
    ids += ["ev-time-text", "ev-keys-text", f"ev-{ESCAPES}", None]

    # When the operator lists them: every letter, in order, each with what could not be read
    code, out, err = await cli_bytes(hostile, "dlq", "list", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [row["event_id"] for row in rows] == ids
    assert [row["problem"] for row in rows] == [
        None,
        "body nested deeper than 64 levels",
        *["malformed x-death"] * 5,
        None,
        "body is not JSON",
    ]
    assert rows[2]["reason"] == "malformed x-death" and rows[7]["reason"] == ESCAPES
    code, out, err = await cli_bytes(hostile, "dlq", "list")
    assert code == 0, err
    assert b"ev-good" in out and b"9 dead-lettered event(s)" in out
    assert b"\\u001b]0;pwned" in out  # the escape is shown spelt out

    # And shows the one whose id holds escapes, by its id or as the listing spells it
    spelt = "ev-" + ESCAPES.translate({c: f"\\u{c:04x}" for c in (0x1B, 0x07, 0x9B, 0x7F)})
    for letter_id in (f"ev-{ESCAPES}", spelt):
        code, out, err = await cli_bytes(hostile, "dlq", "show", letter_id, "--json")
        assert code == 0, err
        shown = json.loads(out)
        assert shown["event_id"] == f"ev-{ESCAPES}" and shown["reason"] == ESCAPES
        assert shown["event"]["trigger_data"]["body"]["note"] == ESCAPES
    code, out, err = await cli_bytes(hostile, "dlq", "show", spelt)
    assert code == 0, err
    assert b"[bold red]boo[/]" in out  # rich markup printed as written

    # And previews a replay
    code, out, err = await cli_bytes(hostile, "replay", "--plan", "--json")
    assert code == 0, err
    assert json.loads(out)["plan"]["matching"] == len(letters)
    code, out, err = await cli_bytes(hostile, "replay", "--plan")
    assert code == 0, err
    assert b"9 dead-lettered event(s) match:" in out

    # When they are replayed as they were: the ones whose origin is forged are refused, the
    # rest go, and the refused ones stay in the queue, in order
    code, out, err = await cli_bytes(hostile, "replay", "--as-is", "--yes")
    assert code == 1, err
    assert json.loads(out.splitlines()[-1]) == {
        "matched": 9,
        "replayed": 4,
        "skipped": 0,
        "failed": {"malformed_x_death": 5},
        "interrupted": False,
    }
    code, out, err = await cli_bytes(hostile, "dlq", "list", "--json")
    assert code == 0, err
    assert [row["event_id"] for row in json.loads(out)] == ids[2:7]


async def test_hostile_dead_invoke_requests_are_listed_and_shown_inertly(
    hostile: Settings, broker: Any
) -> None:
    # Given dead-lettered invoke requests: a good one, one whose user id and reason hold
    # escapes, one nested 100,000 deep
    queue = hostile.topology.invoke_queue

    def request(invocation_id: str, user_id: str) -> bytes:
        return InvokeRequest(
            invocation_id=invocation_id,
            workflow_id="wf_hostile",
            trigger_id="trig_hostile",
            user_id=user_id,
            requested_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        ).body()

    good = death(hostile, queue)
    await dead_letter(
        broker,
        hostile,
        queue,
        [
            (request("inv-good", "alice"), good),
            (request("inv-hostile", ESCAPES), {**good, "x-first-death-reason": ESCAPES}),
            (DEEP, {"x-death": [{"count": "many"}]}),
        ],
    )
    # When the operator lists and shows them
    code, out, err = await cli_bytes(hostile, "dlq", "list", "--queue", "invoke", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [(row["invocation_id"], row["user_id"]) for row in rows] == [
        ("inv-good", "alice"),
        ("inv-hostile", ESCAPES),
        (None, None),
    ]
    assert rows[2]["problem"] == "body nested deeper than 64 levels; malformed x-death"
    code, out, err = await cli_bytes(hostile, "dlq", "list", "--queue", "invoke")
    assert code == 0, err
    assert b"3 dead-lettered request(s)" in out
    code, out, err = await cli_bytes(hostile, "dlq", "show", "inv-hostile", "--queue", "invoke")
    assert code == 0, err
    assert b"[bold red]boo[/]" in out
    code, out, err = await cli_bytes(hostile, "replay", "--queue", "invoke", "--plan")
    assert code == 0, err
    assert b"3 dead-lettered request(s) match:" in out
