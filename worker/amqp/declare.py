"""The topology every role declares at its start: exchanges, quorum queues with their
delivery limits and dead-letter exchanges and queues, bindings (names from contracts/topology.py).
"""

from __future__ import annotations

from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractQueue
from aio_pika.exceptions import ChannelPreconditionFailed

from contracts.topology import (
    ALL_EXECUTION_UPDATES,
    ALL_TRIGGER_EVENTS,
    INVOKE_ROUTING_KEY,
    Topology,
    dead_letter_exchange,
    dead_letter_queue,
)

# Replicas of each quorum queue; RabbitMQ places fewer when the cluster has fewer nodes.
QUORUM_REPLICAS = 3


def _consumer_queue_arguments(queue: str, delivery_limit: int) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": dead_letter_exchange(queue),
        # At-least-once dead-lettering: a dead letter is only dropped once its DLQ confirmed it.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


async def declare_topology(
    channel: AbstractChannel, topology: Topology, delivery_limit: int
) -> None:
    """Declare every exchange, queue and binding; idempotent, run at the start of every role."""
    trigger_exchange = await channel.declare_exchange(
        topology.trigger_exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    invoke_exchange = await channel.declare_exchange(
        topology.invoke_exchange, aio_pika.ExchangeType.DIRECT, durable=True
    )
    updates_exchange = await channel.declare_exchange(
        topology.updates_exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queues: dict[str, AbstractQueue] = {}
    for name in topology.consumer_queues:
        dlx = await channel.declare_exchange(
            dead_letter_exchange(name), aio_pika.ExchangeType.FANOUT, durable=True
        )
        dlq = await _declare_quorum_queue(
            channel, dead_letter_queue(name), {"x-queue-type": "quorum"}
        )
        await dlq.bind(dlx)
        queues[name] = await _declare_quorum_queue(
            channel, name, _consumer_queue_arguments(name, delivery_limit)
        )
    await queues[topology.invoke_queue].bind(invoke_exchange, INVOKE_ROUTING_KEY)
    await queues[topology.scheduler_queue].bind(trigger_exchange, ALL_TRIGGER_EVENTS)
    await queues[topology.updates_queue].bind(updates_exchange, ALL_EXECUTION_UPDATES)
    # Each probe replaces the one before: the queue never holds more than one message.
    await _declare_quorum_queue(
        channel,
        topology.progress_queue,
        {"x-queue-type": "quorum", "x-max-length": 1, "x-overflow": "drop-head"},
    )


async def _declare_quorum_queue(
    channel: AbstractChannel, name: str, arguments: dict[str, Any]
) -> AbstractQueue:
    """Declare a quorum queue with `QUORUM_REPLICAS` replicas. A queue made before the replica
    count was declared keeps its arguments (RabbitMQ refuses to change them), and its
    replicas are managed with `rabbitmq-queues grow`/`shrink` instead."""
    arguments = {"x-quorum-initial-group-size": QUORUM_REPLICAS, **arguments}
    try:
        return await channel.declare_queue(name, durable=True, arguments=arguments)
    except ChannelPreconditionFailed as exc:
        if "x-quorum-initial-group-size" not in str(exc):
            raise
    await channel.reopen()  # the refusal closed the channel
    del arguments["x-quorum-initial-group-size"]
    return await channel.declare_queue(name, durable=True, arguments=arguments)


async def delete_topology(channel: AbstractChannel, topology: Topology) -> None:
    """Remove what `declare_topology` made (tests and benchmarks clean up with this)."""
    for name in topology.consumer_queues:
        for queue in (name, dead_letter_queue(name)):
            await channel.queue_delete(queue)
        await channel.exchange_delete(dead_letter_exchange(name))
    await channel.queue_delete(topology.progress_queue)
    await channel.exchange_delete(topology.invoke_exchange)
    await channel.exchange_delete(topology.updates_exchange)
    if topology.platform_trigger_exchange is None:
        await channel.exchange_delete(topology.trigger_exchange)
