"""`replay`: dead letters sent again, in queue order, each acked once its replay is confirmed.
Options are parsed, then the matching letters planned, confirmed, replayed and summed up."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from aio_pika.abc import AbstractRobustConnection
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

from contracts.validation import pointer
from worker.cli.common import (
    EXIT_UNAVAILABLE,
    JsonOption,
    UserOption,
    YesOption,
    acting_user,
    connect,
    fail,
    json_text,
    load_settings,
    out,
    run_async,
)
from worker.cli.dead_letters import (
    LimitOption,
    MatchFilter,
    QueueOption,
    ReasonFilter,
    SinceFilter,
    TriggerFilter,
    TypeFilter,
    UntilFilter,
    WorkflowFilter,
    cells,
    filters_of,
)
from worker.paths import parse_assignment
from worker.replay import DeadLetterQueue, ReplayOptions, ReplaySummary, plan
from worker.replay import replay as replay_letters
from worker.rpc import InvokeClient
from worker.settings import Settings

app = typer.Typer()

EXIT_INTERRUPTED = 130
PlanOption = Annotated[bool, typer.Option("--plan", help="Show what would move; move nothing.")]
RateOption = Annotated[
    str | None, typer.Option("--rate", help="At most N events per second (N/s).")
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="PATH=VALUE",
        help="Edit of the event (e.g. trigger_data.body.amount=5); repeatable.",
    ),
]
AsIsOption = Annotated[
    bool,
    typer.Option("--as-is", help="Re-publish the original bytes to where the event died from."),
]
AgainOption = Annotated[
    bool,
    typer.Option("--again", help="Replay events that were replayed before as new executions."),
]
DescriptionOption = Annotated[str | None, typer.Option(help="Why you replay.")]
# What a replay found before anything moved: how many letters match, and the first few.
Planned = tuple[int, list[dict[str, Any]]]


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
    plan_only: PlanOption = False,
    rate: RateOption = None,
    set_: SetOption = None,
    as_is: AsIsOption = False,
    again: AgainOption = False,
    yes: YesOption = False,
    user: UserOption = None,
    description: DescriptionOption = None,
    queue: QueueOption = DeadLetterQueue.events,
    json_output: JsonOption = False,
) -> None:
    """Replay dead letters. Trigger events go through the manual invocation path (authorized,
    rate-limited, validated, marked as a replay); invoke requests (--queue invoke) are sent to
    the workers again as they were; with --as-is either is re-published byte for byte."""
    settings = load_settings()
    filters = filters_of(
        settings, workflow, trigger, trigger_type, reason, since, until, match, queue
    )
    _refuse_what_the_queue_cannot(queue, as_is=as_is, edits=bool(set_ or description))
    edits = _edits(set_ or [])
    if as_is and edits:
        fail("--as-is replays the original bytes; it cannot be combined with --set", 2)
    options = ReplayOptions(
        user_id="" if plan_only else acting_user(user),  # a plan moves nothing: nobody acts
        filters=filters,
        edits=edits,
        as_is=as_is,
        again=again,
        rate=_rate(rate),
        limit=limit,
        description=description,
        timeout=max(settings.reply_timeout_seconds, 30.0),
        kind=queue,
    )
    go = _Go(plan_only=plan_only, yes=yes, progress=not json_output)
    planned, summary = run_async(lambda: _plan_then_replay(settings, options, go))
    if summary is None:
        _print_plan(queue, planned, json_output=json_output, asked=not plan_only)
        raise typer.Exit(0 if plan_only or planned[0] == 0 else 2)
    typer.echo(json.dumps(summary.as_dict()))
    raise typer.Exit(_exit_code(summary))


def _refuse_what_the_queue_cannot(queue: DeadLetterQueue, *, as_is: bool, edits: bool) -> None:
    if queue is DeadLetterQueue.updates and not as_is:
        fail(
            "execution updates are only replayed --as-is (their bytes to the updates exchange, "
            "once the execution they name exists); there is no other path for them",
            2,
        )
    if queue is not DeadLetterQueue.events and edits:
        what = "invoke requests" if queue is DeadLetterQueue.invoke else "execution updates"
        fail(f"--set and --description edit trigger events; {what} replay as sent", 2)


def _edits(assignments: list[str]) -> dict[str, Any]:
    """Each `--set PATH=VALUE` as a JSON pointer under trigger_data or input_data."""
    edits: dict[str, Any] = {}
    for assignment in assignments:
        try:
            segments, value = parse_assignment(assignment)
        except ValueError as exc:
            fail(f"--set: {exc}", 2)
        if segments[0] not in ("trigger_data", "input_data"):
            fail(f"--set {assignment}: only trigger_data and input_data can be edited", 2)
        edits[pointer(segments)] = value
    return edits


def _rate(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.removesuffix("/s"))
    except ValueError:
        fail(f"--rate takes N/s, got {text!r}", 2)
    if value <= 0:
        fail("--rate must be positive", 2)
    return value


@dataclass(frozen=True)
class _Go:
    """How far a replay goes: a plan only, or on without asking (`yes`); a progress bar."""

    plan_only: bool
    yes: bool
    progress: bool


async def _plan_then_replay(
    settings: Settings, options: ReplayOptions, go: _Go
) -> tuple[Planned, ReplaySummary | None]:
    """The plan, then (unless only a plan was asked for, nothing matches or the operator does
    not confirm) the replay's summary."""
    name = options.kind.name_in(settings.topology)
    connection = await connect(settings)
    async with connection:
        planned = await plan(connection, name, options.filters, options.limit, kind=options.kind)
        count = planned[0]
        if go.plan_only or count == 0 or not _confirmed(count, go.yes):
            return planned, None
        return planned, await _replay(connection, settings, name, options, count, go.progress)


def _confirmed(count: int, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        typer.echo("refusing to replay without --yes when not on a terminal", err=True)
        return False
    return typer.confirm(f"Replay {count} dead-lettered event(s)?")


async def _replay(
    connection: AbstractRobustConnection,
    settings: Settings,
    name: str,
    options: ReplayOptions,
    count: int,
    progress: bool,
) -> ReplaySummary:
    """The replay itself; SIGINT and SIGTERM stop it between letters, leaving the rest."""
    client = await InvokeClient.open(connection, settings.topology)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with _progress(count, enabled=progress) as advance:
        summary = await replay_letters(connection, name, client, options, stop, advance)
    await client.close()
    return summary


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


def _print_plan(
    queue: DeadLetterQueue, planned: Planned, *, json_output: bool, asked: bool
) -> None:
    """What would move: the count and a sample, one line each. `asked`: the operator was
    asked to confirm (or refused a question off a terminal) and did not."""
    count, sample = planned
    if json_output:
        typer.echo(json_text({"plan": {"matching": count, "sample": sample}}))
        return
    out.print(f"{count} dead-lettered {queue.noun}(s) match" + (":" if sample else "."))
    first, second = queue.identity
    for row in sample:
        letter_id, workflow, trigger, told_by, reason, problem = cells(
            row, (first, "workflow_id", "trigger_id", second, "reason", "problem")
        )
        why = ("  (", problem, ")") if row["problem"] else ()
        line = ("  ", letter_id, "  ", workflow, "/", trigger, "  ", told_by, "  ", reason, *why)
        out.print(Text.assemble(*line))
    if asked and count:
        out.print("nothing replayed (not confirmed)")


def _exit_code(summary: ReplaySummary) -> int:
    """0 all replayed, 1 some refused, 5 the broker or the workers gone, 130 interrupted."""
    if summary.interrupted:
        return EXIT_UNAVAILABLE if summary.failed else EXIT_INTERRUPTED
    return 1 if summary.failed else 0
