"""Postgres access (asyncpg): migrations, the workflow catalogue and the executions table.

Every SQL statement of the service lives in this package; `from worker import store` and
`store.X` reach every name the rest of the service uses.
"""

from __future__ import annotations

from worker.store.access import (
    CATALOG_CHANNEL,
    MAX_WORKFLOWS_LISTED,
    NOT_CACHED,
    Access,
    AccessCache,
    Membership,
    list_triggers,
    list_workflows,
    load_access,
    load_triggers,
    triggers_of_type,
)
from worker.store.catalog import upsert_workflow
from worker.store.database import (
    create_pool,
    drop_database,
    ensure_database,
    migrate,
    migrations_dir,
)
from worker.store.executions import (
    ROW_ERRORS,
    BadCursor,
    Execution,
    UnknownTrigger,
    UnrecordableEvent,
    decode_cursor,
    encode_cursor,
    get_execution,
    list_executions,
    record_execution,
    record_executions,
)
from worker.store.updates import (
    Applied,
    Unfinished,
    UnstorableUpdate,
    apply_update,
    unfinished_executions,
)

__all__ = [
    "CATALOG_CHANNEL",
    "MAX_WORKFLOWS_LISTED",
    "NOT_CACHED",
    "ROW_ERRORS",
    "Access",
    "AccessCache",
    "Applied",
    "BadCursor",
    "Execution",
    "Membership",
    "Unfinished",
    "UnknownTrigger",
    "UnrecordableEvent",
    "UnstorableUpdate",
    "apply_update",
    "create_pool",
    "decode_cursor",
    "drop_database",
    "encode_cursor",
    "ensure_database",
    "get_execution",
    "list_executions",
    "list_triggers",
    "list_workflows",
    "load_access",
    "load_triggers",
    "migrate",
    "migrations_dir",
    "record_execution",
    "record_executions",
    "triggers_of_type",
    "unfinished_executions",
    "upsert_workflow",
]
