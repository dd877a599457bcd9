"""Migrations on a real PostgreSQL: the stairway from empty, idempotence, locking, tampering."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from worker import store


@pytest.fixture
async def empty_database(urls: dict[str, str]) -> AsyncIterator[str]:
    dsn = urls["MTI_DATABASE_URL"].rsplit("/", 1)[0] + f"/mti_mig_{uuid.uuid4().hex[:10]}"
    yield dsn
    await store.drop_database(dsn)


async def test_stairway_applies_every_migration_on_an_empty_database(empty_database: str) -> None:
    # Given a database that does not exist yet
    files = sorted(p.name for p in store.migrations_dir().glob("*.sql"))
    # When migrate runs, then again
    first = await store.migrate(empty_database)
    second = await store.migrate(empty_database)
    # Then it was created, every migration ran once, and the tables of docs/architecture.md exist
    assert first == files
    assert second == []
    conn = await asyncpg.connect(empty_database)
    try:
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        }
        unique = await conn.fetchval(
            """SELECT count(*) FROM pg_indexes WHERE tablename = 'workflow_executions'
               AND indexdef LIKE 'CREATE UNIQUE INDEX%(event_id)'"""
        )
    finally:
        await conn.close()
    assert {
        "workflows",
        "workflow_members",
        "workflow_triggers",
        "workflow_executions",
        "schema_migrations",
    } <= tables
    assert unique == 1


async def test_concurrent_migrations_wait_for_each_other(empty_database: str) -> None:
    await store.ensure_database(empty_database)
    results = await asyncio.gather(*(store.migrate(empty_database) for _ in range(3)))
    applied = [name for result in results for name in result]
    assert sorted(applied) == sorted(p.name for p in store.migrations_dir().glob("*.sql"))


async def test_an_edited_migration_is_refused(empty_database: str, tmp_path: Path) -> None:
    for path in store.migrations_dir().glob("*.sql"):
        shutil.copy(path, tmp_path / path.name)
    await store.migrate(empty_database, tmp_path)
    first = sorted(tmp_path.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited afterwards\n")
    with pytest.raises(RuntimeError, match="changed after it was applied"):
        await store.migrate(empty_database, tmp_path)


async def test_trigger_types_are_listed_by_the_registry_not_by_the_database(
    empty_database: str,
) -> None:
    # Given every migration applied
    await store.migrate(empty_database)
    conn = await asyncpg.connect(empty_database)
    try:
        checks = [
            r["definition"]
            for r in await conn.fetch(
                """SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint
                   WHERE conrelid = 'workflow_triggers'::regclass AND contype = 'c'"""
            )
        ]
        # When a trigger of a type the database never heard of is written
        await conn.execute("INSERT INTO workflows (id, name, owner) VALUES ('wf', 'n', 'o')")
        await conn.execute(
            "INSERT INTO workflow_triggers (workflow_id, id, type) VALUES ('wf', 't', 'TELEGRAM')"
        )
        # Then only the shape of a type name is the database's to check
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO workflow_triggers (workflow_id, id, type) VALUES ('wf', 'u', 'x y')"
            )
    finally:
        await conn.close()
    assert not [c for c in checks if "WEBHOOK" in c], checks
