"""`manual-trigger topology` declares exactly the names the AsyncAPI document gives."""

from __future__ import annotations

import uuid

import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.asyncapi import asyncapi_document
from tests.helpers import run_cli
from tests.unit.test_asyncapi import amqp_names
from worker import amqp
from worker.settings import Settings

pytestmark = pytest.mark.integration


async def test_the_declared_topology_is_the_documented_one(
    settings: Settings, broker: AbstractRobustConnection
) -> None:
    own = settings.model_copy(update={"namespace": f"{settings.namespace}a{uuid.uuid4().hex[:6]}"})
    code, out, err = await run_cli(own, "topology")
    channel = await broker.channel()
    try:
        assert code == 0, err
        declared = out.strip().removeprefix("declared: ")
        exchanges, queues = (part.split(" ", 1)[1].split(", ") for part in declared.split("; "))
        documented_exchanges, documented_queues = amqp_names(asyncapi_document(own.topology))
        assert set(exchanges) == set(own.topology.exchanges)
        assert documented_exchanges <= set(exchanges)
        assert documented_queues - {"amq.rabbitmq.reply-to"} <= set(queues)
        for name in exchanges:  # each exists on the broker (passive declare)
            await channel.get_exchange(name, ensure=True)
        for name in queues:
            await channel.get_queue(name, ensure=True)
    finally:
        await amqp.delete_topology(channel, own.topology)
        await channel.close()
