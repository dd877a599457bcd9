"""`invoke` and `schema`: the manual invocation path, from a terminal or a script."""

from __future__ import annotations

import copy
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.highlighter import JSONHighlighter
from rich.json import JSON
from rich.table import Table
from rich.text import Text

from contracts.models import InvocationSource, InvokeRequest, InvokeResult, InvokeStatus
from contracts.specs import Trigger
from contracts.triggers import describe_trigger, trigger_spec
from worker import amqp, store
from worker.cli.common import (
    EXIT_CODES,
    EXIT_UNAVAILABLE,
    JsonOption,
    UserOption,
    acting_user,
    command_pool,
    fail,
    json_text,
    load_settings,
    load_trigger,
    out,
    run_async,
    terminal_text,
)
from worker.cli.following import DEFAULT_WAIT_TIMEOUT, wait_for_execution
from worker.outage import BROKER_FAILURES
from worker.paths import parse_assignment, parse_value, set_path
from worker.reproduce import reproduction
from worker.rpc import InvokeClient
from worker.settings import Settings

app = typer.Typer()

WorkflowArgument = Annotated[str, typer.Argument(help="Workflow id.")]
TriggerArgument = Annotated[str, typer.Argument(help="Trigger id.")]
InvokedWorkflow = Annotated[
    str | None, typer.Argument(help="Workflow id (with --from-execution: its own, if given).")
]
InvokedTrigger = Annotated[
    str | None, typer.Argument(help="Trigger id (with --from-execution: its own, if given).")
]
FromExecutionOption = Annotated[
    str | None,
    typer.Option(
        "--from-execution",
        metavar="EXECUTION_ID",
        help="Start from the parameters that reproduce this execution, of its trigger; "
        "--example, --params-file and --param override them key by key at the top level.",
    ),
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        metavar="PATH=VALUE",
        help="Dotted path or /pointer; VALUE is JSON or text. Repeatable.",
    ),
]
ParamsFileOption = Annotated[
    str | None,
    typer.Option("--params-file", help="A JSON object of parameters; - reads stdin."),
]
ExampleOption = Annotated[str | None, typer.Option(help="Start from this named example.")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Resolve only.")]
DescriptionOption = Annotated[str | None, typer.Option(help="Why you invoke.")]
IdempotencyKeyOption = Annotated[
    str | None, typer.Option(help="Retries with the same key return the first answer.")
]
NoWaitOption = Annotated[bool, typer.Option("--no-wait", help="Publish and exit.")]
WaitOption = Annotated[
    bool,
    typer.Option(
        "--wait",
        help="After an accepted invocation, follow its execution until it finishes, printing "
        "each transition: exit 0 succeeded, 1 failed or cancelled, 3 not finished in time.",
    ),
]
WaitTimeoutOption = Annotated[
    float, typer.Option("--wait-timeout", min=0.1, help="Seconds --wait waits at most.")
]
TimeoutOption = Annotated[
    float | None,
    typer.Option(help="Seconds to wait for the reply (default MTI_REPLY_TIMEOUT_SECONDS)."),
]


@app.command()
def invoke(
    workflow: InvokedWorkflow = None,
    trigger: InvokedTrigger = None,
    from_execution: FromExecutionOption = None,
    param: ParamOption = None,
    params_file: ParamsFileOption = None,
    example: ExampleOption = None,
    dry_run: DryRunOption = False,
    description: DescriptionOption = None,
    idempotency_key: IdempotencyKeyOption = None,
    user: UserOption = None,
    no_wait: NoWaitOption = False,
    json_output: JsonOption = False,
    timeout: TimeoutOption = None,
    wait: WaitOption = False,
    wait_timeout: WaitTimeoutOption = DEFAULT_WAIT_TIMEOUT,
) -> None:
    """Publish an invoke request straight to RabbitMQ and print the worker's answer.

    With --from-execution EXECUTION_ID, invoke that execution's trigger again with the
    parameters that reproduce it (WORKFLOW and TRIGGER may then be left out).

    Exit codes: 0 ok, 2 invalid, 3 denied or rate limited, 4 not found,
    5 timeout or broker unavailable. With --wait, once accepted: 0 succeeded,
    1 failed or cancelled, 6 not finished within --wait-timeout.
    """
    _check_wait(wait, dry_run=dry_run, no_wait=no_wait)
    settings = load_settings()
    who = acting_user(user)
    workflow, trigger, reproducing = _target(settings, workflow, trigger, from_execution)
    given = _parameters(settings, workflow, trigger, example, params_file, param or [])
    parameters = {**reproducing, **given}
    request = _request(
        workflow,
        trigger,
        who,
        parameters,
        description=description,
        dry_run=dry_run,
        idempotency_key=idempotency_key,
    )
    if no_wait:
        _send(settings, request, None)
        _print_queued(request, json_output)
        return
    result = _send(settings, request, timeout or settings.reply_timeout_seconds)
    if result is None:
        fail(
            f"no reply within the timeout; invocation {request.invocation_id} stays queued",
            EXIT_UNAVAILABLE,
        )
    if json_output:  # with --wait, JSON lines: this answer, then each state
        typer.echo(result.model_dump_json(indent=None if wait else 2))
    else:
        _print_result(result)
    if wait and result.execution_id:
        following = (settings, workflow, trigger, result.execution_id)
        raise typer.Exit(wait_for_execution(*following, wait_timeout, json_output))
    raise typer.Exit(EXIT_CODES[result.status])


def _target(
    settings: Settings, workflow: str | None, trigger: str | None, execution_id: str | None
) -> tuple[str, str, dict[str, Any]]:
    """The workflow and trigger to invoke and the parameters to start from: those of the
    execution to reproduce (`worker.reproduce`), or none. Exit 2 when they are not said, or
    not the execution's; 4 when there is no such execution."""
    if execution_id is None:
        if workflow is None or trigger is None:
            fail("say what to invoke: WORKFLOW TRIGGER, or --from-execution EXECUTION_ID", 2)
        return workflow, trigger, {}
    execution, found = run_async(lambda: _recorded(settings, execution_id))
    if execution is None:
        fail(f"no execution {execution_id}", EXIT_CODES[InvokeStatus.NOT_FOUND])
    own = (execution.workflow_id, execution.trigger_id)
    if (workflow or own[0], trigger or own[1]) != own:
        fail(
            f"execution {execution_id} ran trigger {own[1]} of workflow {own[0]}, not "
            f"{trigger or own[1]} of {workflow or own[0]}: name its own, or none",
            2,
        )
    parameters = reproduction(execution, found)
    if parameters is None:
        fail(f"nothing reproduces execution {execution_id}: its trigger is gone or changed", 2)
    return *own, parameters


async def _recorded(
    settings: Settings, execution_id: str
) -> tuple[store.Execution | None, Trigger | None]:
    """The execution, and its trigger if it still exists."""
    async with command_pool(settings) as pool:
        execution = await store.get_execution(pool, execution_id)
        if execution is None:
            return None, None
        access = await store.load_access(pool, execution.workflow_id, "", execution.trigger_id)
    return execution, access.trigger if access else None


def _check_wait(wait: bool, *, dry_run: bool, no_wait: bool) -> None:
    if wait and dry_run:
        fail("--wait follows an execution, and a --dry-run records none: drop one of them", 2)
    if wait and no_wait:
        fail("--wait and --no-wait contradict each other: choose one", 2)


def _request(
    workflow: str,
    trigger: str,
    who: str,
    parameters: dict[str, Any],
    *,
    description: str | None,
    dry_run: bool,
    idempotency_key: str | None,
) -> InvokeRequest:
    """The request as the CLI sends it; exit 2 when it is not a valid one."""
    try:
        return InvokeRequest.identified(
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
        fail(f"invalid request: {exc}", 2)


def _parameters(
    settings: Settings,
    workflow: str,
    trigger: str,
    example: str | None,
    params_file: str | None,
    assignments: list[str],
) -> dict[str, Any]:
    """Example, then the file, then each --param: later ones win."""
    parameters = _example(settings, workflow, trigger, example) if example else {}
    if params_file:
        text = sys.stdin.read() if params_file == "-" else Path(params_file).read_text()
        loaded = parse_value(text)
        if not isinstance(loaded, dict):
            fail(f"{params_file}: parameters must be a JSON object", 2)
        parameters |= loaded
    for assignment in assignments:
        try:
            segments, value = parse_assignment(assignment)
            set_path(parameters, segments, value)
        except (ValueError, KeyError) as exc:
            fail(f"--param {assignment}: {exc}", 2)
    return parameters


def _example(settings: Settings, workflow: str, trigger: str, name: str) -> dict[str, Any]:
    """A copy of the trigger's named example's parameters."""
    found = run_async(lambda: load_trigger(settings, workflow, trigger))
    examples = {e.name: e.parameters for e in trigger_spec(found).parameter_examples}
    if name not in examples:
        fail(f"no example {name!r}; there are: {', '.join(examples) or 'none'}", 2)
    return copy.deepcopy(examples[name])


def _send(settings: Settings, request: InvokeRequest, timeout: float | None) -> InvokeResult | None:
    """Publish the request; with a `timeout`, wait that long for the worker's answer (None when
    none came). Exit 5 when the broker is unavailable."""

    async def send() -> InvokeResult | None:
        connection = await amqp.connect(settings.amqp_url.get_secret_value(), "manual-trigger cli")
        async with connection:
            client = await InvokeClient.open(connection, settings.topology)
            if timeout is None:
                await client.send(request, want_reply=False)
                return None
            return await client.call(request, timeout)

    try:
        return run_async(send)
    except BROKER_FAILURES as exc:  # connection refused, channel closed, unroutable...
        fail(f"broker unavailable: {type(exc).__name__}: {exc}", EXIT_UNAVAILABLE)


def _print_queued(request: InvokeRequest, json_output: bool) -> None:
    typer.echo(
        json.dumps({"invocation_id": request.invocation_id, "status": "queued"})
        if json_output
        else f"queued: invocation {request.invocation_id}"
    )


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
def schema(
    workflow: WorkflowArgument,
    trigger: TriggerArgument,
    json_output: JsonOption = False,
) -> None:
    """Show a trigger's parameter schema, defaults and examples (secrets redacted)."""
    settings = load_settings()
    loaded = run_async(lambda: load_trigger(settings, workflow, trigger))
    document = describe_trigger(loaded).model_dump(mode="json")
    if json_output:
        typer.echo(json.dumps(document, indent=2))
        return
    out.print(f"[bold]{document['trigger_type']}[/] trigger {trigger} of {workflow}")
    out.print(document["description"])
    schema_doc = document["parameter_schema"]
    table = Table("parameter", "when", "type", "default", "description", box=None)
    # The fields every request takes, then each event type's own (its `if`/`then` branch).
    parts = [("", schema_doc)] + [
        (b["then"].get("title", ""), b["then"]) for b in schema_doc.get("allOf", []) if "then" in b
    ]
    for when, part in parts:
        required = set(part.get("required", []))
        for name, prop in part.get("properties", {}).items():
            default = document["default_parameters"].get(name, prop.get("default"))
            table.add_row(
                name + (" *" if name in required else ""),
                when,
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
