"""Waiting and broker helpers shared by integration and end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aio_pika
from aio_pika.abc import (
    AbstractConnection,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from contracts.models import InvokeResult
from contracts.topology import DIRECT_REPLY_TO, INVOKE_ROUTING_KEY, Topology
from tests.conftest import TEST_JWT_SECRET
from worker.settings import Settings

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], *, timeout: float = 15.0, interval: float = 0.05
) -> T:
    """Poll `probe` until it returns something truthy; fail with its last value otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        await asyncio.sleep(interval)


async def publish_raw(
    connection: AbstractRobustConnection,
    exchange: str,
    routing_key: str,
    body: bytes,
    **properties: Any,
) -> None:
    """Publish as a foreign client would: confirmed, persistent, mandatory."""
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    async with channel:
        target = await channel.get_exchange(exchange, ensure=False)
        # As a delegate would: its broker user, validated by RabbitMQ (worker/identity.py)
        properties.setdefault("user_id", connection.url.user)
        message = aio_pika.Message(
            body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, **properties
        )
        await target.publish(message, routing_key=routing_key, mandatory=True)


async def take_all(
    connection: AbstractRobustConnection, queue: str, *, wait: float = 0.0
) -> list[AbstractIncomingMessage]:
    """Consume (and ack) everything in `queue`, waiting up to `wait` seconds for the first."""
    channel = await connection.channel()
    async with channel:
        source = await channel.get_queue(queue, ensure=False)
        taken: list[AbstractIncomingMessage] = []
        deadline = time.monotonic() + wait
        while True:
            message = await source.get(fail=False, no_ack=True)
            if message is not None:
                taken.append(message)
                continue
            if taken or time.monotonic() >= deadline:
                return taken
            await asyncio.sleep(0.05)


class FlakyPool:
    """A real pool that fails its first `failures` calls as if the database were down (or,
    with another `error`, as if every query hit a bug)."""

    def __init__(self, pool: Any, failures: int, error: Exception | None = None) -> None:
        self._pool = pool
        self.failures = failures
        self.calls = 0
        self.error = error or ConnectionRefusedError("simulated database outage")

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._pool, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.failures > 0:
                self.failures -= 1
                raise self.error
            return await method(*args, **kwargs)

        return call


CLI = Path(sys.executable).parent / "manual-trigger"


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that points `manual-trigger` at a test instance."""
    return {
        **os.environ,
        "MTI_NAMESPACE": settings.namespace,
        "MTI_DATABASE_URL": settings.database_url.get_secret_value(),
        "MTI_AMQP_URL": settings.amqp_url.get_secret_value(),
        "MTI_REDIS_URL": settings.redis_url.get_secret_value(),
        "MTI_JWT_SECRET": TEST_JWT_SECRET,
        **extra,
    }


async def run_cli(
    settings: Settings, *args: str, stdin: bytes | None = None, **env: str
) -> tuple[int, str, str]:
    """Run the CLI without blocking this event loop (a worker under test may live in it)."""
    process = await asyncio.create_subprocess_exec(
        str(CLI),
        *args,
        env=cli_env(settings, **env),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def ignore(message: AbstractIncomingMessage) -> None:
    pass


async def take_one(queue: AbstractQueue) -> AbstractIncomingMessage:
    async with queue.iterator(no_ack=True) as messages:
        async for message in messages:
            return message
    raise AssertionError(f"{queue.name} closed before a message came")


async def direct_reply_address(
    node_url: str, on_reply: Callable[[AbstractIncomingMessage], Awaitable[None]] | None = None
) -> tuple[AbstractConnection, str]:
    """A caller connected to one node, consuming direct reply-to (with `on_reply`): its
    connection and the reply address the broker gives its requests (read back from a request
    sent to itself)."""
    connection = await aio_pika.connect(node_url)
    channel = await connection.channel()
    replies = await channel.get_queue(DIRECT_REPLY_TO, ensure=False)
    await replies.consume(on_reply or ignore, no_ack=True)
    mailbox = await channel.declare_queue(exclusive=True)
    await channel.default_exchange.publish(
        aio_pika.Message(b"{}", reply_to=DIRECT_REPLY_TO), routing_key=mailbox.name
    )
    request = await asyncio.wait_for(take_one(mailbox), timeout=10)
    assert request.reply_to and request.reply_to.startswith(DIRECT_REPLY_TO + "."), request
    return connection, request.reply_to


async def direct_publish(
    broker: AbstractRobustConnection, topology: Topology, body: bytes, **properties: Any
) -> InvokeResult:
    """Publish an invoke message as a plain AMQP client would and wait for the reply. By
    default it proves its sender as a delegate would (the connection's broker user in the
    validated `user_id` property); `user_id=None` sends none."""
    properties.setdefault("user_id", broker.url.user)
    channel = await broker.channel()
    try:
        replies = await channel.get_queue(DIRECT_REPLY_TO, ensure=False)
        answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        async def on_reply(message: AbstractIncomingMessage) -> None:
            if not answer.done():
                answer.set_result(message.body)

        await replies.consume(on_reply, no_ack=True)
        exchange = await channel.get_exchange(topology.invoke_exchange, ensure=False)
        message = aio_pika.Message(
            body,
            content_type="application/json",
            message_id="direct",
            correlation_id="direct",
            reply_to=DIRECT_REPLY_TO,
            **properties,
        )
        await exchange.publish(message, routing_key=INVOKE_ROUTING_KEY)
        return InvokeResult.parse(await asyncio.wait_for(answer, 10))
    finally:
        if not channel.is_closed:
            await channel.close()


async def count_executions(pool: Any, workflow_id: str) -> int:
    """How many executions a workflow has (tests compare before and after)."""
    count: int = await pool.fetchval(
        "SELECT count(*) FROM workflow_executions WHERE workflow_id = $1", workflow_id
    )
    return count
