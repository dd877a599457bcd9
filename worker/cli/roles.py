"""The long-running roles: each command runs one or all of them in this process."""

from __future__ import annotations

import typer

from worker.cli.common import load_settings, run_async
from worker.runtime import Role, run_roles

app = typer.Typer()


def _serve(roles: list[Role]) -> None:
    settings = load_settings()
    run_async(lambda: run_roles(settings, roles))


@app.command()
def run() -> None:
    """Run shim, worker, scheduler and the stand-in engine in one process (a laptop's whole
    system)."""
    _serve(["scheduler", "worker", "shim", "engine"])


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
def engine() -> None:
    """Run the STAND-IN workflow engine: pending executions reported running, then succeeded
    (or failed when their input asks, with `fail`). For demonstrations and tests only; the
    platform's engine reports the same messages (docs/amqp.md, "Reporting executions")."""
    _serve(["engine"])
