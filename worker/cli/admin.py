"""Setting an install up and taking it down: database, topology, workflows, tokens."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from redis.asyncio import Redis

from worker import amqp, store
from worker.auth import mint_token
from worker.catalog import Catalog, apply_catalog, demo_catalog, load_catalog
from worker.cli.common import (
    YesOption,
    command_pool,
    connect,
    fail,
    load_settings,
    run_async,
)
from worker.settings import Settings

app = typer.Typer()


@app.command()
def migrate() -> None:
    """Create the database if needed and apply pending migrations (safe to run concurrently)."""
    settings = load_settings()
    applied = run_async(lambda: store.migrate(settings.database_url.get_secret_value()))
    typer.echo(
        f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else "")
    )


@app.command()
def topology() -> None:
    """Declare every exchange, queue and binding (idempotent)."""
    settings = load_settings()

    async def declare() -> None:
        connection = await amqp.connect(
            settings.amqp_url.get_secret_value(), "manual-trigger topology"
        )
        async with connection:
            channel = await connection.channel()
            await amqp.declare_topology(channel, settings.topology, settings.delivery_limit)

    run_async(declare)
    t = settings.topology
    typer.echo(f"declared: exchanges {', '.join(t.exchanges)}; queues {', '.join(t.queues)}")


def _apply(catalog: Catalog) -> None:
    settings = load_settings()

    async def upsert() -> None:
        async with command_pool(settings) as pool:
            await apply_catalog(pool, catalog)

    run_async(upsert)
    for workflow in catalog.workflows:
        typer.echo(f"applied workflow {workflow.id}: {len(workflow.triggers)} trigger(s)")


@app.command()
def apply(path: Annotated[Path, typer.Argument(help="JSON or YAML: {workflows: [...]}")]) -> None:
    """Create or update workflows, members and triggers from a file (idempotent)."""
    try:
        catalog = load_catalog(path)
    except (ValidationError, ValueError, OSError) as exc:
        typer.echo(f"{path}: {exc}", err=True)
        raise typer.Exit(2) from None
    _apply(catalog)


@app.command()
def demo() -> None:
    """Seed the demo workflow `wf_demo`: one trigger of every type (idempotent)."""
    _apply(demo_catalog())


@app.command()
def token(
    user: Annotated[str, typer.Option(help="The user id (JWT `sub`).")],
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.", min=1)] = 3600,
) -> None:
    """Print a bearer token for USER, signed with the configured secret."""
    settings = load_settings()
    secret = settings.jwt_signing_secret
    if secret is None:
        fail("token needs MTI_JWT_SECRET (HS256); public-key tokens come from your IdP", 2)
    if ttl > settings.jwt_max_age_seconds:
        fail(
            f"--ttl {ttl} is over MTI_JWT_MAX_AGE_SECONDS ({settings.jwt_max_age_seconds}): "
            "the API would refuse the token",
            2,
        )
    claims = {"aud": settings.jwt_audience, "iss": settings.jwt_issuer}
    typer.echo(mint_token(secret, user, ttl, **{k: v for k, v in claims.items() if v}))


@app.command()
def teardown(yes: YesOption = False) -> None:
    """Remove this namespace's exchanges, queues (dead letters included), Redis keys and
    database: what `make run` or `migrate`, `topology` and `demo` left on shared services."""
    settings = load_settings()
    database = settings.database_url.get_secret_value().rsplit("/", 1)[-1].split("?")[0]
    typer.echo(_what_teardown_removes(settings, database))
    if not yes:
        if not sys.stdin.isatty():
            fail("refusing to tear down without --yes when not on a terminal", 2)
        if not typer.confirm("Remove them?"):
            fail("nothing removed", 1)
    keys = run_async(lambda: _remove(settings))
    typer.echo(f"removed: exchanges and queues, {keys} Redis key(s), database {database}")


def _what_teardown_removes(settings: Settings, database: str) -> str:
    t = settings.topology
    # A platform's own trigger exchange (MTI_TRIGGER_EXCHANGE) is never ours to remove.
    exchanges = [e for e in t.exchanges if e != t.platform_trigger_exchange]
    kept = (
        f" (the platform's {t.platform_trigger_exchange} stays)"
        if t.platform_trigger_exchange
        else ""
    )
    return (
        f"This removes, for namespace {settings.namespace or '(none)'!r}: exchanges "
        f"{', '.join(exchanges)}{kept}; queues {', '.join(t.queues)}; "
        f"Redis keys {t.redis_key('*')}; and database {database}."
    )


async def _remove(settings: Settings) -> int:
    """Topology, Redis keys, database, in that order; how many Redis keys went."""
    t = settings.topology
    connection = await connect(settings)
    async with connection:
        channel = await connection.channel()
        await amqp.delete_topology(channel, t)
    redis = Redis.from_url(settings.redis_url.get_secret_value())
    removed = 0
    try:
        async for key in redis.scan_iter(match=t.redis_key("*"), count=1000):
            removed += await redis.delete(key)
    finally:
        await redis.aclose()
    await store.drop_database(settings.database_url.get_secret_value())
    return removed
