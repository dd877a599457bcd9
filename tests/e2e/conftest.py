"""Start the real `manual-trigger` processes on a free port and talk HTTP to them."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection
from redis.asyncio import Redis

from tests.conftest import TEST_JWT_SECRET, delete_redis_keys
from tests.helpers import CLI, cli_env
from worker import amqp
from worker.auth import mint_token
from worker.settings import Settings

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
                    if (await client.get(f"{url}/readyz")).status_code == 200:
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


@pytest.fixture(scope="session")
async def service(
    settings: Settings,
    pool: asyncpg.Pool,
    broker: AbstractRobustConnection,
    redis: Redis,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Service]:
    """`manual-trigger run`: shim, worker and scheduler in one process, as `make run` starts."""
    log = tmp_path_factory.mktemp("e2e") / "run.log"
    async with running("run", settings, broker, redis, log) as svc:
        yield svc
        # The answers that show the demo triggers' configs, whichever tests ran (a test file
        # run alone may have asked for none of them).
        async with httpx.AsyncClient(base_url=svc.url, headers=svc.token("demo-user")) as client:
            for path in (
                "/api/v1/workflows/wf_demo/triggers",
                *(
                    f"/api/v1/workflows/wf_demo/triggers/{trigger}/manual-invoke/schema"
                    for trigger in ("trig_webhook_1", "trig_github_1", "trig_slack_1")
                ),
            ):
                response = await client.get(path)
                assert response.status_code == 200, response.text
                svc.responses.append(response.text)
    assert svc.process.returncode == 0, f"unclean shutdown:\n{log.read_text()}"
    # Signing secrets planted in the demo triggers never leave: not in a log line, not in
    # any response of the whole run.
    everything = log.read_text() + "\n".join(svc.responses)
    for secret in PLANTED_SECRETS:
        assert secret not in everything, f"{secret} leaked"


@pytest.fixture
async def http(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async def keep(response: httpx.Response) -> None:
        service.responses.append((await response.aread()).decode(errors="replace"))

    async with httpx.AsyncClient(
        base_url=service.url, timeout=20, event_hooks={"response": [keep]}
    ) as client:
        yield client


@pytest.fixture
def as_user(service: Service) -> Callable[[str], dict[str, str]]:
    return service.token
