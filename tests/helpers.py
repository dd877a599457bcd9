"""The tests' one support module: settings for a namespace, the running system and service,
waiting, and broker and CLI helpers shared by integration, end-to-end and fault tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aio_pika
import httpx
from aio_pika.abc import (
    AbstractConnection,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from redis.asyncio import Redis

from contracts.executions import STATUS_CHANNEL
from contracts.models import InvokeResult
from contracts.topology import DIRECT_REPLY_TO, INVOKE_ROUTING_KEY, Topology
from worker import amqp
from worker.auth import mint_token
from worker.resources import Resources
from worker.rpc import InvokeClient
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


def contained(part: Any, whole: Any) -> bool:
    """Every member of `part` is in `whole` with the same value (lists item by item)."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(
            k in whole and contained(v, whole[k]) for k, v in part.items()
        )
    if isinstance(part, list):
        return (
            isinstance(whole, list) and len(part) == len(whole) and all(map(contained, part, whole))
        )
    return type(part) is type(whole) and bool(part == whole)


async def count_executions(pool: Any, workflow_id: str) -> int:
    """How many executions a workflow has (tests compare before and after)."""
    count: int = await pool.fetchval(
        "SELECT count(*) FROM workflow_executions WHERE workflow_id = $1", workflow_id
    )
    return count


TEST_JWT_SECRET = "test-secret-" + "x" * 40


def make_settings(urls: dict[str, str], namespace: str, database: str) -> Settings:
    return Settings(
        namespace=namespace,
        amqp_url=urls["MTI_AMQP_URL"],
        database_url=urls["MTI_DATABASE_URL"].rsplit("/", 1)[0] + "/" + database,
        redis_url=urls["MTI_REDIS_URL"],
        jwt_secret=TEST_JWT_SECRET,
        delivery_limit=3,
        retry_backoff_seconds=0.05,
        retry_backoff_max_seconds=0.2,
        reply_timeout_seconds=10,
        # High defaults keep the suite's own traffic unlimited; tests of the limits use a
        # workflow with its own, low limits.
        rate_limit_per_user_per_minute=100_000,
        rate_limit_per_workflow_per_minute=100_000,
        shutdown_grace_seconds=5,
        log_format="json",
    )


async def delete_redis_keys(client: Redis, settings: Settings) -> None:
    async for key in client.scan_iter(match=settings.topology.redis_key("*")):
        await client.delete(key)


@dataclass
class RunningSystem:
    resources: Resources
    client: InvokeClient


def project_root() -> Path:
    return Path(__file__).resolve().parents[1]


PLANTED_SECRETS = (
    "demo-webhook-signing-secret",
    "demo-github-webhook-secret",
    "demo-slack-signing-secret",
    TEST_JWT_SECRET,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    url: str
    settings: Settings
    process: subprocess.Popen[bytes]
    log: Path
    responses: list[str] = field(default_factory=list)  # every body the tests received

    def token(self, user: str, ttl: int = 600) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(TEST_JWT_SECRET, user, ttl)}"}


@asynccontextmanager
async def running(
    role: str,
    settings: Settings,
    broker: AbstractRobustConnection,
    redis: Redis,
    log: Path,
    **env: Any,
) -> AsyncIterator[Service]:
    """Run `manual-trigger ROLE` with its own namespace; stop it with SIGTERM and clean up."""
    namespace = f"{settings.namespace}e{uuid.uuid4().hex[:6]}"
    port = free_port()
    own = settings.model_copy(update={"namespace": namespace, "http_port": port})
    environment = cli_env(
        own,
        MTI_HTTP_PORT=str(port),
        MTI_LOG_FORMAT="json",
        MTI_RETRY_BACKOFF_SECONDS="0.05",
        **{f"MTI_{k.upper()}": str(v) for k, v in env.items()},
    )
    with log.open("wb") as sink:
        process = subprocess.Popen([str(CLI), role], env=environment, stdout=sink, stderr=sink)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                if process.poll() is not None:
                    raise AssertionError(f"{role} exited early:\n{log.read_text()}")
                try:
                    ready = await client.get(f"{url}/readyz")
                    # A process that runs a worker: its shim has seen the worker consume too
                    # (else it answers every invocation "queued" at once).
                    workers = ready.json().get("invoke_queue", {}).get("consumers", 0)
                    if ready.status_code == 200 and (role != "run" or workers > 0):
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"{role} never became ready:\n{log.read_text()}")
        yield Service(url, own, process, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, 30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        channel = await broker.channel()
        await amqp.delete_topology(channel, own.topology)
        await channel.close()
        await delete_redis_keys(redis, own)


@asynccontextmanager
async def serving(
    role: str,
    settings: Settings,
    broker: AbstractRobustConnection,
    redis: Redis,
    log: Path,
    *,
    timeout: float = 30.0,
    **env: Any,
) -> AsyncIterator[tuple[Service, httpx.AsyncClient]]:
    """`running`, and an HTTP client of the process's shim."""
    async with (
        running(role, settings, broker, redis, log, **env) as service,
        httpx.AsyncClient(base_url=service.url, timeout=timeout) as http,
    ):
        yield service, http


@dataclass
class StreamEvent:
    """One Server-Sent Event as a client parses it (a comment line alone is a heartbeat)."""

    event: str | None = None
    id: str | None = None
    data: Any = None
    comment: str | None = None


async def sse_events(response: httpx.Response) -> AsyncIterator[StreamEvent]:
    """The events of a `text/event-stream` response, `data` parsed as JSON."""
    current, data = StreamEvent(), []
    async for line in response.aiter_lines():
        if line == "":
            if data or current.event or current.id or current.comment:
                current.data = json.loads("\n".join(data)) if data else None
                yield current
            current, data = StreamEvent(), []
        elif line.startswith(":"):
            current.comment = line[1:].strip()
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            elif name in ("event", "id"):
                setattr(current, name, value)


async def set_execution_status(
    pool: Any, execution_id: str, status: str, output: Any = None, error: Any = None
) -> None:
    """What a workflow engine's reported transition does to the row: UPDATE it and NOTIFY
    the status channel, in one transaction (for tests that need no engine)."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            """UPDATE workflow_executions
                  SET status = $2,
                      started_at = CASE WHEN $2 <> 'pending' THEN coalesce(started_at, now()) END,
                      finished_at = CASE WHEN $2 IN ('succeeded', 'failed', 'cancelled')
                                         THEN clock_timestamp() END,
                      output = $3, error = $4, updated_at = clock_timestamp()
                WHERE execution_id = $1""",
            execution_id,
            status,
            output,
            error,
        )
        await connection.execute("SELECT pg_notify($1, $2)", STATUS_CHANNEL, execution_id)
