"""`manual-trigger`: one command for every role and every operator task."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import asyncpg
import typer
from aio_pika.abc import AbstractRobustConnection
from pydantic import ValidationError
from redis.asyncio import Redis
from rich.console import Console
from rich.highlighter import JSONHighlighter
from rich.json import JSON
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from contracts.ids import new_invocation_id
from contracts.models import (
    InvocationSource,
    InvokeRequest,
    InvokeResult,
    InvokeStatus,
    TriggerType,
)
from contracts.redaction import Redaction
from contracts.specs import Trigger
from contracts.topology import dead_letter_queue
from contracts.triggers import describe_trigger, trigger_redaction, trigger_spec
from contracts.validation import pointer
from worker import amqp, store
from worker.auth import mint_token
from worker.catalog import DEMO_FILE, apply_catalog, load_catalog
from worker.logging import configure_logging
from worker.paths import parse_assignment, parse_value, set_path
from worker.replay import Filters, Kind, ReplayOptions, ReplaySummary, dead_letters, plan
from worker.replay import replay as replay_events
from worker.rpc import InvokeClient
from worker.runtime import Role, run_roles
from worker.settings import Settings

app = typer.Typer(
    help="Manual trigger invocation: fire any workflow trigger by hand, replay dead letters.",
    no_args_is_help=True,
    add_completion=False,
    # Plain click help: typer's rich panels label every flag `<bool>` as if it took a value.
    rich_markup_mode=None,
)
T = TypeVar("T")


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings)
    return settings


def _run(main: Callable[[], Awaitable[T]]) -> T:
    """Run on uvloop where it exists: the event loop is a large share of each message's cost."""
    try:
        import uvloop

        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - platforms without uvloop
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main())  # type: ignore[arg-type]


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
    typer.echo(f"declared: exchanges {', '.join(t.exchanges)}; queues {', '.join(t.queues)}")


def _apply(path: Path) -> None:
    settings = _settings()
    try:
        catalog = load_catalog(path)
    except (ValidationError, ValueError, OSError) as exc:
        typer.echo(f"{path}: {exc}", err=True)
        raise typer.Exit(2) from None

    async def upsert() -> None:
        async with _pool(settings) as pool:
            await apply_catalog(pool, catalog)

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
    if ttl > settings.jwt_max_age_seconds:
        typer.echo(
            f"--ttl {ttl} is over MTI_JWT_MAX_AGE_SECONDS ({settings.jwt_max_age_seconds}): "
            "the API would refuse the token",
            err=True,
        )
        raise typer.Exit(2)
    claims = {"aud": settings.jwt_audience, "iss": settings.jwt_issuer}
    typer.echo(mint_token(secret, user, ttl, **{k: v for k, v in claims.items() if v}))


@app.command()
def teardown(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove this namespace's exchanges, queues (dead letters included), Redis keys and
    database: what `make run` or `migrate`, `topology` and `demo` left on shared services."""
    settings = _settings()
    t = settings.topology
    database = settings.database_url.get_secret_value().rsplit("/", 1)[-1].split("?")[0]
    # A platform's own trigger exchange (MTI_TRIGGER_EXCHANGE) is never ours to remove.
    exchanges = [e for e in t.exchanges if e != t.platform_trigger_exchange]
    kept = (
        f" (the platform's {t.platform_trigger_exchange} stays)"
        if t.platform_trigger_exchange
        else ""
    )
    typer.echo(
        f"This removes, for namespace {settings.namespace or '(none)'!r}: exchanges "
        f"{', '.join(exchanges)}{kept}; queues {', '.join(t.queues)}; "
        f"Redis keys {t.redis_key('*')}; and database {database}."
    )
    if not yes:
        if not sys.stdin.isatty():
            _fail("refusing to tear down without --yes when not on a terminal", 2)
        if not typer.confirm("Remove them?"):
            _fail("nothing removed", 1)

    async def remove() -> int:
        connection = await _connect(settings)
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

    keys = _run(remove)
    typer.echo(f"removed: exchanges and queues, {keys} Redis key(s), database {database}")


# --- invoke and schema: the manual invocation path, from a terminal or a script -----------

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


UserOption = Annotated[
    str | None,
    typer.Option("--user", help="Who acts (required unless $MTI_USER is set)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON only.")]


def _user(user: str | None) -> str:
    """Who acts: never guessed from the login name, which is rarely a platform user id."""
    who = user or os.environ.get("MTI_USER")
    if not who:
        _fail("say who acts: --user USER_ID, or set MTI_USER", 2)
    return who


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


@contextlib.asynccontextmanager
async def _pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A small pool for one command's few queries."""
    pool = await store.create_pool(settings.database_url.get_secret_value(), max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


async def _find_trigger(settings: Settings, workflow: str, trigger: str) -> Trigger | None:
    async with _pool(settings) as pool:
        access = await store.load_access(pool, workflow, "", trigger)
    return access.trigger if access else None


async def _load_trigger(settings: Settings, workflow: str, trigger: str) -> Trigger:
    found = await _find_trigger(settings, workflow, trigger)
    if found is None:
        _fail(f"no trigger {trigger} in workflow {workflow}", EXIT_CODES[InvokeStatus.NOT_FOUND])
    return found


def _parameters(
    settings: Settings,
    workflow: str,
    trigger: str,
    example: str | None,
    params_file: str | None,
    assignments: list[str],
) -> dict[str, Any]:
    """Example, then the file, then each --param: later ones win."""
    parameters: dict[str, Any] = {}
    if example:
        found = _run(lambda: _load_trigger(settings, workflow, trigger))
        examples = {e.name: e.parameters for e in trigger_spec(found).parameter_examples}
        if example not in examples:
            _fail(f"no example {example!r}; there are: {', '.join(examples) or 'none'}", 2)
        parameters = copy.deepcopy(examples[example])
    if params_file:
        text = sys.stdin.read() if params_file == "-" else Path(params_file).read_text()
        loaded = parse_value(text)
        if not isinstance(loaded, dict):
            _fail(f"{params_file}: parameters must be a JSON object", 2)
        parameters |= loaded
    for assignment in assignments:
        try:
            segments, value = parse_assignment(assignment)
            set_path(parameters, segments, value)
        except (ValueError, KeyError) as exc:
            _fail(f"--param {assignment}: {exc}", 2)
    return parameters


def _print_result(result: InvokeResult) -> None:
    """The worker's answer, which echoes what the request held: untrusted text throughout."""
    ok = result.success
    out.print(
        Text(f"{'✓' if ok else '✗'} {result.status.value}", "green" if ok else "red"),
        Text.assemble(": ", terminal_text(result.message), "  (invocation "),
        Text.assemble(terminal_text(result.invocation_id), ")"),
        sep="",
    )
    if result.execution_id:
        out.print(
            Text.assemble(
                "  execution  ",
                terminal_text(result.execution_id),
                "  ",
                terminal_text(result.execution_url),
            )
        )
    if result.event_id:
        out.print(Text.assemble("  event      ", terminal_text(result.event_id)))
    for warning in result.warnings:
        out.print(Text.assemble("  ", ("warning", "yellow"), "    ", terminal_text(warning)))
    if result.rate_limit:
        limit = result.rate_limit
        out.print(
            f"  limit      {limit.limit}/min per {limit.scope}; "
            f"retry in {limit.retry_after_seconds}s"
        )
    if result.errors:
        table = Table("path", "message", "code", box=None)
        for error in result.errors:
            table.add_row(*map(terminal_text, (error.path or "/", error.message, error.code)))
        out.print(table)
    if result.trigger_data:
        out.print(f"  {result.trigger_data.trigger_type.value} event data:")
        out.print(JSONHighlighter()(json_text(result.trigger_data.resolved_parameters)))


@app.command()
def invoke(
    workflow: Annotated[str, typer.Argument(help="Workflow id.")],
    trigger: Annotated[str, typer.Argument(help="Trigger id.")],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            metavar="PATH=VALUE",
            help="Dotted path or /pointer; VALUE is JSON or text. Repeatable.",
        ),
    ] = None,
    params_file: Annotated[
        str | None,
        typer.Option("--params-file", help="A JSON object of parameters; - reads stdin."),
    ] = None,
    example: Annotated[str | None, typer.Option(help="Start from this named example.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Resolve only.")] = False,
    description: Annotated[str | None, typer.Option(help="Why you invoke.")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Retries with the same key return the first answer.")
    ] = None,
    user: UserOption = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Publish and exit.")] = False,
    json_output: JsonOption = False,
    timeout: Annotated[
        float | None,
        typer.Option(help="Seconds to wait for the reply (default MTI_REPLY_TIMEOUT_SECONDS)."),
    ] = None,
) -> None:
    """Publish an invoke request straight to RabbitMQ and print the worker's answer.

    Exit codes: 0 ok, 2 invalid, 3 denied or rate limited, 4 not found,
    5 timeout or broker unavailable.
    """
    settings = _settings()
    who = _user(user)
    parameters = _parameters(settings, workflow, trigger, example, params_file, param or [])
    try:
        request = InvokeRequest(
            invocation_id=new_invocation_id(who, idempotency_key),
            workflow_id=workflow,
            trigger_id=trigger,
            user_id=who,
            parameters=parameters,
            description=description,
            dry_run=dry_run,
            requested_at=datetime.now(UTC),
            source=InvocationSource.CLI,
            idempotency_key=idempotency_key,
        )
    except ValidationError as exc:
        _fail(f"invalid request: {exc}", 2)

    async def send() -> InvokeResult | None:
        connection = await amqp.connect(settings.amqp_url.get_secret_value(), "manual-trigger cli")
        async with connection:
            client = await InvokeClient.open(connection, settings.topology)
            if no_wait:
                await client.send(request, want_reply=False)
                return None
            return await client.call(request, timeout or settings.reply_timeout_seconds)

    try:
        result = _run(send)
    except Exception as exc:  # connection refused, channel closed, unroutable...
        _fail(f"broker unavailable: {type(exc).__name__}: {exc}", EXIT_UNAVAILABLE)
    if no_wait:
        typer.echo(
            json.dumps({"invocation_id": request.invocation_id, "status": "queued"})
            if json_output
            else f"queued: invocation {request.invocation_id}"
        )
        return
    if result is None:
        _fail(
            f"no reply within the timeout; invocation {request.invocation_id} stays queued",
            EXIT_UNAVAILABLE,
        )
    if json_output:
        typer.echo(result.model_dump_json(indent=2))
    else:
        _print_result(result)
    raise typer.Exit(EXIT_CODES[result.status])


@app.command()
def schema(
    workflow: Annotated[str, typer.Argument(help="Workflow id.")],
    trigger: Annotated[str, typer.Argument(help="Trigger id.")],
    json_output: JsonOption = False,
) -> None:
    """Show a trigger's parameter schema, defaults and examples (secrets redacted)."""
    settings = _settings()
    loaded = _run(lambda: _load_trigger(settings, workflow, trigger))
    document = describe_trigger(loaded).model_dump(mode="json")
    if json_output:
        typer.echo(json.dumps(document, indent=2))
        return
    out.print(f"[bold]{document['trigger_type']}[/] trigger {trigger} of {workflow}")
    out.print(document["description"])
    schema_doc = document["parameter_schema"]
    table = Table("parameter", "type", "default", "description", box=None)
    required = set(schema_doc.get("required", []))
    for name, prop in schema_doc.get("properties", {}).items():
        default = document["default_parameters"].get(name, prop.get("default"))
        table.add_row(
            name + (" *" if name in required else ""),
            type_label(prop),
            "" if default is None else json.dumps(default),
            prop.get("description", ""),
        )
    out.print(table)
    for example in document["examples"]:
        out.print(f"[bold]example[/] {example['name']}: {example['description']}")
        out.print(JSON.from_data(example["parameters"]))


def type_label(schema: dict[str, Any]) -> str:
    """A JSON Schema's type as a reader writes it: `string | null`, `array of string`,
    `"im" | "mpim"`; never a Python list."""
    if "enum" in schema:
        return " | ".join(json.dumps(value) for value in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    kinds = schema.get("type")
    if kinds is None:
        branches = schema.get("anyOf") or schema.get("oneOf")
        return " | ".join(type_label(b) for b in branches) if branches else "any"
    labels = []
    for kind in [kinds] if isinstance(kinds, str) else kinds:
        items = schema.get("items")
        if kind == "array" and isinstance(items, dict):
            inner = type_label(items)
            labels.append(f"array of ({inner})" if " | " in inner else f"array of {inner}")
        else:
            labels.append(str(kind))
    return " | ".join(labels)


# --- dead letters and replay ---------------------------------------------------------------

dlq_app = typer.Typer(
    help="Look at the dead-letter queues of trigger events and of invoke requests.",
    no_args_is_help=True,
)
app.add_typer(dlq_app, name="dlq")

WorkflowFilter = Annotated[str | None, typer.Option("--workflow", help="Only this workflow.")]
TriggerFilter = Annotated[str | None, typer.Option("--trigger", help="Only this trigger.")]
TypeFilter = Annotated[str | None, typer.Option("--trigger-type", help="Only this type.")]
ReasonFilter = Annotated[
    str | None, typer.Option("--reason", help="rejected, delivery_limit, expired or maxlen.")
]
SinceFilter = Annotated[
    datetime | None, typer.Option("--since", help="Died at or after (ISO 8601).")
]
UntilFilter = Annotated[
    datetime | None, typer.Option("--until", help="Died at or before (ISO 8601).")
]
MatchFilter = Annotated[
    list[str] | None,
    typer.Option("--match", metavar="PATH=VALUE", help="On the dead letter's body; repeatable."),
]
LimitOption = Annotated[int | None, typer.Option("--limit", min=1, help="At most N events.")]


class DeadLetterQueue(StrEnum):
    events = "events"  # trigger events the scheduler gave up on
    invoke = "invoke"  # invoke requests the workers gave up on


QueueOption = Annotated[
    DeadLetterQueue,
    typer.Option(
        "--queue", help="events: trigger events the scheduler gave up on; invoke: invoke requests."
    ),
]


def _filters(
    settings: Settings,
    workflow: str | None,
    trigger: str | None,
    trigger_type: str | None,
    reason: str | None,
    since: datetime | None,
    until: datetime | None,
    match: list[str] | None,
    queue: DeadLetterQueue = DeadLetterQueue.events,
) -> Filters:
    types = [t.value for t in TriggerType]
    if trigger_type is not None and trigger_type.upper() not in types:
        _fail(f"--trigger-type: one of {', '.join(types)}, not {trigger_type!r}", 2)
    try:
        matches = [parse_assignment(m) for m in match or []]
    except ValueError as exc:
        _fail(f"--match: {exc}", 2)

    def aware(moment: datetime | None) -> datetime | None:
        return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment

    of_type: frozenset[tuple[str, str]] = frozenset()
    if queue == "invoke" and trigger_type:  # a request names its trigger, not the type

        async def lookup() -> frozenset[tuple[str, str]]:
            async with _pool(settings) as pool:
                return await store.triggers_of_type(pool, trigger_type.upper())

        of_type = _run(lookup)
    return Filters(
        workflow, trigger, trigger_type, reason, aware(since), aware(until), matches, of_type
    )


def _dead_letter_queue(settings: Settings, queue: DeadLetterQueue) -> tuple[str, Kind]:
    if queue == "invoke":
        return dead_letter_queue(settings.topology.invoke_queue), "invoke"
    return dead_letter_queue(settings.topology.scheduler_queue), "events"


async def _connect(settings: Settings) -> AbstractRobustConnection:
    try:
        return await amqp.connect(settings.amqp_url.get_secret_value(), "manual-trigger cli")
    except Exception as exc:
        _fail(f"broker unavailable: {exc}", EXIT_UNAVAILABLE)


@dlq_app.command("list")
def dlq_list(
    workflow: WorkflowFilter = None,
    trigger: TriggerFilter = None,
    trigger_type: TypeFilter = None,
    reason: ReasonFilter = None,
    since: SinceFilter = None,
    until: UntilFilter = None,
    match: MatchFilter = None,
    limit: LimitOption = None,
    queue: QueueOption = DeadLetterQueue.events,
    json_output: JsonOption = False,
) -> None:
    """What a dead-letter queue holds, oldest first, without consuming or reordering it."""
    settings = _settings()
    filters = _filters(
        settings, workflow, trigger, trigger_type, reason, since, until, match, queue
    )
    name, kind = _dead_letter_queue(settings, queue)

    async def collect() -> list[dict[str, Any]]:
        connection = await _connect(settings)
        async with connection, dead_letters(connection, name, kind) as letters:
            found = []
            for letter in letters:
                if filters.accept(letter):
                    found.append(letter.summary())
                    if limit is not None and len(found) >= limit:
                        break
            return found

    rows = _run(collect)
    if json_output:
        typer.echo(json_text(rows))
        return
    first = ("invocation_id", "user_id") if kind == "invoke" else ("event_id", "trigger_type")
    columns: tuple[str, ...] = (first[0], "workflow_id", "trigger_id", first[1], "reason")
    columns += ("queue", "count", "died_at", "problem")
    table = Table(*(c.removesuffix("_id").replace("_", " ") for c in columns), box=None)
    for row in rows:
        table.add_row(*(terminal_text("-" if row[k] is None else row[k]) for k in columns))
    out.print(table)
    out.print(f"{len(rows)} dead-lettered {'request' if kind == 'invoke' else 'event'}(s)")


@dlq_app.command("show")
def dlq_show(
    letter_id: Annotated[
        str,
        typer.Argument(metavar="ID", help="The event id (the invocation id with --queue invoke)."),
    ],
    queue: QueueOption = DeadLetterQueue.events,
    json_output: JsonOption = False,
) -> None:
    """One dead letter in full, with why it died; nothing is consumed."""
    settings = _settings()
    name, kind = _dead_letter_queue(settings, queue)

    async def find() -> dict[str, Any] | None:
        connection = await _connect(settings)
        async with connection, dead_letters(connection, name, kind) as letters:
            for letter in letters:  # as it was sent, or as `dlq list` prints it
                if letter.letter_id is not None and letter_id in (
                    letter.letter_id,
                    printable(letter.letter_id),
                ):
                    body = "request" if kind == "invoke" else "event"
                    found = {**letter.summary(), body: letter.document}
                    break
            else:
                return None
        # A dead letter holds the secrets and signatures it was delivered with.
        assert letter.workflow_id is not None and letter.trigger_id is not None  # it parsed
        trigger = await _find_trigger(settings, letter.workflow_id, letter.trigger_id)
        return _redacted_letter(found, body, trigger_redaction(trigger) if trigger else Redaction())

    found = _run(find)
    if found is None:
        _fail(
            f"no dead letter {printable(letter_id)} in {name}", EXIT_CODES[InvokeStatus.NOT_FOUND]
        )
    if json_output:
        typer.echo(json_text(found))
    else:
        out.print(JSONHighlighter()(json_text(found)))


def _redacted_letter(found: dict[str, Any], body: str, redaction: Redaction) -> dict[str, Any]:
    """A dead letter as shown: its event (or a replay request's event) redacted at the
    locations its trigger declares secret."""
    document = found.get(body)
    if not isinstance(document, dict):
        return found
    if isinstance(document.get("replay_of"), dict):
        document = {**document, "replay_of": redaction.record(document["replay_of"])}
    return {**found, body: redaction.record(document)}


def _rate(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.removesuffix("/s"))
    except ValueError:
        _fail(f"--rate takes N/s, got {text!r}", 2)
    if value <= 0:
        _fail("--rate must be positive", 2)
    return value


@app.command()
def replay(
    workflow: WorkflowFilter = None,
    trigger: TriggerFilter = None,
    trigger_type: TypeFilter = None,
    reason: ReasonFilter = None,
    since: SinceFilter = None,
    until: UntilFilter = None,
    match: MatchFilter = None,
    limit: LimitOption = None,
    plan_only: Annotated[
        bool, typer.Option("--plan", help="Show what would move; move nothing.")
    ] = False,
    rate: Annotated[
        str | None, typer.Option("--rate", help="At most N events per second (N/s).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="PATH=VALUE",
            help="Edit of the event (e.g. trigger_data.body.amount=5); repeatable.",
        ),
    ] = None,
    as_is: Annotated[
        bool,
        typer.Option("--as-is", help="Re-publish the original bytes to where the event died from."),
    ] = False,
    again: Annotated[
        bool,
        typer.Option("--again", help="Replay events that were replayed before as new executions."),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    user: UserOption = None,
    description: Annotated[str | None, typer.Option(help="Why you replay.")] = None,
    queue: QueueOption = DeadLetterQueue.events,
    json_output: JsonOption = False,
) -> None:
    """Replay dead letters. Trigger events go through the manual invocation path (authorized,
    rate-limited, validated, marked as a replay); invoke requests (--queue invoke) are sent to
    the workers again as they were; with --as-is either is re-published byte for byte."""
    settings = _settings()
    filters = _filters(
        settings, workflow, trigger, trigger_type, reason, since, until, match, queue
    )
    if queue == "invoke" and (set_ or description):
        _fail("--set and --description edit trigger events; invoke requests replay as sent", 2)
    edits: dict[str, Any] = {}
    for assignment in set_ or []:
        try:
            segments, value = parse_assignment(assignment)
        except ValueError as exc:
            _fail(f"--set: {exc}", 2)
        if segments[0] not in ("trigger_data", "input_data"):
            _fail(f"--set {assignment}: only trigger_data and input_data can be edited", 2)
        edits[pointer(segments)] = value
    if as_is and edits:
        _fail("--as-is replays the original bytes; it cannot be combined with --set", 2)
    options = ReplayOptions(
        user_id="" if plan_only else _user(user),  # a plan moves nothing: nobody acts
        filters=filters,
        edits=edits,
        as_is=as_is,
        again=again,
        rate=_rate(rate),
        limit=limit,
        description=description,
        timeout=max(settings.reply_timeout_seconds, 30.0),
        kind="invoke" if queue == "invoke" else "events",
    )
    name, kind = _dead_letter_queue(settings, queue)

    async def main() -> tuple[int, list[dict[str, Any]], ReplaySummary | None]:
        connection = await _connect(settings)
        async with connection:
            count, sample = await plan(connection, name, filters, limit, kind=kind)
            if plan_only or count == 0 or not _confirmed(count, yes):
                return count, sample, None
            client = await InvokeClient.open(connection, settings.topology)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            with _progress(count, enabled=not json_output) as advance:
                summary = await replay_events(connection, name, client, options, stop, advance)
            await client.close()
            return count, sample, summary

    count, sample, summary = _run(main)
    if summary is None:
        document = {"plan": {"matching": count, "sample": sample}}
        if json_output:
            typer.echo(json_text(document))
        else:
            what = "request" if kind == "invoke" else "event"
            out.print(f"{count} dead-lettered {what}(s) match" + (":" if sample else "."))
            first = (
                ("invocation_id", "user_id") if kind == "invoke" else ("event_id", "trigger_type")
            )
            for row in sample:
                shown = {k: terminal_text("-" if v is None else v) for k, v in row.items()}
                out.print(
                    Text.assemble(
                        "  ",
                        shown[first[0]],
                        "  ",
                        shown["workflow_id"],
                        "/",
                        shown["trigger_id"],
                        "  ",
                        shown[first[1]],
                        "  ",
                        shown["reason"],
                        *(("  (", shown["problem"], ")") if row["problem"] else ()),
                    )
                )
            if not plan_only and count:
                out.print("nothing replayed (not confirmed)")
        raise typer.Exit(0 if plan_only or count == 0 else 2)
    typer.echo(json.dumps(summary.as_dict()))
    if summary.interrupted:
        raise typer.Exit(EXIT_UNAVAILABLE if summary.failed else 130)
    raise typer.Exit(1 if summary.failed else 0)


def _confirmed(count: int, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        typer.echo("refusing to replay without --yes when not on a terminal", err=True)
        return False
    return typer.confirm(f"Replay {count} dead-lettered event(s)?")


@contextlib.contextmanager
def _progress(total: int, *, enabled: bool) -> Iterator[Callable[[ReplaySummary], None]]:
    """A progress bar with rate and ETA on a terminal; silence elsewhere."""
    if not (enabled and sys.stderr.isatty()):
        yield lambda _: None
        return
    columns = (
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}/s"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("replay", total=total, rate="-")
        started = time.monotonic()

        def advance(summary: ReplaySummary) -> None:
            done = summary.replayed + sum(summary.failed.values())
            rate = done / max(time.monotonic() - started, 1e-6)
            bar.update(task, completed=done, rate=f"{rate:.0f}")

        yield advance


if __name__ == "__main__":
    app()
