"""The link to RabbitMQ: one connection at a time to one node of a cluster's list, and the
next node that answers when it is lost."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractRobustConnection

from worker.outage import BROKER_ERRORS

log = structlog.get_logger(__name__)

# Pause between two rounds over every node when none answers.
RECONNECT_SECONDS = 1.0
# A process that watches its progress proves this often that its node still gets a publish
# confirmed by a quorum (see `Broker`); a node that confirms none within the bound is left.
PROGRESS_INTERVAL_SECONDS = 2.0
PROGRESS_BOUND_SECONDS = 5.0
# A connection that stopped answering (a cut link, a node that holds every byte) is known lost
# after about twice this, on both sides: only then does the node hand the messages its
# consumer held to the consumers that are alive (RabbitMQ's advice: 5 to 20 s).
HEARTBEAT_SECONDS = 5
CONNECT_TIMEOUT_SECONDS = 5.0
CLOSE_TIMEOUT_SECONDS = 5.0


def url_user(setting: str) -> str:
    """The broker user an AMQP URL (or the first of a node list) connects as."""
    return urlsplit(setting.split(",")[0].strip()).username or "guest"


def node_urls(setting: str) -> list[str]:
    """`MTI_AMQP_URL` names one broker node or several, comma-separated (one cluster)."""
    urls = [url.strip() for url in setting.split(",") if url.strip()]
    if not urls:
        raise ValueError("MTI_AMQP_URL names no broker node")
    return urls


def _node(url: str) -> str:
    """host:port of a node URL, for logs (never the credentials)."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5672}"


async def connect(url: str, name: str) -> AbstractRobustConnection:
    """A robust connection to the first node of the list that answers (short-lived commands)."""
    error: BaseException | None = None
    for node in node_urls(url):
        try:
            return await aio_pika.connect_robust(node, client_properties={"connection_name": name})
        except BROKER_ERRORS as exc:
            error = exc
    assert error is not None
    raise error


class Broker:
    """A long-running process's link to RabbitMQ: one connection at a time to one node of the
    list; when it is lost, a connection to the next node that answers.

    The connections are plain, not aio-pika's robust ones: a robust channel restores only the
    queues it declared itself, so consumers started on `get_queue(..., ensure=False)` and the
    direct reply-to consumer were never restored, and every publish asking for a reply then
    closed the channel with PRECONDITION_FAILED, for ever. Instead every role opens its
    channels and consumers afresh on each new connection (`connected`), which also lets it
    move to another node of a cluster.
    """

    def __init__(
        self,
        url: str,
        name: str,
        *,
        progress_queue: str | None = None,
        progress_bound: float = PROGRESS_BOUND_SECONDS,
    ) -> None:
        self._urls = node_urls(url)
        self._name = name
        self._next = 0  # the node tried first when (re)connecting
        self._connection: AbstractConnection | None = None
        self._ready = asyncio.Event()
        self._lost = asyncio.Event()
        self._closing = False
        self._supervisor: asyncio.Task[None] | None = None
        self._progress_queue = progress_queue
        self._progress_bound = progress_bound
        self._progress: asyncio.Task[None] | None = None
        self._confirmed_at = 0.0  # loop time of the last confirmed probe (or connection)

    @property
    def user(self) -> str:
        """The broker user it connects as (every node URL names the same one)."""
        return url_user(self._urls[0])

    @property
    def connection(self) -> AbstractConnection:
        """The current connection; it may be closed while the next one is being made."""
        assert self._connection is not None, "Broker.start() first"
        return self._connection

    @property
    def is_connected(self) -> bool:
        return self._ready.is_set()

    @property
    def name(self) -> str:
        """The connection name RabbitMQ shows for this process (`rabbitmqctl list_connections`)."""
        return self._name

    async def start(self) -> None:
        """Connect to the first node that answers; raises when none does (fail at start)."""
        await self._connect_any()
        self._supervisor = asyncio.create_task(self._supervise())
        if self._progress_queue is not None:
            self._progress = asyncio.create_task(self._watch_progress(self._progress_queue))

    @property
    def progressing(self) -> bool:
        """Connected, and the node confirmed a publish lately (always true for a process that
        does not watch its progress): what `/readyz` reports for the broker."""
        if not self.is_connected:
            return False
        if self._progress is None:
            return True
        since = asyncio.get_running_loop().time() - self._confirmed_at
        return since <= PROGRESS_INTERVAL_SECONDS + self._progress_bound

    async def abandon(self, connection: AbstractConnection, reason: str) -> None:
        """Leave a node that cannot make progress: drop its connection, so that every role of
        the process starts afresh on the next node of the list. Whatever was unconfirmed is
        published again there under the same ids, and what was unacked is delivered again;
        the ids keep both exactly-once."""
        if connection is not self._connection or self._closing:
            return
        log.warning("broker node makes no progress; moving to the next node", reason=reason)
        # The supervisor moves on at once, and nobody takes this connection again meanwhile.
        self._ready.clear()
        self._lost.set()
        # aiormq waits up to 2 s for the node's close-ok, then closes the socket itself; the
        # bound is for a close that hangs anyway. Its channels close with it, so whatever
        # waits on them starts afresh on the next connection.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.close(), CLOSE_TIMEOUT_SECONDS)

    async def connected(self, stop: asyncio.Event | None = None) -> AbstractConnection | None:
        """The live connection, waiting for the next one if it was lost; None once `stop` is set
        first."""
        if stop is None:
            await self._ready.wait()
            return self._connection
        ready = asyncio.ensure_future(self._ready.wait())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({ready, stopping}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        stopping.cancel()
        return None if stop.is_set() else self._connection

    async def close(self) -> None:
        self._closing = True
        for task in (self._progress, self._supervisor):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._connection is not None:
            await self._connection.close()

    async def _connect_any(self) -> None:
        error: BaseException | None = None
        for _ in self._urls:
            url = self._urls[self._next]
            try:
                connection = await aio_pika.connect(
                    url,
                    client_properties={"connection_name": self._name},
                    heartbeat=HEARTBEAT_SECONDS,
                    # A node that takes the socket but never answers is the next one's turn.
                    timeout=CONNECT_TIMEOUT_SECONDS,
                )
            except BROKER_ERRORS as exc:
                error = exc
                self._next = (self._next + 1) % len(self._urls)
                continue
            self._lost.clear()
            connection.close_callbacks.add(functools.partial(self._closed, connection))
            self._connection = connection
            self._confirmed_at = asyncio.get_running_loop().time()  # a grace to prove itself
            self._ready.set()
            log.info("broker connected", node=_node(url))
            return
        assert error is not None
        raise error

    def _closed(self, connection: AbstractConnection, *_: object) -> None:
        # Only the current connection's loss counts: a late callback of an earlier one must
        # not make the process leave a live node.
        if connection is self._connection:
            self._lost.set()

    async def _supervise(self) -> None:
        while True:
            await self._lost.wait()
            if self._closing:
                return
            self._ready.clear()
            # The next node first: the one just lost is the least likely to answer.
            self._next = (self._next + 1) % len(self._urls)
            log.warning("broker connection lost; connecting to the next node that answers")
            while True:
                try:
                    await self._connect_any()
                    break
                except BROKER_ERRORS as exc:
                    log.warning("no broker node answers", error=str(exc), retry_s=RECONNECT_SECONDS)
                    await asyncio.sleep(RECONNECT_SECONDS)

    async def _watch_progress(self, queue: str) -> None:
        """Every `PROGRESS_INTERVAL_SECONDS`, a probe published to `queue` (a quorum queue
        that keeps one message) and confirmed: proof that the node still reaches a quorum.

        A node cut off from the rest of its cluster keeps the connection open and accepts
        publishes, but confirms none and delivers nothing; an operator's partition handling
        (pause_minority) closes its connections only once the node noticed, which takes up to
        net_ticktime. So a probe not confirmed within the bound is tried again at once on a
        fresh channel (RabbitMQ 3.x: a channel that published to a quorum queue whose leader
        was cut off waits for that leader for ever, while a new channel reaches the new one),
        and when that one is not confirmed either, the process moves on. Not while the
        connection is blocked by a resource alarm: an alarm blocks publishers on every node,
        so a move cannot help, and each move would return the messages a consumer holds and
        spend their delivery limit.
        """
        channel: AbstractChannel | None = None
        loop = asyncio.get_running_loop()
        probe = aio_pika.Message(b"", type="mti.progress-probe")
        strikes = 0
        while True:
            connection = await self.connected()
            assert connection is not None
            try:
                with as_broker_failure():
                    if channel is None or channel.is_closed:
                        channel = await asyncio.wait_for(
                            confirmed_channel(connection), self._progress_bound
                        )
                    await asyncio.wait_for(
                        channel.default_exchange.publish(probe, routing_key=queue),
                        self._progress_bound,
                    )
                self._confirmed_at = loop.time()
                strikes = 0
            except TimeoutError:
                close_soon(channel)
                channel = None
                strikes = 0 if is_blocked(connection) else strikes + 1
                if strikes == 1:
                    continue  # at once, on a fresh channel
                if strikes:
                    strikes = 0
                    await self.abandon(
                        connection, f"no publish confirmed within {self._progress_bound} s"
                    )
            except Exception as exc:  # a lost connection is the supervisor's; keep probing
                channel = None
                strikes = 0
                log.debug("progress probe failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(PROGRESS_INTERVAL_SECONDS)


class ClosedUnderneath(ConnectionError):
    """An operation whose connection was closed while it waited."""


@contextlib.contextmanager
def as_broker_failure() -> Iterator[None]:
    """Around an await on the broker: aiormq ends whatever waits on a connection it closes
    (one left for another node, or one it found without frames for three heartbeats) with
    CancelledError, though nobody cancelled the waiting task. That is the connection's loss,
    and the caller must see it as one (`ClosedUnderneath`, a broker failure it retries); a
    cancellation of the task itself goes on as it is."""
    try:
        yield
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is None or task.cancelling():
            raise
        raise ClosedUnderneath("the broker connection was closed under this operation") from None


_CLOSING: set[asyncio.Task[None]] = set()  # held here: the loop keeps only weak references


def close_soon(channel: AbstractChannel | None) -> None:
    """Close a channel given up on, without waiting for it (a stuck node may never answer)."""
    if channel is None or channel.is_closed:
        return

    async def close() -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(channel.close(), CLOSE_TIMEOUT_SECONDS)

    task = asyncio.create_task(close())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


def is_blocked(connection: Any) -> bool:
    """Whether RabbitMQ blocked this connection's publishers (a resource alarm); an aio-pika
    connection or aiormq's own."""
    transport = getattr(connection, "transport", None)
    underlay = getattr(transport, "connection", connection)
    # aiormq keeps the state private; without it, a connection counts as unblocked.
    unblocked = getattr(underlay, "_Connection__connection_unblocked", None)
    return isinstance(unblocked, asyncio.Event) and not unblocked.is_set()


async def confirmed_channel(
    connection: AbstractConnection, prefetch: int | None = None
) -> AbstractChannel:
    """A channel whose publishes wait for the broker's confirm and raise when unroutable."""
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    if prefetch:
        await channel.set_qos(prefetch_count=prefetch)
    return channel


def broker_user(source: Any) -> str:
    """The broker user a `Broker` or a connection connects as: the only `user_id` property
    RabbitMQ lets it publish (worker/identity.py trusts that property)."""
    if isinstance(source, Broker):
        return source.user
    return getattr(getattr(source, "url", None), "user", None) or "guest"


async def live_connection(source: Broker | AbstractConnection) -> AbstractConnection:
    """The connection to use now: a process's `Broker`'s current one (waiting for the next
    one if it was lost), or the one connection given."""
    if not isinstance(source, Broker):
        return source
    connection = await source.connected()
    assert connection is not None
    return connection
