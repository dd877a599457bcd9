"""Liveness, readiness, metrics and the message interface's document: no token needed.
(No `from __future__ import annotations`: FastAPI must see the dependency annotations.)"""

from dataclasses import asdict
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
    """Ready when the broker's node confirms publishes and the database and the cache answer,
    as the shim's background checks saw them within the last second or two (a load balancer
    polling this costs nothing; worker/shim/readiness.py)."""
    readiness = context.readiness
    checks = readiness.checks()
    ready = all(checks.values())
    body: dict[str, Any] = {
        "status": "ready" if ready else "unavailable",
        "checks": {k: "ok" if v else "down" for k, v in checks.items()},
    }
    if readiness.invoke_queue is not None:  # for operators: a backlog, or no worker at all
        body["invoke_queue"] = asdict(readiness.invoke_queue)
    return JSONResponse(body, status_code=200 if ready else 503)


@metrics_router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
