"""The broker link of a process: a list of nodes, the next one when the connection is lost,
the invoke client's answers while no node answers (the fault suite does the same on a real
cluster; these run on the machine's broker behind a proxy that can cut it)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage
from aiormq.exceptions import ChannelInvalidStateError

from contracts.topology import Topology
from tests.factories import invoke_request
from tests.faults.proxy import FaultProxy
from tests.helpers import RunningSystem, direct_reply_address, free_port
from worker import amqp, runtime
from worker.amqp import declare as amqp_declare
from worker.amqp import replies as amqp_replies
from worker.rpc import BrokerUnavailable, InvokeClient
from worker.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
async def cuttable(urls: dict[str, str]) -> AsyncIterator[tuple[FaultProxy, str]]:
    """The machine's broker behind a proxy, and the URL through it."""
    proxy = FaultProxy("127.0.0.1", 5672)
    await proxy.start()
    real = urls["MTI_AMQP_URL"]
    yield proxy, real.replace("127.0.0.1:5672", f"127.0.0.1:{proxy.port}")
    await proxy.close()


def test_the_node_list_is_comma_separated() -> None:
    assert amqp.node_urls(" amqp://a:5672/ ,amqp://b:5672/,") == [
        "amqp://a:5672/",
        "amqp://b:5672/",
    ]
    with pytest.raises(ValueError, match="no broker node"):
        amqp.node_urls(" , ")


async def test_a_process_connects_to_the_first_node_that_answers(urls: dict[str, str]) -> None:
    dead = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    broker = amqp.Broker(f"{dead},{urls['MTI_AMQP_URL']}", "tests broker list")
    await broker.start()
    try:
        assert broker.is_connected
        channel = await broker.connection.channel()
        await channel.close()
    finally:
        await broker.close()


async def test_a_process_fails_at_start_when_no_node_answers() -> None:
    broker = amqp.Broker(f"amqp://guest:guest@127.0.0.1:{free_port()}/", "tests no broker")
    with pytest.raises(ConnectionError):
        await broker.start()


async def test_invoke_client_answers_unavailable_while_the_broker_is_cut_then_recovers(
    cuttable: tuple[FaultProxy, str], settings: Settings, system: RunningSystem
) -> None:
    # Given a client (as the shim holds one) whose broker connection goes through a proxy
    proxy, url = cuttable
    broker = amqp.Broker(url, "tests cuttable shim")
    await broker.start()
    client = await InvokeClient.open(broker, settings.topology)
    try:
        assert await client.call(invoke_request(), timeout=10) is not None
        # When the broker cannot be reached, a call fails within its timeout (a 503 in the
        # shim), never hangs and never claims success
        proxy.cut()
        started = time.monotonic()
        with pytest.raises(BrokerUnavailable):
            await client.call(invoke_request(), timeout=1.5)
        assert time.monotonic() - started < 3
        # Then once it is back the same client publishes and gets its reply again: the
        # publishing channel and the direct reply-to consumer were opened afresh
        proxy.restore()
        result = await client.call(invoke_request(), timeout=10)
        assert result is not None and result.success
    finally:
        await client.close()
        await broker.close()


@pytest.mark.parametrize("robust", [False, True], ids=["process", "cli"])
async def test_queues_declared_without_a_replica_count_are_still_declared(
    urls: dict[str, str], settings: Settings, robust: bool
) -> None:
    # Given the queues of an install made before the replica count was declared
    topology = Topology(f"{settings.namespace}old{uuid.uuid4().hex[:6]}")
    url = urls["MTI_AMQP_URL"]
    if robust:
        connection = await amqp.connect(url, "tests old queues")
    else:
        connection = await aio_pika.connect(url)
    channel = await connection.channel()
    try:
        for queue in topology.consumer_queues:
            await channel.declare_queue(
                queue, durable=True, arguments=amqp_declare._consumer_queue_arguments(queue, 3)
            )
        # When a role declares the topology, it keeps them as they are instead of failing
        await amqp.declare_topology(channel, topology, 3)
        await amqp.declare_topology(channel, topology, 3)
    finally:
        await amqp.delete_topology(channel, topology)
        await connection.close()


@dataclass
class ReplyRig:
    """A caller waiting on direct reply-to (its address, what it received) and a worker's
    reply publisher on a broker link of its own."""

    address: str
    received: asyncio.Queue[bytes]
    broker: amqp.Broker
    replies: amqp.ReplyPublisher


@pytest.fixture
async def reply_rig(urls: dict[str, str]) -> AsyncIterator[ReplyRig]:
    url = urls["MTI_AMQP_URL"]
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_reply(message: AbstractIncomingMessage) -> None:
        await received.put(message.body)

    caller, address = await direct_reply_address(url, on_reply)
    broker = amqp.Broker(url, "tests replies")
    await broker.start()
    yield ReplyRig(address, received, broker, amqp.ReplyPublisher(broker))
    await broker.close()
    await caller.close()


async def test_replies_wait_for_their_connection_to_be_made_again(reply_rig: ReplyRig) -> None:
    rig = reply_rig
    await rig.replies.publish(rig.address, amqp.json_message(b'"first"', message_id="r1"))
    assert await asyncio.wait_for(rig.received.get(), 10) == b'"first"'
    # When the reply connection is lost (as when the broker crashes it)
    lost = rig.broker.connection
    await lost.close()
    # Then the next reply waits for the next connection and still arrives
    await rig.replies.publish(rig.address, amqp.json_message(b'"second"', message_id="r2"))
    assert await asyncio.wait_for(rig.received.get(), 10) == b'"second"'
    assert rig.broker.connection is not lost


class FailingChannel:
    """A reply channel whose connection goes while replies are in flight on it."""

    is_closed = False

    def __init__(self) -> None:
        self.gone = asyncio.Event()
        self.default_exchange = self

    async def publish(self, *_: object, **__: object) -> None:
        await self.gone.wait()
        raise ChannelInvalidStateError("the connection went")


async def test_replies_lost_with_their_connection_go_again_except_the_one_it_went_on(
    reply_rig: ReplyRig,
) -> None:
    # Given two replies in flight on a reply channel whose connection then goes
    rig = reply_rig
    failing = FailingChannel()
    rig.replies._link = amqp_replies._ReplyLink(failing)  # type: ignore[arg-type]
    first = asyncio.create_task(
        rig.replies.publish(rig.address, amqp.json_message(b'"first"', message_id="r3"))
    )
    await asyncio.sleep(0)
    second = asyncio.create_task(
        rig.replies.publish(rig.address, amqp.json_message(b'"second"', message_id="r4"))
    )
    await asyncio.sleep(0.05)
    failing.gone.set()
    await asyncio.gather(first, second)
    # Then the oldest unconfirmed one (the reply the connection went on) is dropped, and the
    # later one goes again on a fresh channel and arrives
    assert await asyncio.wait_for(rig.received.get(), 10) == b'"second"'
    await asyncio.sleep(0.5)
    assert rig.received.empty()


async def test_a_consumer_the_broker_cancels_consumes_again(urls: dict[str, str]) -> None:
    # Given a role consuming a quorum queue through `keep_consuming`
    name = f"tests.cancelled.{uuid.uuid4().hex[:8]}"
    quorum = {"x-queue-type": "quorum"}
    broker = amqp.Broker(urls["MTI_AMQP_URL"], "tests cancelled consumer")
    await broker.start()
    admin = await broker.connection.channel()
    await admin.declare_queue(name, durable=True, arguments=quorum)
    handled: asyncio.Queue[bytes] = asyncio.Queue()
    stop = asyncio.Event()

    async def handle(message: AbstractIncomingMessage) -> None:
        await handled.put(message.body)
        await message.ack()

    async def consume(connection: aio_pika.abc.AbstractConnection) -> None:
        channel = await connection.channel()
        try:
            queue = await channel.get_queue(name, ensure=False)
            await amqp.consume_until(queue, handle, stop, grace_seconds=1.0)
        finally:
            if not channel.is_closed:
                await channel.close()

    consuming = asyncio.create_task(runtime.keep_consuming(broker, consume, stop))
    try:
        await admin.default_exchange.publish(aio_pika.Message(b"one"), routing_key=name)
        assert await asyncio.wait_for(handled.get(), 10) == b"one"
        # When the broker cancels its consumer (here: the queue deleted and declared again;
        # a node leaving does the same) while the channel stays open
        await admin.queue_delete(name)
        # (RabbitMQ drops the cancel of a queue declared again under the same name at once)
        await asyncio.sleep(1.0)
        await admin.declare_queue(name, durable=True, arguments=quorum)
        await admin.default_exchange.publish(aio_pika.Message(b"two"), routing_key=name)
        # Then the role consumes again and gets what comes next, not silence for ever
        assert await asyncio.wait_for(handled.get(), 15) == b"two"
    finally:
        stop.set()
        await asyncio.wait_for(consuming, 10)
        await admin.queue_delete(name)
        await admin.close()
        await broker.close()


async def test_a_wait_whose_connection_closes_under_it_is_a_broker_failure(
    cuttable: tuple[FaultProxy, str],
) -> None:
    # Given a publish waiting for a confirm that cannot come (the link holds every byte)
    proxy, url = cuttable
    connection = await aio_pika.connect(url)
    channel = await amqp.confirmed_channel(connection)
    proxy.pause()

    async def publish() -> None:
        with amqp.as_broker_failure():
            await channel.default_exchange.publish(aio_pika.Message(b"x"), routing_key="none")

    waiting = asyncio.create_task(publish())
    await asyncio.sleep(0.2)
    # When its connection is closed under it (aiormq fails such waits with CancelledError,
    # the same when it finds a connection stuck)
    await asyncio.wait_for(connection.close(), 10)
    # Then the wait ends as a broker failure the caller retries, not as a cancellation
    with pytest.raises(amqp.ClosedUnderneath):
        await waiting
    # While a cancellation of the waiting task itself is still one
    parked = asyncio.create_task(wait_for_ever())
    await asyncio.sleep(0.1)
    parked.cancel()
    with pytest.raises(asyncio.CancelledError):
        await parked


async def wait_for_ever() -> None:
    with amqp.as_broker_failure():
        await asyncio.Event().wait()


async def test_a_call_in_flight_when_its_node_is_left_is_answered_from_the_next(
    cuttable: tuple[FaultProxy, str],
    urls: dict[str, str],
    settings: Settings,
    system: RunningSystem,
) -> None:
    # Given a shim's client on the first node of two (through a proxy), with a call waiting
    # for a confirm that node cannot give
    proxy, url = cuttable
    broker = amqp.Broker(f"{url},{urls['MTI_AMQP_URL']}", "tests left node")
    await broker.start()
    client = await InvokeClient.open(broker, settings.topology)
    try:
        assert await client.call(invoke_request(), timeout=10) is not None
        proxy.pause()
        calling = asyncio.create_task(client.call(invoke_request(), timeout=15))
        await asyncio.sleep(0.5)
        # When the process leaves that node (its progress probe found it stuck)
        await broker.abandon(broker.connection, "test: no confirms")
        # Then the call is made again on the next node and answered there
        result = await calling
        assert result is not None and result.success
    finally:
        proxy.restore()
        await client.close()
        await broker.close()
