"""The floor under the worker's CPU per invocation: what a process on the same stack spends
per message with no work of its own.

`python -m tests.benchmarks.floor SOURCE TARGET COUNT` (run by `make bench` as a process of its
own) consumes SOURCE with the worker's
prefetch, and for each message publishes it to TARGET confirmed, persistent and mandatory,
writes one Redis key (through a pool like the roles'), and acks: the transport a worker
needs for one invocation (an event out, a status written, a request settled), on uvloop,
without parsing, checking, resolving, logging or counting anything. It prints the CPU time
(user + system, as /proc counts the roles') it spent from the moment it consumed until the
last message was acked. Whatever the worker spends beyond this is its own work; this much no
change to the worker can remove.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from redis.asyncio import BlockingConnectionPool, Redis

from worker import amqp

PREFETCH = 200  # the worker's default


async def relay(source: str, target: str, count: int) -> None:
    connection = await aio_pika.connect(os.environ["MTI_AMQP_URL"])
    redis = Redis.from_pool(
        BlockingConnectionPool.from_url(os.environ["MTI_REDIS_URL"], max_connections=64)
    )
    channel = await amqp.confirmed_channel(connection, PREFETCH)
    queue = await channel.get_queue(source, ensure=False)
    handled = 0
    done = asyncio.Event()
    status_key = f"{source}:status"

    async def handle(message: AbstractIncomingMessage) -> None:
        nonlocal handled
        await channel.default_exchange.publish(
            aio_pika.Message(message.body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=target,
            mandatory=True,
        )
        await redis.set(status_key, message.body, ex=60)
        await message.ack()
        handled += 1
        if handled == count:
            done.set()

    await queue.consume(handle)
    started = time.process_time()
    await done.wait()
    print(json.dumps({"cpu_ms": (time.process_time() - started) * 1000}), flush=True)
    await redis.delete(status_key)
    await redis.aclose()
    await connection.close()


if __name__ == "__main__":
    import uvloop

    source, target, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(relay(source, target, count))
