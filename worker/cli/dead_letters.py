"""`dlq list` and `dlq show`: what the dead-letter queues hold, without consuming them; and the
filters and columns they share with `replay`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.highlighter import JSONHighlighter
from rich.table import Table
from rich.text import Text

from contracts.models import InvokeStatus, TriggerType
from contracts.redaction import Redaction
from contracts.triggers import trigger_redaction
from worker import store
from worker.cli.common import (
    EXIT_CODES,
    JsonOption,
    command_pool,
    connect,
    fail,
    find_trigger,
    json_text,
    load_settings,
    out,
    printable,
    run_async,
    terminal_text,
)
from worker.paths import parse_assignment
from worker.replay import DeadLetter, DeadLetterQueue, Filters, dead_letters
from worker.settings import Settings

app = typer.Typer(
    help="Look at the dead-letter queues of trigger events, invoke requests and execution updates.",
    no_args_is_help=True,
)

WorkflowFilter = Annotated[str | None, typer.Option("--workflow", help="Only this workflow.")]
TriggerFilter = Annotated[str | None, typer.Option("--trigger", help="Only this trigger.")]
TypeFilter = Annotated[
    TriggerType | None,
    typer.Option(
        "--trigger-type",
        case_sensitive=False,
        metavar="<TYPE>",
        help=f"Only this type: {', '.join(TriggerType)} (any case).",
    ),
]
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
QueueOption = Annotated[
    DeadLetterQueue,
    typer.Option(
        "--queue",
        help="events: trigger events the scheduler gave up on; invoke: invoke requests; "
        "updates: execution updates the scheduler refused.",
    ),
]


def filters_of(
    settings: Settings,
    workflow: str | None,
    trigger: str | None,
    trigger_type: TriggerType | None,
    reason: str | None,
    since: datetime | None,
    until: datetime | None,
    match: list[str] | None,
    queue: DeadLetterQueue = DeadLetterQueue.events,
) -> Filters:
    """The filter options as `Filters`; for invoke requests, which name their trigger but not
    its type, the triggers of `trigger_type` are looked up in the store."""
    try:
        matches = [parse_assignment(m) for m in match or []]
    except ValueError as exc:
        fail(f"--match: {exc}", 2)

    def aware(moment: datetime | None) -> datetime | None:
        return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment

    of_type: frozenset[tuple[str, str]] = frozenset()
    if queue is DeadLetterQueue.invoke and trigger_type:

        async def lookup() -> frozenset[tuple[str, str]]:
            async with command_pool(settings) as pool:
                return await store.triggers_of_type(pool, trigger_type.value)

        of_type = run_async(lookup)
    return Filters(
        workflow, trigger, trigger_type, reason, aware(since), aware(until), matches, of_type
    )


def columns(queue: DeadLetterQueue) -> tuple[str, ...]:
    """A listing's columns: the queue's two identity fields around where the letter was going,
    then why, where and when it died, and what of it could not be read."""
    first, second = queue.identity
    where = ("workflow_id", "trigger_id")
    return (first, *where, second, "reason", "queue", "count", "died_at", "problem")


def cells(row: dict[str, Any], names: tuple[str, ...]) -> list[Text]:
    """A summary's fields as inert terminal text, `-` where there is none."""
    return [terminal_text("-" if row[name] is None else row[name]) for name in names]


@app.command("list")
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
    settings = load_settings()
    filters = filters_of(
        settings, workflow, trigger, trigger_type, reason, since, until, match, queue
    )
    name = queue.name_in(settings.topology)

    async def collect() -> list[dict[str, Any]]:
        connection = await connect(settings)
        async with connection, dead_letters(connection, name, queue) as letters:
            found = []
            for letter in letters:
                if filters.accept(letter):
                    found.append(letter.summary())
                    if limit is not None and len(found) >= limit:
                        break
            return found

    rows = run_async(collect)
    if json_output:
        typer.echo(json_text(rows))
        return
    shown = columns(queue)
    table = Table(*(c.removesuffix("_id").replace("_", " ") for c in shown), box=None)
    for row in rows:
        table.add_row(*cells(row, shown))
    out.print(table)
    out.print(f"{len(rows)} dead-lettered {queue.noun}(s)")


@app.command("show")
def dlq_show(
    letter_id: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="The event id (the invocation id with --queue invoke, the execution id with "
            "--queue updates).",
        ),
    ],
    queue: QueueOption = DeadLetterQueue.events,
    json_output: JsonOption = False,
) -> None:
    """One dead letter in full, with why it died; nothing is consumed."""
    settings = load_settings()
    name = queue.name_in(settings.topology)
    found = run_async(lambda: _find(settings, name, queue, letter_id))
    if found is None:
        fail(f"no dead letter {printable(letter_id)} in {name}", EXIT_CODES[InvokeStatus.NOT_FOUND])
    if json_output:
        typer.echo(json_text(found))
    else:
        out.print(JSONHighlighter()(json_text(found)))


async def _find(
    settings: Settings, name: str, queue: DeadLetterQueue, letter_id: str
) -> dict[str, Any] | None:
    """The letter of that id (as it was sent, or as `dlq list` prints it) in full, redacted;
    None when the queue holds none."""
    connection = await connect(settings)
    async with connection, dead_letters(connection, name, queue) as letters:
        letter = next((one for one in letters if _is(one, letter_id)), None)
        if letter is None:
            return None
        found = {**letter.summary(), queue.noun: letter.document}
    if letter.workflow_id is None or letter.trigger_id is None:
        return found  # an execution update: it names no trigger, and carries no trigger's secrets
    # A dead letter holds the secrets and signatures it was delivered with.
    trigger = await find_trigger(settings, letter.workflow_id, letter.trigger_id)
    redaction = trigger_redaction(trigger) if trigger else Redaction()
    return _redacted_letter(found, queue.noun, redaction)


def _is(letter: DeadLetter, letter_id: str) -> bool:
    return letter.letter_id is not None and letter_id in (
        letter.letter_id,
        printable(letter.letter_id),
    )


def _redacted_letter(found: dict[str, Any], body: str, redaction: Redaction) -> dict[str, Any]:
    """A dead letter as shown: its event (or a replay request's event) redacted at the
    locations its trigger declares secret."""
    document = found.get(body)
    if not isinstance(document, dict):
        return found
    if isinstance(document.get("replay_of"), dict):
        document = {**document, "replay_of": redaction.record(document["replay_of"])}
    return {**found, body: redaction.record(document)}
