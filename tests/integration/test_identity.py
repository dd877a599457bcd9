"""Every invoke message carries an identity the worker verifies (issue 18), on the real broker.

A worker runs on a namespace of its own with the rules under test; a queue of the test's own is
bound to that namespace's trigger exchange, so "nothing reached it" is observed, not assumed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiormq
import pytest
from aio_pika.abc import AbstractQueue, AbstractRobustConnection
from redis.asyncio import Redis

from contracts.models import InvokeResult, InvokeStatus, TriggerEvent
from tests.factories import FIXED_TIME, invoke_request
from tests.helpers import TEST_JWT_SECRET, direct_publish
from tests.integration.test_pipeline import side, side_worker  # noqa: F401 -- the fixture
from worker import amqp
from worker.auth import mint_token
from worker.settings import Settings

pytestmark = pytest.mark.integration


@dataclass
class Rig:
    settings: Settings
    broker: AbstractRobustConnection
    events: AbstractQueue  # a copy of everything the trigger exchange receives

    async def ask(self, body: bytes, **properties: Any) -> InvokeResult:
        """Publish an invoke message as an outside client would; the worker's reply."""
        properties.setdefault("user_id", None)  # no identity unless the test gives one
        return await direct_publish(self.broker, self.settings.topology, body, **properties)

    async def published(self) -> list[TriggerEvent]:
        await asyncio.sleep(0.3)  # a publish after the reply would be late, not absent
        taken = []
        while (message := await self.events.get(fail=False, no_ack=True)) is not None:
            taken.append(TriggerEvent.parse(message.body))
        return taken


@pytest.fixture
async def rig_for(
    side: Settings,  # noqa: F811 -- the fixture imported above
    pool: Any,
    broker: AbstractRobustConnection,
    redis: Redis,
) -> AsyncIterator[Any]:
    """A factory: a worker on `side` whose settings take these overrides."""
    started: list[tuple[asyncio.Event, asyncio.Task[None]]] = []
    channel = await broker.channel()

    async def start(**overrides: Any) -> Rig:
        settings = side.model_copy(update=overrides)
        tap = await channel.declare_queue(exclusive=True)
        await tap.bind(settings.topology.trigger_exchange, routing_key="#")
        confirmed = await amqp.confirmed_channel(broker, prefetch=10)
        exchange = await confirmed.get_exchange(settings.topology.trigger_exchange, ensure=False)
        worker = side_worker(settings, pool, broker, exchange, redis)
        queue = await confirmed.get_queue(settings.topology.invoke_queue, ensure=False)
        stop = asyncio.Event()
        task = asyncio.create_task(amqp.consume_until(queue, worker.handle, stop, 1.0))
        started.append((stop, task))
        return Rig(settings, broker, tap)

    yield start
    for stop, task in started:
        stop.set()
        await task
    await channel.close()


def refused(result: InvokeResult, reason: str) -> bool:
    return (
        result.status is InvokeStatus.UNAUTHENTICATED
        and not result.success
        and reason in result.message
        and [e.code for e in result.errors] == ["unauthenticated"]
    )


async def test_a_message_without_a_verifiable_identity_is_refused(rig_for: Any) -> None:
    rig = await rig_for()
    result = await rig.ask(invoke_request().body())  # no user_id property, no token
    assert refused(result, "no verifiable identity")
    assert await rig.published() == []


async def test_a_token_for_another_audience_is_refused(rig_for: Any) -> None:
    rig = await rig_for(jwt_audience="manual-trigger")
    token = mint_token(TEST_JWT_SECRET, "demo-user", aud="another-service")
    result = await rig.ask(invoke_request().body(), headers={"authorization": f"Bearer {token}"})
    assert refused(result, "token was not accepted")
    assert await rig.published() == []


async def test_a_token_speaks_only_for_its_subject(rig_for: Any) -> None:
    rig = await rig_for(jwt_audience="manual-trigger")
    token = mint_token(TEST_JWT_SECRET, "someone-else", aud="manual-trigger")
    result = await rig.ask(invoke_request().body(), headers={"authorization": f"Bearer {token}"})
    assert refused(result, "is not the token's subject")
    # ... and the token of the body's user is accepted
    token = mint_token(TEST_JWT_SECRET, "demo-user", aud="manual-trigger")
    result = await rig.ask(invoke_request().body(), headers={"authorization": f"Bearer {token}"})
    assert result.status is InvokeStatus.ACCEPTED, result
    assert len(await rig.published()) == 1


async def test_the_broker_refuses_a_forged_validated_user_id(rig_for: Any) -> None:
    # Publishing as broker user guest while claiming to be another: RabbitMQ itself refuses
    # it (PRECONDITION_FAILED) and closes the channel; the worker never sees the message.
    rig = await rig_for()
    with pytest.raises((aiormq.exceptions.ChannelPreconditionFailed, asyncio.TimeoutError)):
        await rig.ask(invoke_request().body(), user_id="mallory")
    assert await rig.published() == []


async def test_a_broker_user_that_is_no_delegate_acts_only_as_itself(rig_for: Any) -> None:
    rig = await rig_for(amqp_delegates="", amqp_principals="guest=billing-bot")
    result = await rig.ask(invoke_request(user_id="demo-user").body(), user_id="guest")
    assert refused(result, "acts as 'billing-bot', not as 'demo-user'")
    assert await rig.published() == []


async def test_a_delegate_acts_for_a_member(rig_for: Any) -> None:
    rig = await rig_for(amqp_delegates="guest")
    result = await rig.ask(invoke_request(user_id="demo-user").body(), user_id="guest")
    assert result.status is InvokeStatus.ACCEPTED, result
    (event,) = await rig.published()
    assert event.metadata["initiated_by"] == "demo-user"


def forged_replay() -> bytes:
    forged = TriggerEvent(
        event_id="never-dead-lettered",
        workflow_id="wf_demo",
        trigger_id="trig_webhook_1",
        trigger_type="WEBHOOK",
        occurred_at=FIXED_TIME,
        trigger_data={
            "headers": {"X-Signature-256": "sha256=forged"},
            "body": {"amount": 1_000_000, "note": "<script>alert(1)</script>"},
        },
        input_data={"amount": 1_000_000},
    )
    return invoke_request(replay_of=forged, source="replay", dry_run=True).body()


async def test_a_replay_from_a_principal_not_granted_replays_is_refused(rig_for: Any) -> None:
    rig = await rig_for(amqp_delegates="guest", replay_principals="")
    result = await rig.ask(forged_replay(), user_id="guest")
    assert refused(result, "may not send replays")
    assert await rig.published() == []


async def test_a_replay_shows_no_signature_as_computed(rig_for: Any) -> None:
    rig = await rig_for(amqp_delegates="guest", replay_principals="guest")
    result = await rig.ask(forged_replay(), user_id="guest")
    assert result.status is InvokeStatus.DRY_RUN, result
    shown = json.dumps(result.trigger_data.resolved_parameters if result.trigger_data else {})
    assert "COMPUTED" not in shown and "forged" not in shown
