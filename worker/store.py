"""Postgres access (asyncpg): migrations, the workflow catalogue and the executions table.

Every SQL statement of the service lives here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from contracts.ids import execution_id_for_event
from contracts.models import TriggerEvent, TriggerType
from contracts.specs import Trigger
from worker.authz import Role

log = structlog.get_logger(__name__)

# Any fixed 64-bit number: every `migrate` in the cluster serialises on it.
_MIGRATION_LOCK = 0x6D74695F6D6967


def migrations_dir() -> Path:
    """Migrations ship inside the wheel; an editable checkout reads the repository's folder."""
    packaged = Path(str(resources.files("worker"))) / "_migrations"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[1] / "migrations"


async def _init_connection(conn: asyncpg.Connection) -> None:
    for pg_type in ("json", "jsonb"):
        await conn.set_type_codec(
            pg_type, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, reset=_keep_session
    )
    return pool


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Pooled connections carry no session state: nothing here SETs, LISTENs, takes a session
    advisory lock or opens a cursor outside a transaction (the migrations and the catalog
    listener use connections of their own). So a release needs no reset query, a round trip
    per use that was 6 % of the scheduler's time; asyncpg still rolls back an open transaction."""


def _split_database(dsn: str) -> tuple[str, str]:
    """(DSN of the server's maintenance database, name of the target database)."""
    base, _, rest = dsn.rpartition("/")
    name, sep, query = rest.partition("?")
    return f"{base}/postgres{sep}{query}", name


async def ensure_database(dsn: str) -> bool:
    """Create the target database if it does not exist; True when it was created."""
    admin_dsn, name = _split_database(dsn)
    conn = await asyncpg.connect(admin_dsn)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        quoted = '"' + name.replace('"', '""') + '"'
        try:
            await conn.execute(f"CREATE DATABASE {quoted}")
        except asyncpg.DuplicateDatabaseError:
            return False  # another migrate won the race
        return True
    finally:
        await conn.close()


async def drop_database(dsn: str) -> None:
    admin_dsn, name = _split_database(dsn)
    conn = await asyncpg.connect(admin_dsn)
    try:
        quoted = '"' + name.replace('"', '""') + '"'
        await conn.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    finally:
        await conn.close()


async def migrate(dsn: str, directory: Path | None = None) -> list[str]:
    """Apply the pending migrations in order, each in its own transaction; returns their names.

    An advisory lock makes concurrent runs wait for each other; a checksum per applied file
    refuses to go on when a migration was edited after it ran somewhere.
    """
    await ensure_database(dsn)
    files = sorted((directory or migrations_dir()).glob("*.sql"))
    conn = await asyncpg.connect(dsn)
    applied_now: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version    text PRIMARY KEY,
                   checksum   text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        applied = dict(await conn.fetch("SELECT version, checksum FROM schema_migrations"))
        for path in files:
            sql = path.read_text()
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if path.name in applied:
                if applied[path.name] != checksum:
                    raise RuntimeError(f"migration {path.name} changed after it was applied")
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
                    path.name,
                    checksum,
                )
            applied_now.append(path.name)
            log.info("migration applied", version=path.name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
        await conn.close()
    return applied_now


@dataclass(frozen=True)
class Access:
    """A workflow as one user sees it: their role, and the trigger they asked for."""

    workflow_id: str
    role: Role | None
    trigger: Trigger | None
    # The workflow's own rate limits per minute, where it overrides the defaults.
    rate_limit_per_user: int | None = None
    rate_limit_per_workflow: int | None = None


_TRIGGER_COLUMNS = "t.workflow_id, t.id, t.type, t.config, t.enabled, t.manual_invocation"


def _trigger(row: asyncpg.Record) -> Trigger:
    return Trigger(
        workflow_id=row["workflow_id"],
        id=row["id"],
        type=TriggerType(row["type"]),
        config=row["config"],
        enabled=row["enabled"],
        manual_invocation=row["manual_invocation"],
    )


async def load_access(
    pool: asyncpg.Pool, workflow_id: str, user_id: str, trigger_id: str | None = None
) -> Access | None:
    """One round trip: the user's role on the workflow and, if asked, the trigger."""
    row = await pool.fetchrow(
        f"""SELECT w.id AS wf,
                   CASE WHEN w.owner = $2 THEN 'owner' ELSE m.role END AS role,
                   w.rate_limit_per_user_per_minute, w.rate_limit_per_workflow_per_minute,
                   {_TRIGGER_COLUMNS}
              FROM workflows w
              LEFT JOIN workflow_members m ON m.workflow_id = w.id AND m.user_id = $2
              LEFT JOIN workflow_triggers t ON t.workflow_id = w.id AND t.id = $3
             WHERE w.id = $1""",  # noqa: S608 -- constant column list
        workflow_id,
        user_id,
        trigger_id,
    )
    if row is None:
        return None
    trigger = _trigger(row) if row["id"] is not None else None
    return Access(
        workflow_id=row["wf"],
        role=Role.parse(row["role"]),
        trigger=trigger,
        rate_limit_per_user=row["rate_limit_per_user_per_minute"],
        rate_limit_per_workflow=row["rate_limit_per_workflow_per_minute"],
    )


CATALOG_CHANNEL = "mti_catalog"  # NOTIFY payload: the id of a workflow that changed


class AccessCache:
    """Recently loaded `Access` answers, so the hot path skips a query per invocation.

    Every change to a workflow, its members or triggers NOTIFYs `CATALOG_CHANNEL` on commit
    (see `upsert_workflow`); the cache listens and drops that workflow's entries. Entries
    also expire after `ttl` seconds, which bounds staleness should the listening connection
    be lost.
    """

    def __init__(self, pool: asyncpg.Pool, ttl: float = 10.0) -> None:
        self._pool = pool
        self._ttl = ttl
        self._entries: dict[tuple[str, str, str | None], tuple[float, Access | None]] = {}
        self._listener: asyncpg.Connection | None = None

    async def start(self, dsn: str) -> None:
        self._listener = await asyncpg.connect(dsn)
        await self._listener.add_listener(CATALOG_CHANNEL, self._changed)

    def _changed(self, _conn: Any, _pid: int, _channel: str, workflow_id: str) -> None:
        for key in [k for k in self._entries if k[0] == workflow_id]:
            del self._entries[key]

    async def load(self, workflow_id: str, user_id: str, trigger_id: str | None) -> Access | None:
        key = (workflow_id, user_id, trigger_id)
        now = time.monotonic()
        cached = self._entries.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        access = await load_access(self._pool, workflow_id, user_id, trigger_id)
        if len(self._entries) > 100_000:
            self._entries.clear()
        self._entries[key] = (now + self._ttl, access)
        return access

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()


async def list_triggers(pool: asyncpg.Pool, workflow_id: str) -> list[Trigger]:
    rows = await pool.fetch(
        f"""SELECT {_TRIGGER_COLUMNS} FROM workflow_triggers t
             WHERE t.workflow_id = $1 ORDER BY t.id""",  # noqa: S608 -- constant column list
        workflow_id,
    )
    return [_trigger(row) for row in rows]


async def load_triggers(
    pool: asyncpg.Pool, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], Trigger]:
    """The triggers of these (workflow id, trigger id) pairs that exist, in one round trip."""
    workflows, triggers = zip(*keys, strict=True) if keys else ((), ())
    rows = await pool.fetch(
        f"""SELECT {_TRIGGER_COLUMNS} FROM workflow_triggers t
              JOIN unnest($1::text[], $2::text[]) AS k(workflow_id, id)
                ON t.workflow_id = k.workflow_id AND t.id = k.id""",  # noqa: S608 -- constant
        list(workflows),
        list(triggers),
    )
    return {(row["workflow_id"], row["id"]): _trigger(row) for row in rows}


async def triggers_of_type(pool: asyncpg.Pool, trigger_type: str) -> frozenset[tuple[str, str]]:
    """(workflow id, trigger id) of every trigger of this type."""
    rows = await pool.fetch(
        "SELECT workflow_id, id FROM workflow_triggers WHERE type = $1", trigger_type
    )
    return frozenset((row["workflow_id"], row["id"]) for row in rows)


class UnrecordableEvent(Exception):
    """The database refuses this event's row for a reason of the row's own (data it cannot
    hold, a constraint it breaks): no retry can fix it, and it must not hold back others."""


class UnknownTrigger(UnrecordableEvent):
    """The event names a workflow or trigger that does not exist."""


# PostgreSQL error classes about the row itself, not the server: 22 data exception (NUL in
# text, unpaired surrogates, bad JSON numbers), 23 integrity constraint violation, 54
# program limit exceeded (a value too large).
ROW_ERRORS = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.ProgramLimitExceededError,
)


async def record_execution(pool: asyncpg.Pool, event: TriggerEvent) -> str | None:
    """Insert the execution for this event; its id, or None if the event was seen before.
    Raises `UnrecordableEvent` when the row itself is refused."""
    execution_id = execution_id_for_event(event.event_id)
    try:
        inserted = await pool.fetchval(
            """INSERT INTO workflow_executions
                   (execution_id, event_id, workflow_id, trigger_id, trigger_type,
                    trigger_data, input_data, metadata)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (event_id) DO NOTHING
               RETURNING execution_id""",
            execution_id,
            event.event_id,
            event.workflow_id,
            event.trigger_id,
            event.trigger_type.value,
            event.trigger_data,
            event.input_data,
            event.metadata,
        )
    except asyncpg.ForeignKeyViolationError as exc:
        raise UnknownTrigger(f"{event.workflow_id}/{event.trigger_id}") from exc
    except ROW_ERRORS as exc:
        raise UnrecordableEvent(f"{type(exc).__name__}: {exc}") from exc
    return inserted  # type: ignore[no-any-return]


async def record_executions(
    pool: asyncpg.Pool, events: list[TriggerEvent]
) -> dict[str, str | None]:
    """Insert the executions of many events in one statement: event id -> its execution id,
    or None for an event seen before. Raises UnrecordableEvent if any row is refused (the
    caller then records them one by one to find which)."""
    try:
        rows = await pool.fetch(
            """INSERT INTO workflow_executions
                   (execution_id, event_id, workflow_id, trigger_id, trigger_type,
                    trigger_data, input_data, metadata)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                                    $5::text[], $6::jsonb[], $7::jsonb[], $8::jsonb[])
               ON CONFLICT (event_id) DO NOTHING
               RETURNING event_id, execution_id""",
            [execution_id_for_event(e.event_id) for e in events],
            [e.event_id for e in events],
            [e.workflow_id for e in events],
            [e.trigger_id for e in events],
            [e.trigger_type.value for e in events],
            [e.trigger_data for e in events],
            [e.input_data for e in events],
            [e.metadata for e in events],
        )
    except ROW_ERRORS as exc:
        raise UnrecordableEvent("a row of the batch was refused") from exc
    inserted = {row["event_id"]: row["execution_id"] for row in rows}
    return {e.event_id: inserted.get(e.event_id) for e in events}


@dataclass(frozen=True)
class Execution:
    execution_id: str
    event_id: str
    workflow_id: str
    trigger_id: str
    trigger_type: str
    status: str
    trigger_data: dict[str, Any]
    input_data: Any
    metadata: dict[str, Any]
    created_at: datetime


async def get_execution(pool: asyncpg.Pool, execution_id: str) -> Execution | None:
    row = await pool.fetchrow(
        """SELECT execution_id, event_id, workflow_id, trigger_id, trigger_type, status,
                  trigger_data, input_data, metadata, created_at
             FROM workflow_executions WHERE execution_id = $1""",
        execution_id,
    )
    return Execution(**dict(row)) if row else None


async def upsert_workflow(
    conn: asyncpg.Connection,
    *,
    workflow_id: str,
    name: str,
    owner: str,
    members: dict[str, str],
    triggers: list[Trigger],
    rate_limit_per_user: int | None = None,
    rate_limit_per_workflow: int | None = None,
) -> None:
    """Create or update a workflow, its members and triggers, in the caller's transaction."""
    await conn.execute(
        """INSERT INTO workflows (id, name, owner, rate_limit_per_user_per_minute,
                                  rate_limit_per_workflow_per_minute)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (id) DO UPDATE
              SET name = EXCLUDED.name, owner = EXCLUDED.owner,
                  rate_limit_per_user_per_minute = EXCLUDED.rate_limit_per_user_per_minute,
                  rate_limit_per_workflow_per_minute =
                      EXCLUDED.rate_limit_per_workflow_per_minute,
                  updated_at = now()""",
        workflow_id,
        name,
        owner,
        rate_limit_per_user,
        rate_limit_per_workflow,
    )
    # Delivered on commit: every worker's AccessCache forgets this workflow.
    await conn.execute("SELECT pg_notify($1, $2)", CATALOG_CHANNEL, workflow_id)
    await conn.execute("DELETE FROM workflow_members WHERE workflow_id = $1", workflow_id)
    await conn.executemany(
        "INSERT INTO workflow_members (workflow_id, user_id, role) VALUES ($1, $2, $3)",
        [(workflow_id, user, role) for user, role in members.items()],
    )
    await conn.executemany(
        """INSERT INTO workflow_triggers (workflow_id, id, type, config, enabled, manual_invocation)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (workflow_id, id) DO UPDATE
              SET type = EXCLUDED.type, config = EXCLUDED.config, enabled = EXCLUDED.enabled,
                  manual_invocation = EXCLUDED.manual_invocation, updated_at = now()""",
        [
            (workflow_id, t.id, t.type.value, t.config, t.enabled, t.manual_invocation)
            for t in triggers
        ],
    )


# The workflow chooser lists at most this many; a person belongs to far fewer.
MAX_WORKFLOWS_LISTED = 1000


@dataclass(frozen=True)
class Membership:
    """A workflow a person belongs to, and their role in it."""

    id: str
    name: str
    role: Role


async def list_workflows(pool: asyncpg.Pool, user_id: str) -> list[Membership]:
    """The workflows `user_id` owns or is a member of, with their role, by id."""
    rows = await pool.fetch(
        """SELECT w.id, w.name,
                  CASE WHEN w.owner = $1 THEN 'owner' ELSE m.role END AS role
             FROM workflows w
             LEFT JOIN workflow_members m ON m.workflow_id = w.id AND m.user_id = $1
            WHERE w.owner = $1 OR m.user_id IS NOT NULL
            ORDER BY w.id
            LIMIT $2""",
        user_id,
        MAX_WORKFLOWS_LISTED,
    )
    summaries = []
    for row in rows:
        role = Role.parse(row["role"])
        if role is not None:
            summaries.append(Membership(row["id"], row["name"], role))
    return summaries


class BadCursor(ValueError):
    """A paging cursor this service did not hand out."""


def encode_cursor(execution: Execution) -> str:
    """An opaque position after `execution` in newest-first order: (created_at, id)."""
    key = f"{execution.created_at.isoformat()}|{execution.execution_id}"
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, execution_id = raw.split("|", 1)
        moment = datetime.fromisoformat(created_at)
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors too
        raise BadCursor(cursor) from exc
    if moment.tzinfo is None or not execution_id:
        raise BadCursor(cursor)
    return moment, execution_id


async def list_executions(
    pool: asyncpg.Pool,
    workflow_id: str,
    *,
    trigger_id: str | None,
    manual: bool | None,
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[Execution]:
    """A workflow's executions, newest first, optionally of one trigger and manual or not,
    starting after a cursor position. Served by the (workflow_id[, trigger_id], created_at)
    indexes; ties on created_at are broken by execution_id so that pages never overlap."""
    before_time, before_id = after if after is not None else (None, None)
    rows = await pool.fetch(
        """SELECT execution_id, event_id, workflow_id, trigger_id, trigger_type, status,
                  trigger_data, input_data, metadata, created_at
             FROM workflow_executions
            WHERE workflow_id = $1
              AND ($2::text IS NULL OR trigger_id = $2)
              AND ($3::boolean IS NULL
                   OR (metadata @> '{"manual_invocation": true}'::jsonb) = $3)
              AND ($4::timestamptz IS NULL OR (created_at, execution_id) < ($4, $5::text))
            ORDER BY created_at DESC, execution_id DESC
            LIMIT $6""",
        workflow_id,
        trigger_id,
        manual,
        before_time,
        before_id,
        limit,
    )
    return [Execution(**dict(row)) for row in rows]
