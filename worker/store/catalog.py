"""Writes to the workflow catalogue (`manual-trigger seed`, tests): each one NOTIFYs the
workers' access caches."""

from __future__ import annotations

import asyncpg

from contracts.specs import Trigger
from worker.store.access import CATALOG_CHANNEL


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
