"""Reads of the workflow catalogue: who may do what on a workflow (cached), its triggers, the
workflows a person belongs to."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import Any

import asyncpg

from contracts.models import TriggerType
from contracts.specs import Trigger
from worker.authz import Role


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


class NotCached(enum.Enum):
    NOT_CACHED = "not cached"


NOT_CACHED = NotCached.NOT_CACHED


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

    def cached(
        self, workflow_id: str, user_id: str, trigger_id: str | None
    ) -> Access | NotCached | None:
        """The cached answer, without a read; `NOT_CACHED` when there is none."""
        cached = self._entries.get((workflow_id, user_id, trigger_id))
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        return NOT_CACHED

    async def load(self, workflow_id: str, user_id: str, trigger_id: str | None) -> Access | None:
        found = self.cached(workflow_id, user_id, trigger_id)
        if not isinstance(found, NotCached):
            return found
        key = (workflow_id, user_id, trigger_id)
        now = time.monotonic()
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
