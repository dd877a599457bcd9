"""`manual-trigger`: one command for every role and every operator task."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError

from worker import amqp, store
from worker.auth import mint_token
from worker.catalog import DEMO_FILE, apply_catalog, load_catalog
from worker.logging import configure_logging
from worker.runtime import Role, run_roles
from worker.settings import Settings

app = typer.Typer(
    help="Manual trigger invocation: fire any workflow trigger by hand, replay dead letters.",
    no_args_is_help=True,
    add_completion=False,
)
T = TypeVar("T")


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings)
    return settings


def _run(main: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(main())  # type: ignore[arg-type]


def _serve(roles: list[Role]) -> None:
    settings = _settings()
    _run(lambda: run_roles(settings, roles))


@app.command()
def run() -> None:
    """Run shim, worker and scheduler in one process (a laptop's whole system)."""
    _serve(["scheduler", "worker", "shim"])


@app.command()
def shim() -> None:
    """Run the HTTP shim (the web UI's API)."""
    _serve(["shim"])


@app.command()
def worker() -> None:
    """Run an invoke worker: invoke requests in, trigger events out."""
    _serve(["worker"])


@app.command()
def scheduler() -> None:
    """Run the scheduler: trigger events in, workflow executions recorded."""
    _serve(["scheduler"])


@app.command()
def migrate() -> None:
    """Create the database if needed and apply pending migrations (safe to run concurrently)."""
    settings = _settings()
    applied = _run(lambda: store.migrate(settings.database_url.get_secret_value()))
    typer.echo(
        f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else "")
    )


@app.command()
def topology() -> None:
    """Declare every exchange, queue and binding (idempotent)."""
    settings = _settings()

    async def declare() -> None:
        connection = await amqp.connect(
            settings.amqp_url.get_secret_value(), "manual-trigger topology"
        )
        async with connection:
            channel = await connection.channel()
            await amqp.declare_topology(channel, settings.topology, settings.delivery_limit)

    _run(declare)
    t = settings.topology
    typer.echo(
        f"declared: exchange {t.trigger_exchange}, queues {t.invoke_queue}, {t.scheduler_queue}"
    )


def _apply(path: Path) -> None:
    settings = _settings()
    try:
        catalog = load_catalog(path)
    except (ValidationError, ValueError, OSError) as exc:
        typer.echo(f"{path}: {exc}", err=True)
        raise typer.Exit(2) from None

    async def upsert() -> None:
        pool = await store.create_pool(settings.database_url.get_secret_value())
        try:
            await apply_catalog(pool, catalog)
        finally:
            await pool.close()

    _run(upsert)
    for workflow in catalog.workflows:
        typer.echo(f"applied workflow {workflow.id}: {len(workflow.triggers)} trigger(s)")


@app.command()
def apply(path: Annotated[Path, typer.Argument(help="JSON or YAML: {workflows: [...]}")]) -> None:
    """Create or update workflows, members and triggers from a file (idempotent)."""
    _apply(path)


@app.command()
def demo() -> None:
    """Seed the demo workflow `wf_demo`: one trigger of every type (idempotent)."""
    _apply(DEMO_FILE)


@app.command()
def token(
    user: Annotated[str, typer.Option(help="The user id (JWT `sub`).")],
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.", min=1)] = 3600,
) -> None:
    """Print a bearer token for USER, signed with the configured secret."""
    settings = _settings()
    secret = settings.jwt_signing_secret
    if secret is None:
        typer.echo(
            "token needs MTI_JWT_SECRET (HS256); public-key tokens come from your IdP", err=True
        )
        raise typer.Exit(2)
    claims = {"aud": settings.jwt_audience, "iss": settings.jwt_issuer}
    typer.echo(mint_token(secret, user, ttl, **{k: v for k, v in claims.items() if v}))


if __name__ == "__main__":
    app()
