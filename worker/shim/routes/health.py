"""Liveness, readiness, metrics and the message interface's document: no token needed.
(No `from __future__ import annotations`: FastAPI must see the dependency annotations.)"""

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from contracts import asyncapi
from worker.shim.dependencies import Context

router = APIRouter()
# Mounted only when the metrics are served on the API's port (MTI_METRICS_ON_API_PORT).
metrics_router = APIRouter()


@router.get("/asyncapi.json", include_in_schema=False)
async def asyncapi_document(context: Context) -> dict[str, Any]:
    """The message interface (AsyncAPI 3), for this instance's names."""
    return asyncapi.asyncapi_document(context.settings.topology)


@router.get("/asyncapi", include_in_schema=False)
async def asyncapi_page(context: Context) -> Response:
    """The same for people: a static page, offline like /docs."""
    page = asyncapi.render_html(asyncapi.asyncapi_document(context.settings.topology))
    return Response(page, media_type="text/html; charset=utf-8")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "A dependency is down"}})
async def readyz(context: Context) -> JSONResponse:
    resources = context.resources
    checks = {
        "broker": resources.broker.is_connected,
        "database": await _probe(resources.pool.fetchval("SELECT 1")),
        "cache": await _probe(resources.redis.ping()),
    }
    ready = all(checks.values())
    return JSONResponse(
        {
            "status": "ready" if ready else "unavailable",
            "checks": {k: "ok" if v else "down" for k, v in checks.items()},
        },
        status_code=200 if ready else 503,
    )


@metrics_router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _probe(check: Any, timeout: float = 2.0) -> bool:
    try:
        await asyncio.wait_for(check, timeout)
    except Exception:
        return False
    return True
