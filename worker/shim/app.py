"""FastAPI app: the seed's API over the invoke queue, plus reads, health and metrics.

Writes go through RabbitMQ to a worker (RPC with a timeout); reads go straight to Postgres
and Redis. Errors are RFC 9457 problem documents with per-field JSON pointer paths
(`problems.py`). The routes live in `routes/`; what they share, in `dependencies.py`.
"""

import asyncio
import contextlib

import structlog
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from contracts.models import MAX_BODY_BYTES
from worker.resources import Resources
from worker.rpc import InvokeClient
from worker.settings import Settings
from worker.shim.dependencies import ShimContext
from worker.shim.limits import BodySizeLimit
from worker.shim.panel import serve_panel
from worker.shim.problems import install_problem_handlers, problem_openapi, storable_request
from worker.shim.readiness import Readiness
from worker.shim.refusals import CountShimRefusals
from worker.shim.routes import executions, health, invoke, reads, stream
from worker.shim.server import run_server
from worker.watch import ExecutionWatch

log = structlog.get_logger(__name__)


def execution_watch(settings: Settings) -> ExecutionWatch:
    """The process's one LISTEN on execution transitions, feeding every status stream."""
    return ExecutionWatch(
        settings.database_url.get_secret_value(), max_watchers=settings.sse_max_watchers
    )


def create_app(
    resources: Resources,
    client: InvokeClient,
    watch: ExecutionWatch | None = None,
    readiness: Readiness | None = None,
) -> FastAPI:
    """The app; `watch` and `readiness` (started by `serve`) feed the status streams and
    /readyz: without them, unstarted ones stand in (the OpenAPI document, tests of other
    routes)."""
    settings = resources.settings
    # /docs and /redoc load their scripts and styles from the installed package, not a CDN:
    # they work offline and behind a strict egress policy.
    app = FastAPIOffline(
        dependencies=[Depends(storable_request)],
        static_url="/docs-assets",
        title="Manual Trigger Invocation",
        version="0.1.0",
        description="Fire any trigger of any workflow by hand, with simulated parameters.",
    )
    ShimContext.of(
        resources, client, watch or execution_watch(settings), readiness or Readiness(resources)
    ).attach(app)
    _add_middleware(app, settings)
    install_problem_handlers(app)
    app.include_router(reads.router)
    app.include_router(invoke.router)
    app.include_router(executions.router)
    app.include_router(stream.router)
    app.include_router(health.router)
    if settings.metrics_on_api_port:
        app.include_router(health.metrics_router)
    serve_panel(app, settings.ui_directory)  # last: the panel never shadows a route
    app.openapi = lambda: problem_openapi(app)  # type: ignore[method-assign]
    return app


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(
        BodySizeLimit, max_bytes=MAX_BODY_BYTES, timeout=settings.http_body_timeout_seconds
    )
    if settings.cors_origin_list:
        # Only for a page on another origin that embeds the panel; the shim's own page at /
        # is same-origin and needs none of this.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID"],
            expose_headers=["Location", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(CountShimRefusals)  # added last: outermost, it sees the 413s too


async def serve(resources: Resources, stop: asyncio.Event) -> None:
    """The HTTP role: the app on `MTI_HTTP_HOST:MTI_HTTP_PORT` until `stop` is set. Open
    status streams end as soon as it is (they would hold uvicorn's graceful shutdown)."""
    settings = resources.settings
    client = await InvokeClient.open(
        resources.broker, settings.topology, confirm_bound=settings.progress_bound_seconds
    )
    watch = execution_watch(settings)
    await watch.start()
    readiness = Readiness(resources)
    await readiness.start()
    ending = asyncio.create_task(_close_when(stop, watch))
    try:
        await run_server(create_app(resources, client, watch, readiness), settings, stop)
    finally:
        ending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ending
        await readiness.close()
        await watch.close()
        await client.close()
    log.info("http server stopped")


async def _close_when(stop: asyncio.Event, watch: ExecutionWatch) -> None:
    await stop.wait()
    await watch.close()  # wakes every stream for the last time: each ends cleanly
