"""The system under faults, the load that runs through it, and the count afterwards.

`System` runs the shim, the worker and the scheduler as separate processes on one namespace,
pointed at the suite's cluster through the node list and at PostgreSQL and Redis through the
fault proxies. `Load` sends a bounded stream of HTTP invokes (each with an Idempotency-Key,
retried with the same key until answered 202), AMQP invokes and real trigger events published
straight to the trigger exchange. `Load.tally` then counts, per fault: every accepted request
must have exactly one execution row (ids are deterministic, so the expected row of each is
known), and the dead-letter queues must hold exactly what the fault should put there.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import httpx
from aio_pika.exceptions import CONNECTION_EXCEPTIONS

from contracts.ids import manual_event_id
from contracts.models import InvocationSource, InvokeRequest, TriggerEvent, TriggerType
from contracts.topology import INVOKE_ROUTING_KEY, Topology, dead_letter_queue
from tests.helpers import CLI, TEST_JWT_SECRET, cli_env, eventually
from worker import amqp
from worker.auth import mint_token
from worker.settings import Settings

USER = "demo-user"
WORKFLOW = "wf_demo"
MANUAL_TRIGGER = "trig_manual_1"
EVENT_TRIGGER = "trig_webhook_1"
REPLY_TIMEOUT = 5.0  # the shim's MTI_REPLY_TIMEOUT_SECONDS in this suite
# Half of a run's traffic is HTTP, a quarter AMQP invokes, a quarter real events.
HTTP_PER_SECOND = 8
AMQP_PER_SECOND = 4
EVENTS_PER_SECOND = 4
RECOVERY_BOUND_S = 15.0


@dataclass
class FaultResult:
    fault: str
    sent: int
    accepted: int
    recorded: int
    duplicates: int
    dead_lettered: int
    lost: int
    recovery_s: float | None
    healed_s: float | None = None  # partitions: from the link's return to a recorded request
    cluster_whole_s: float | None = None  # partitions: until every node ran again, if it did
    answer_p99_s: float | None = None  # HTTP answers during the run, any status

    def row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    """One HTTP attempt as the client saw it."""

    key: str
    status: int  # 0: no answer (connection refused or reset, client timeout)
    retry_after: str | None
    started: float
    seconds: float


class System:
    def __init__(
        self,
        settings: Settings,
        amqp_urls: str,
        database_url: str,
        redis_urls: dict[str, str],
        logs: Path,
        http_port: int,
    ) -> None:
        self.settings = settings
        self.topology: Topology = settings.topology
        self._amqp_urls = amqp_urls
        self._database_url = database_url
        self._redis_urls = redis_urls  # per role: the worker may get a proxy of its own
        self.logs = logs
        self.http_port = http_port
        self.url = f"http://127.0.0.1:{http_port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.exits: list[tuple[str, int]] = []  # (role, exit code) of every stopped process
        self._generation: dict[str, int] = {}

    def env(self, role: str) -> dict[str, str]:
        return cli_env(
            self.settings,
            MTI_AMQP_URL=self._amqp_urls,
            MTI_DATABASE_URL=self._database_url,
            MTI_REDIS_URL=self._redis_urls.get(role, self._redis_urls["default"]),
            MTI_HTTP_PORT=str(self.http_port),
            MTI_LOG_FORMAT="json",
            # The production default: RabbitMQ 3.x counts the returns of a failover as
            # deliveries, and a node loss may return a message more than once.
            MTI_DELIVERY_LIMIT="5",
            MTI_RETRY_BACKOFF_SECONDS="0.1",
            MTI_RETRY_BACKOFF_MAX_SECONDS="2",
            MTI_REPLY_TIMEOUT_SECONDS=str(REPLY_TIMEOUT),
            MTI_RATE_LIMIT_PER_USER_PER_MINUTE="1000000",
            MTI_RATE_LIMIT_PER_WORKFLOW_PER_MINUTE="1000000",
            MTI_SHUTDOWN_GRACE_SECONDS="10",
            MTI_PREFETCH="100",
        )

    def log_of(self, role: str) -> Path:
        return self.logs / f"{role}-{self._generation.get(role, 0)}.log"

    def start(self, role: str) -> None:
        assert role not in self.processes, f"{role} already runs"
        self._generation[role] = self._generation.get(role, -1) + 1
        with self.log_of(role).open("wb") as sink:
            self.processes[role] = subprocess.Popen(
                [str(CLI), role], env=self.env(role), stdout=sink, stderr=sink
            )

    async def ready(self, broker: amqp.Broker) -> None:
        """Every role up: the shim answers /readyz and both queues have a consumer."""
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                for role, process in self.processes.items():
                    if process.poll() is not None:
                        raise AssertionError(f"{role} exited:\n{self.log_of(role).read_text()}")
                try:
                    shim_ready = (await client.get(f"{self.url}/readyz")).status_code == 200
                except httpx.TransportError:
                    shim_ready = "shim" not in self.processes
                if shim_ready and await self.consumers(broker) >= (
                    int("worker" in self.processes),
                    int("scheduler" in self.processes),
                ):
                    return
                if time.monotonic() > deadline:
                    raise AssertionError("the system did not become ready within 60 s")
                await asyncio.sleep(0.2)

    async def consumers(self, broker: amqp.Broker) -> tuple[int, int]:
        """Consumers on (the invoke queue, the scheduler queue)."""
        counts = []
        for queue in (self.topology.invoke_queue, self.topology.scheduler_queue):
            counts.append((await queue_state(broker, queue))[1])
        return counts[0], counts[1]

    async def kill(self, role: str, sig: signal.Signals = signal.SIGKILL) -> int:
        """Signal a role and wait for it to exit; its exit code."""
        process = self.processes.pop(role)
        process.send_signal(sig)
        try:
            code = await asyncio.to_thread(process.wait, 60)
        except subprocess.TimeoutExpired:
            process.kill()
            code = await asyncio.to_thread(process.wait, 10)
            raise AssertionError(f"{role} did not exit within 60 s of {sig.name}") from None
        finally:
            self.exits.append((role, process.returncode))
        return code

    async def stop_all(self) -> dict[str, int]:
        """SIGTERM to every role at once; each must finish its work and exit by itself."""
        roles = list(self.processes)
        codes = await asyncio.gather(*(self.kill(role, signal.SIGTERM) for role in roles))
        return dict(zip(roles, codes, strict=True))

    def log_lines(self, role: str, generation: int | None = None) -> list[dict[str, Any]]:
        generations = (
            [generation] if generation is not None else range(self._generation.get(role, -1) + 1)
        )
        lines = []
        for number in generations:
            path = self.logs / f"{role}-{number}.log"
            for line in path.read_text().splitlines():
                if line.startswith("{"):
                    lines.append(json.loads(line))
        return lines


async def queue_state(broker: amqp.Broker, queue: str) -> tuple[int, int]:
    """(ready messages, consumers) of a queue, by a passive declare on a short channel."""
    while True:
        connection = await broker.connected()
        assert connection is not None
        try:
            channel = await connection.channel()
            try:
                declared = await channel.declare_queue(queue, passive=True)
                result = declared.declaration_result
                return result.message_count or 0, result.consumer_count or 0
            finally:
                await channel.close()
        except CONNECTION_EXCEPTIONS:
            await asyncio.sleep(0.2)


@asynccontextmanager
async def harness_client(urls: str) -> AsyncIterator[amqp.Broker]:
    """The suite's own client of a cluster (it too moves to a live node when one stops)."""
    broker = amqp.Broker(urls, "faults harness")
    await broker.start()
    try:
        yield broker
    finally:
        await broker.close()


async def publish(
    broker: amqp.Broker, exchange: str, routing_key: str, body: bytes, reply_to: str | None = None
) -> None:
    """Publish confirmed as a foreign client would; on a lost connection, again on the next."""
    while True:
        connection = await broker.connected()
        assert connection is not None
        try:
            # A connection aiormq finds stuck fails what waits on it with CancelledError: as
            # a careful client would, this one takes that for the connection's loss.
            with amqp.as_broker_failure():
                channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
                try:
                    target = await channel.get_exchange(exchange, ensure=False)
                    message = aio_pika.Message(
                        body,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        reply_to=reply_to,
                        user_id=broker.user,  # the identity the worker verifies
                    )
                    await target.publish(message, routing_key=routing_key, mandatory=True)
                    return
                finally:
                    if not channel.is_closed:
                        await channel.close()
        except CONNECTION_EXCEPTIONS:
            await asyncio.sleep(0.2)


@dataclass
class Load:
    """A bounded stream of requests of every kind, and what became of each."""

    system: System
    broker: amqp.Broker
    pool: asyncpg.Pool
    marker: str
    sent_http: dict[str, str] = field(default_factory=dict)  # key -> event id
    accepted_http: set[str] = field(default_factory=set)
    sent_amqp: dict[str, str] = field(default_factory=dict)  # invocation id -> event id
    accepted_amqp: set[str] = field(default_factory=set)
    sent_events: set[str] = field(default_factory=set)
    accepted_events: set[str] = field(default_factory=set)
    answers: list[Answer] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _counter: int = 0
    _http: httpx.AsyncClient | None = None
    dead_letters: list[str] = field(default_factory=list)
    give_up_after: float = 120.0

    async def close(self) -> None:
        """Stop what is still in flight (a failed test leaves requests retrying), then the
        client: nothing of a load outlives its test."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()

    def _next(self, kind: str) -> str:
        self._counter += 1
        return f"{self.marker}-{kind}{self._counter}"

    async def run(self, seconds: float) -> None:
        """Send at the suite's rates for `seconds`; the requests go on until answered."""
        ticks = int(seconds * HTTP_PER_SECOND)
        for tick in range(ticks):
            self.spawn(self.http_invoke(self._next("h")))
            if tick % (HTTP_PER_SECOND // AMQP_PER_SECOND) == 0:
                self.spawn(self.amqp_invoke(self._next("a")))
            if tick % (HTTP_PER_SECOND // EVENTS_PER_SECOND) == 0:
                self.spawn(self.real_event(self._next("e")))
            await asyncio.sleep(1 / HTTP_PER_SECOND)

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait until every request in flight was answered or given up."""
        await asyncio.gather(*list(self._tasks))

    async def http_invoke(self, key: str) -> bool:
        """Invoke over HTTP, retrying with the same key until answered 202, as a client would."""
        body = {"parameters": {"environment": "staging"}, "description": key}
        # The invocation the shim makes of it: its id derives from the user, key and body.
        invocation = InvokeRequest.identified(
            workflow_id=WORKFLOW,
            trigger_id=MANUAL_TRIGGER,
            user_id=USER,
            requested_at=datetime.now(UTC),
            idempotency_key=key,
            **body,
        )
        self.sent_http[key] = manual_event_id(invocation.invocation_id)
        token = mint_token(TEST_JWT_SECRET, USER, 3600)
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        path = f"/api/v1/workflows/{WORKFLOW}/triggers/{MANUAL_TRIGGER}/manual-invoke"
        deadline = time.monotonic() + self.give_up_after
        if self._http is None:  # one client, its connections pooled, for the whole load
            self._http = httpx.AsyncClient(base_url=self.system.url, timeout=REPLY_TIMEOUT + 10)
        http = self._http
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                response = await http.post(path, json=body, headers=headers)
                status, retry_after = response.status_code, response.headers.get("Retry-After")
            except httpx.TransportError:
                status, retry_after = 0, None
            self.answers.append(
                Answer(key, status, retry_after, started, time.monotonic() - started)
            )
            if status == 202:
                self.accepted_http.add(key)
                return True
            # As a patient client would: what Retry-After says (at most 2 s here, to keep
            # the run short), else a second.
            await asyncio.sleep(min(float(retry_after or 1), 2.0))
        return False

    async def amqp_invoke(self, invocation_id: str, reply_to: str | None = None) -> None:
        request = InvokeRequest(
            invocation_id=invocation_id,
            workflow_id=WORKFLOW,
            trigger_id=MANUAL_TRIGGER,
            user_id=USER,
            parameters={"environment": "staging"},
            description=invocation_id,
            requested_at=datetime.now(UTC),
            source=InvocationSource.CLI,
        )
        self.sent_amqp[invocation_id] = manual_event_id(invocation_id)
        await publish(
            self.broker,
            self.system.topology.invoke_exchange,
            INVOKE_ROUTING_KEY,
            request.body(),
            reply_to,
        )
        self.accepted_amqp.add(invocation_id)

    async def real_event(self, event_id: str) -> None:
        event = TriggerEvent(
            event_id=event_id,
            workflow_id=WORKFLOW,
            trigger_id=EVENT_TRIGGER,
            trigger_type=TriggerType.WEBHOOK,
            occurred_at=datetime.now(UTC),
            trigger_data={"method": "POST", "body": {"marker": event_id}},
            input_data={"marker": event_id},
        )
        self.sent_events.add(event_id)
        await publish(
            self.broker, self.system.topology.trigger_exchange, event.routing_key(), event.body()
        )
        self.accepted_events.add(event_id)

    def accepted_event_ids(self) -> set[str]:
        return (
            {self.sent_http[k] for k in self.accepted_http}
            | {self.sent_amqp[i] for i in self.accepted_amqp}
            | self.accepted_events
        )

    async def recorded_event_ids(self, event_ids: set[str]) -> set[str]:
        rows = await self.pool.fetch(
            "SELECT event_id FROM workflow_executions WHERE event_id = ANY($1::text[])",
            list(event_ids),
        )
        return {row["event_id"] for row in rows}

    async def recovered(self, since: float) -> float:
        """Seconds from `since` until a request sent now is accepted and recorded."""
        key = self._next("probe")
        assert await self.http_invoke(key), f"probe {key} was never accepted"
        event_id = self.sent_http[key]
        await eventually(lambda: self.recorded_event_ids({event_id}), timeout=60, interval=0.1)
        return round(time.monotonic() - since, 1)

    async def drained(self, timeout: float = 120.0) -> None:
        """Every accepted request recorded (or the timeout passed: the count will say)."""
        await self.settle()
        expected = self.accepted_event_ids()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.recorded_event_ids(expected) == expected:
                return
            await asyncio.sleep(0.5)

    async def _dead_letters(self) -> list[str]:
        """What the dead-letter queues hold, to say why (taken unacked: they go back)."""
        connection = await self.broker.connected()
        assert connection is not None
        seen = []
        channel = await connection.channel()
        for queue in self.system.topology.consumer_queues:
            source = await channel.get_queue(dead_letter_queue(queue), ensure=False)
            while (message := await source.get(no_ack=False, fail=False)) is not None:
                death = (message.headers or {}).get("x-death") or [{}]
                first = death[0] if isinstance(death, list) and death else {}
                assert isinstance(first, dict)
                seen.append(
                    f"{queue}: {first.get('reason')} x{first.get('count')} "
                    f"delivery-count={(message.headers or {}).get('x-delivery-count')} "
                    f"{message.body[:120]!r}"
                )
        await channel.close()
        return seen

    async def tally(self, fault: str, recovery_s: float | None) -> FaultResult:
        expected = self.accepted_event_ids()
        recorded = await self.recorded_event_ids(expected)
        # Duplicates: more than one row for one request (each carries its marker), whatever
        # event id a duplicate might have been given.
        rows = await self.pool.fetch(
            """SELECT coalesce(metadata->>'invocation_description', input_data->>'marker') AS m,
                      count(*) AS n
                 FROM workflow_executions
                WHERE coalesce(metadata->>'invocation_description', input_data->>'marker')
                      LIKE $1
                GROUP BY 1""",
            f"{self.marker}-%",
        )
        dead = 0
        for queue in self.system.topology.consumer_queues:
            dead += (await queue_state(self.broker, dead_letter_queue(queue)))[0]
        if dead:
            self.dead_letters = await self._dead_letters()
        return FaultResult(
            fault=fault,
            sent=len(self.sent_http) + len(self.sent_amqp) + len(self.sent_events),
            accepted=len(expected),
            recorded=len(recorded),
            duplicates=sum(row["n"] - 1 for row in rows),
            dead_lettered=dead,
            lost=len(expected - recorded),
            recovery_s=recovery_s,
            answer_p99_s=self.answer_p99(),
        )

    def answer_p99(self, since: float = 0.0, until: float = float("inf")) -> float | None:
        """The 99th percentile of the HTTP answers' times (any status, timeouts included) of
        the requests started in [since, until)."""
        times = sorted(a.seconds for a in self.answers if since <= a.started < until)
        if not times:
            return None
        return round(times[min(len(times) - 1, int(0.99 * len(times)))], 2)
