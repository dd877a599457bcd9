"""Dead-lettered invoke requests, looked at and replayed on the real broker: each becomes one
execution, in order, and what is refused or not chosen stays where it was.

Requests are dead-lettered by a consumer that rejects them, as a worker rejects what it cannot
take; the invoke queue's dead-letter exchange moves them, with RabbitMQ's own `x-death`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from contracts.ids import manual_event_id
from contracts.models import InvokeRequest
from contracts.topology import dead_letter_queue
from tests.factories import invoke_request
from tests.helpers import eventually, make_settings, run_cli
from tests.integration.test_replay import Harness
from worker import amqp
from worker.replay import (
    DeadLetterQueue,
    Filters,
    ReplayOptions,
    ReplaySummary,
    dead_letters,
    replay,
)
from worker.resources import Resources
from worker.rpc import InvokeClient
from worker.runtime import open_resources
from worker.settings import Settings

pytestmark = pytest.mark.integration


class InvokeHarness(Harness):
    """A namespace whose invoke requests die until a healthy worker is started."""

    def __init__(self, settings: Settings, resources: Resources) -> None:
        super().__init__(settings, resources)
        self.dlq = dead_letter_queue(self.topology.invoke_queue)

    async def order(self) -> list[str | None]:  # type: ignore[override]
        """Invocation ids in the invoke dead-letter queue, front to back (not consumed)."""
        async with dead_letters(
            self.resources.connection, self.dlq, DeadLetterQueue.invoke
        ) as letters:
            return [letter.letter_id for letter in letters]

    async def dead_letter(self, requests: list[InvokeRequest]) -> None:
        """Each request refused by a consumer that gives up on everything (as a worker gives
        up on what it cannot take), one at a time so the dead-letter order is the send order."""
        channel = await self.resources.connection.channel()
        queue = await channel.get_queue(self.topology.invoke_queue, ensure=False)

        async def give_up(message: AbstractIncomingMessage) -> None:
            await message.reject(requeue=False)

        tag = await queue.consume(give_up)
        client = await InvokeClient.open(self.resources.connection, self.topology)
        try:
            for request in requests:
                before = await self.depth()
                await client.send(request, want_reply=False)

                async def died(before: int = before) -> bool:
                    return await self.depth() > before

                await eventually(died)
        finally:
            await queue.cancel(tag)
            await channel.close()
            await client.close()


@pytest.fixture
async def rig(
    urls: dict[str, str], settings: Settings, pool: asyncpg.Pool, broker: AbstractRobustConnection
) -> AsyncIterator[InvokeHarness]:
    own = make_settings(urls, f"{settings.namespace}i{uuid.uuid4().hex[:6]}", "unused")
    own = own.model_copy(update={"database_url": settings.database_url})
    async with open_resources(own, "invoke replay tests") as resources:
        harness = InvokeHarness(own, resources)
        yield harness
        await harness.stop_all()
        channel = await broker.channel()
        await amqp.delete_topology(channel, own.topology)
        await channel.close()


def request(user: str = "demo-user", **body: Any) -> InvokeRequest:
    return invoke_request(user_id=user, parameters={"body": body})


async def executions(pool: asyncpg.Pool, *requests: InvokeRequest) -> list[int]:
    """How many executions each request's event made."""
    rows = await pool.fetch(
        "SELECT event_id, count(*) AS n FROM workflow_executions"
        " WHERE event_id = ANY($1::text[]) GROUP BY event_id",
        [manual_event_id(r.invocation_id) for r in requests],
    )
    found = {row["event_id"]: row["n"] for row in rows}
    return [found.get(manual_event_id(r.invocation_id), 0) for r in requests]


async def test_cli_lists_plans_and_replays_invoke_requests_once_each_in_order(
    rig: InvokeHarness, pool: asyncpg.Pool
) -> None:
    # Given requests that died: one by a viewer (refused on replay), one
    # of another batch (not chosen), and one that the client sent twice
    batch = uuid.uuid4().hex
    first, viewer, second = request(batch=batch), request("demo-viewer", batch=batch), None
    second = request(batch=batch, n=2)
    other = request(batch="another")
    sent = [first, viewer, second, first, other]
    await rig.dead_letter(sent)
    ids = [r.invocation_id for r in sent]
    assert await rig.order() == ids

    async def cli(*args: str) -> tuple[int, str, str]:
        return await run_cli(rig.settings, *args)

    # When the operator looks: every request, in order, with who sent it and why it died
    code, out, _ = await cli("dlq", "list", "--queue", "invoke", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["invocation_id"] for r in rows] == ids
    assert [r["user_id"] for r in rows] == [r.user_id for r in sent]
    assert {r["reason"] for r in rows} == {"rejected"}
    assert {r["queue"] for r in rows} == {rig.topology.invoke_queue}
    code, out, _ = await cli("dlq", "show", viewer.invocation_id, "--queue", "invoke", "--json")
    assert code == 0 and json.loads(out)["request"]["user_id"] == "demo-viewer"
    match = ["--queue", "invoke", "--match", f"parameters.body.batch={batch}"]
    code, out, _ = await cli("replay", *match, "--plan", "--json")
    assert code == 0 and json.loads(out)["plan"]["matching"] == 4
    # A request names its trigger, not its type: the type is the trigger's, from the store
    by_type = ["replay", "--queue", "invoke", "--plan", "--json", "--trigger-type"]
    code, out, _ = await cli(*by_type, "webhook")
    assert code == 0 and json.loads(out)["plan"]["matching"] == len(sent)
    code, out, _ = await cli(*by_type, "CRON")
    assert code == 0 and json.loads(out)["plan"]["matching"] == 0
    code, _, err = await cli(*by_type, "webhooks")  # refused, naming the types there are
    assert code == 2 and "'webhooks' is not one of" in err and "'webhook'" in err
    assert await rig.order() == ids  # looking moved nothing
    # When a healthy worker is back and the matching requests are replayed
    rig.start("worker")
    rig.start("scheduler")
    code, out, err = await cli("replay", *match, "--yes", "--user", "ops", "--json")
    # Then each became one execution (the one sent twice too); the refused and the unchosen
    # requests stay, in their order
    assert code == 1, err  # one refused
    assert json.loads(out.splitlines()[-1]) == {
        "matched": 4,
        "replayed": 3,
        "skipped": 1,
        "failed": {"insufficient_role": 1},
        "interrupted": False,
    }

    async def recorded() -> bool:
        return await executions(pool, first, second) == [1, 1]

    await eventually(recorded)
    assert await rig.order() == [viewer.invocation_id, other.invocation_id]
    assert await executions(pool, viewer, other) == [0, 0]


async def test_replaying_a_request_twice_makes_one_execution_unless_again(
    rig: InvokeHarness, pool: asyncpg.Pool
) -> None:
    # Given one request dead-lettered three times (its client retried it)
    marker = uuid.uuid4().hex
    once = request(n=7, marker=marker)
    raw = request(n=8)
    await rig.dead_letter([once, once, once, raw])
    rig.start("worker")
    rig.start("scheduler")
    client = await InvokeClient.open(rig.resources.connection, rig.topology)

    async def run(**options: Any) -> Any:
        chosen = Filters(matches=[(["invocation_id"], once.invocation_id)])
        return await replay(
            rig.resources.connection,
            rig.dlq,
            client,
            ReplayOptions(user_id="ops", filters=options.pop("filters", chosen), **options),
            asyncio.Event(),
        )

    try:
        # When two copies are replayed: one execution
        twice = await run(kind=DeadLetterQueue.invoke, limit=2)
        assert (twice.matched, twice.replayed) == (2, 2)
        await eventually(lambda: _equals(executions(pool, once), [1]))
        # When the last copy is replayed deliberately again: a new invocation, a new execution
        again = await run(kind=DeadLetterQueue.invoke, again=True)
        assert again.replayed == 1
        # When the other is re-published byte for byte: the worker handles it as it was sent
        as_is = await run(
            kind=DeadLetterQueue.invoke,
            as_is=True,
            filters=Filters(matches=[(["parameters"], raw.parameters)]),
        )
        assert as_is.replayed == 1
    finally:
        await client.close()
    await eventually(lambda: _equals(executions(pool, raw), [1]))
    assert await executions(pool, once) == [1]
    # ...and the deliberate second run is an execution of its own, under a new invocation id
    runs = await pool.fetch(
        "SELECT metadata->>'invocation_id' AS id FROM workflow_executions"
        " WHERE metadata->'simulated_parameters'->'body'->>'marker' = $1",
        marker,
    )
    assert len(runs) == 2 and once.invocation_id in {r["id"] for r in runs}
    assert await rig.order() == []


async def _equals(probe: Any, expected: Any) -> bool:
    return bool(await probe == expected)


async def test_an_interrupted_replay_leaves_the_rest_in_order_and_resuming_finishes_it(
    rig: InvokeHarness, pool: asyncpg.Pool
) -> None:
    # Given six dead-lettered requests and a healthy worker
    sent = [request(n=n, run=uuid.uuid4().hex) for n in range(6)]
    await rig.dead_letter(sent)
    rig.start("worker")
    rig.start("scheduler")
    client = await InvokeClient.open(rig.resources.connection, rig.topology)
    stop = asyncio.Event()

    def stop_after_two(summary: ReplaySummary) -> None:
        if summary.replayed == 2:
            stop.set()

    try:
        # When the replay is interrupted after two, one at a time
        first = await replay(
            rig.resources.connection,
            rig.dlq,
            client,
            ReplayOptions(user_id="ops", filters=Filters(), kind=DeadLetterQueue.invoke, window=1),
            stop,
            stop_after_two,
        )
        # Then the other four are still there, in their order
        assert first.interrupted and first.replayed == 2
        assert await rig.order() == [r.invocation_id for r in sent[2:]]
        # And running it again finishes the job: one execution each
        rest = await replay(
            rig.resources.connection,
            rig.dlq,
            client,
            ReplayOptions(user_id="ops", filters=Filters(), kind=DeadLetterQueue.invoke),
            asyncio.Event(),
        )
    finally:
        await client.close()
    assert rest.replayed == 4 and not rest.interrupted
    await eventually(lambda: _equals(executions(pool, *sent), [1] * 6))
    assert await rig.order() == []
