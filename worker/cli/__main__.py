"""`python -m worker.cli`, as the `manual-trigger` command."""

from worker.cli import app

app()
