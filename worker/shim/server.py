"""uvicorn, run inside the process's own event loop and stopped by its runtime."""

import asyncio
import contextlib
from collections.abc import Iterator

import structlog
import uvicorn
from fastapi import FastAPI

from worker.settings import Settings
from worker.shim.limits import header_deadline

log = structlog.get_logger(__name__)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the process's runtime owns shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def run_server(app: FastAPI, settings: Settings, stop: asyncio.Event) -> None:
    """Serve `app` until `stop` is set; in-flight requests finish first."""
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="off",
        http=header_deadline(settings.http_header_timeout_seconds),
    )
    server = _Server(config)
    serving = asyncio.create_task(server.serve())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    await serving  # uvicorn finishes in-flight requests before it returns
    stopping.cancel()
