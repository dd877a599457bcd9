"""The database itself: the connection pool, creating and dropping the database, migrations."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg
import pydantic_core
import structlog

log = structlog.get_logger(__name__)

# Any fixed 64-bit number: every `migrate` in the cluster serialises on it.
_MIGRATION_LOCK = 0x6D74695F6D6967


def migrations_dir() -> Path:
    """Migrations ship inside the wheel; an editable checkout reads the repository's folder."""
    packaged = Path(str(resources.files("worker"))) / "_migrations"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "migrations"


def _json_bytes(value: Any) -> bytes:
    # pydantic's serializer: a third of json.dumps's time on the scheduler's batch inserts.
    # NaN and Infinity are written as such, so PostgreSQL refuses them as it always did.
    return pydantic_core.to_json(value, inf_nan_mode="constants")


def _jsonb_bytes(value: Any) -> bytes:
    return _JSONB_VERSION + _json_bytes(value)


def _from_jsonb(data: bytes) -> Any:
    return json.loads(data[1:])


_JSONB_VERSION = b"\x01"  # jsonb's binary format: a version byte, then the JSON text


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "json", encoder=_json_bytes, decoder=json.loads, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "jsonb", encoder=_jsonb_bytes, decoder=_from_jsonb, schema="pg_catalog", format="binary"
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
