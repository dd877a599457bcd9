"""Start the real `manual-trigger` processes on a free port and talk HTTP to them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection
from redis.asyncio import Redis

from tests.helpers import PLANTED_SECRETS, Service, running
from worker.settings import Settings


# Package-scoped: its stand-in engine runs every pending execution of the test database, so it
# stops once the end-to-end tests are done, before tests that need executions left pending.
@pytest.fixture(scope="package")
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
