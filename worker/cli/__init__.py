"""`manual-trigger`: one command for every role and every operator task.

The commands live by group: `roles` (run, shim, worker, scheduler), `admin` (migrate,
topology, apply, demo, token, teardown), `invoking` (invoke, schema), `replaying` (replay)
and `dead_letters` (the `dlq` group); `common` holds what they share.
"""

from __future__ import annotations

import typer

from worker.cli import admin, dead_letters, invoking, replaying, roles

app = typer.Typer(
    help="Manual trigger invocation: fire any workflow trigger by hand, replay dead letters.",
    no_args_is_help=True,
    add_completion=False,
    # Plain click help: typer's rich panels label every flag `<bool>` as if it took a value.
    rich_markup_mode=None,
)
app.add_typer(roles.app)
app.add_typer(admin.app)
app.add_typer(invoking.app)
app.add_typer(replaying.app)
app.add_typer(dead_letters.app, name="dlq")
