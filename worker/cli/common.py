"""What every command shares: settings, the event loop, failing with an exit code, the broker
and the database, and printing untrusted text inertly."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, NoReturn, TypeVar

import asyncpg
import typer
from aio_pika.abc import AbstractRobustConnection
from rich.console import Console
from rich.text import Text

from contracts.models import InvokeStatus
from contracts.specs import Trigger
from worker import amqp, store
from worker.logging import configure_logging
from worker.outage import BROKER_FAILURES
from worker.settings import Settings

T = TypeVar("T")

EXIT_CODES = {
    InvokeStatus.ACCEPTED: 0,
    InvokeStatus.DRY_RUN: 0,
    InvokeStatus.QUEUED: 0,
    InvokeStatus.INVALID: 2,
    InvokeStatus.CONFLICT: 2,
    InvokeStatus.FORBIDDEN: 3,
    InvokeStatus.RATE_LIMITED: 3,
    InvokeStatus.NOT_FOUND: 4,
}
EXIT_UNAVAILABLE = 5

UserOption = Annotated[
    str | None,
    typer.Option("--user", help="Who acts (required unless $MTI_USER is set)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON only.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def load_settings() -> Settings:
    settings = Settings()
    configure_logging(settings)
    return settings


def run_async(main: Callable[[], Awaitable[T]]) -> T:
    """Run on uvloop where it exists: the event loop is a large share of each message's cost."""
    try:
        import uvloop

        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - platforms without uvloop
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main())  # type: ignore[arg-type]


def fail(message: str, code: int) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def acting_user(user: str | None) -> str:
    """Who acts: never guessed from the login name, which is rarely a platform user id."""
    who = user or os.environ.get("MTI_USER")
    if not who:
        fail("say who acts: --user USER_ID, or set MTI_USER", 2)
    return who


async def connect(settings: Settings) -> AbstractRobustConnection:
    """The command's broker connection; exit 5 when no node answers (only then: any other
    error is reported as what it is)."""
    try:
        return await amqp.connect(settings.amqp_url.get_secret_value(), "manual-trigger cli")
    except BROKER_FAILURES as exc:
        fail(f"broker unavailable: {exc}", EXIT_UNAVAILABLE)


@contextlib.asynccontextmanager
async def command_pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A small pool for one command's few queries."""
    pool = await store.create_pool(settings.database_url.get_secret_value(), max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


async def find_trigger(settings: Settings, workflow: str, trigger: str) -> Trigger | None:
    async with command_pool(settings) as pool:
        access = await store.load_access(pool, workflow, "", trigger)
    return access.trigger if access else None


async def load_trigger(settings: Settings, workflow: str, trigger: str) -> Trigger:
    found = await find_trigger(settings, workflow, trigger)
    if found is None:
        fail(f"no trigger {trigger} in workflow {workflow}", EXIT_CODES[InvokeStatus.NOT_FOUND])
    return found


# --- printing: whatever a dead letter or a worker's answer holds, inert on a terminal ------

# No emoji codes: `:smile:` in a dead letter's text is printed as written.
out = Console(width=None if sys.stdout.isatty() else 160, emoji=False)
# What a terminal would obey or show other than it reads: C0 and C1 controls and DEL (escape
# sequences, bells, cursor moves), bidi overrides and line separators (text displayed out of
# order), and lone surrogates (which stdout cannot even encode, so printing one would crash).
_UNSAFE = [
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    0x061C,
    0x200E,
    0x200F,
    *range(0x2028, 0x202F),
    *range(0x2066, 0x206A),
    *range(0xD800, 0xE000),
]
_SPELT = {code: f"\\u{code:04x}" for code in _UNSAFE}


def printable(value: object) -> str:
    """Untrusted text (whatever a dead letter or a worker's answer holds) safe for a terminal:
    each unsafe character spelt as its JSON escape (`\\u001b`), so a message cannot retitle,
    clear or rewrite the operator's terminal. The one escape every printed value goes through,
    as a table cell or line (`terminal_text`) or as JSON (`json_text`)."""
    return str(value).translate(_SPELT)


def terminal_text(value: object) -> Text:
    """`printable` text as a rich `Text`, which rich never parses as markup: `[bold red]` is
    printed as written rather than obeyed. (`rich.markup.escape` stops markup too, but it
    doubles a trailing backslash, so text would not print as it reads.)"""
    return Text(printable(value))


def json_text(data: Any) -> str:
    """JSON as the CLI prints it (`--json`, `dlq show`): valid, and without an unsafe character.
    json.dumps escapes C0 controls in strings itself, and writes its own newlines only between
    lines; the rest occur only inside strings, where the `\\u` escapes of `printable` keep it
    valid JSON. Other non-ASCII text stays readable."""
    lines = json.dumps(data, indent=2, ensure_ascii=False).split("\n")
    return "\n".join(map(printable, lines))
