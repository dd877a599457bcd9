"""FastAPI app: the seed's API over the invoke queue, plus reads, health and metrics.

Writes go through RabbitMQ to a worker (RPC with a timeout); reads go straight to Postgres
and Redis. Errors are RFC 9457 problem documents with per-field JSON pointer paths.
(No `from __future__ import annotations`: FastAPI must see the dependency annotations.)
"""

import asyncio
import contextlib
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field

from contracts.models import (
    IDENTIFIER_PATTERN,
    FieldError,
    InvocationSource,
    InvokeRequest,
    InvokeResult,
    InvokeStatus,
)
from worker import store
from worker.auth import InvalidToken
from worker.authz import can_read
from worker.redaction import redact
from worker.resolvers import trigger_spec
from worker.rpc import InvokeClient
from worker.runtime import Resources

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
HTTP_STATUS = {
    InvokeStatus.QUEUED: 202,
    InvokeStatus.ACCEPTED: 202,
    InvokeStatus.DRY_RUN: 200,
    InvokeStatus.INVALID: 400,
    InvokeStatus.FORBIDDEN: 403,
    InvokeStatus.NOT_FOUND: 404,
    InvokeStatus.CONFLICT: 409,
    InvokeStatus.RATE_LIMITED: 429,
}
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)


class Problem(Exception):
    """An error answered as `application/problem+json`."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(title)
        self.status, self.title, self.detail = status, title, detail
        self.errors = errors or []
        self.headers = headers
        self.extra = extra

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"type": "about:blank", "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        body["errors"] = [e.model_dump() for e in self.errors]
        body.update(self.extra)
        return JSONResponse(body, self.status, headers=self.headers, media_type=PROBLEM_JSON)


class InvokeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parameters: dict[str, Any] = Field(default_factory=dict)
    description: str | None = Field(default=None, max_length=2000)
    dry_run: bool = False


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found")


def create_app(resources: Resources, client: InvokeClient) -> FastAPI:
    settings = resources.settings
    verifier = settings.token_verifier()
    statuses = resources.statuses
    app = FastAPI(
        title="Manual Trigger Invocation",
        version="0.1.0",
        description="Fire any trigger of any workflow by hand, with simulated parameters.",
    )
    bearer = HTTPBearer(auto_error=False)

    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(
                path="".join(f"/{part}" for part in error["loc"][1:]),
                message=error["msg"],
                code=error["type"],
            )
            for error in exc.errors()
        ]
        return Problem(400, "Invalid request", errors=errors).response()

    async def current_user(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> str:
        unauthorized = Problem(
            401, "Unauthorized", "invalid token", headers={"WWW-Authenticate": "Bearer"}
        )
        if credentials is None:
            raise unauthorized
        try:
            return verifier.verify(credentials.credentials)
        except InvalidToken:
            raise unauthorized from None

    User = Annotated[str, Depends(current_user)]

    async def readable(workflow_id: str, user: str, trigger_id: str | None = None) -> store.Access:
        """The workflow as `user` may see it; 404 when it does not exist or is not theirs."""
        if not _IDENTIFIER.match(workflow_id):
            raise not_found("Workflow")
        access = await store.load_access(resources.pool, workflow_id, user, trigger_id)
        if access is None or not can_read(access.role):
            raise not_found("Workflow")
        return access

    async def readable_trigger(workflow_id: str, trigger_id: str, user: str) -> store.Trigger:
        access = await readable(workflow_id, user, trigger_id)
        if access.trigger is None:
            raise not_found("Trigger")
        return access.trigger

    @app.get("/api/v1/workflows/{workflow_id}/triggers")
    async def list_triggers(workflow_id: str, user: User) -> dict[str, Any]:
        await readable(workflow_id, user)
        triggers = await store.list_triggers(resources.pool, workflow_id)
        base = f"/api/v1/workflows/{workflow_id}/triggers"
        return {
            "workflow_id": workflow_id,
            "triggers": [
                {
                    "id": t.id,
                    "type": t.type.value,
                    "enabled": t.enabled,
                    "manual_invocation": t.manual_invocation,
                    "manual_invocation_supported": trigger_spec(t).supported,
                    "config": redact(t.config),
                    "schema_url": f"{base}/{t.id}/manual-invoke/schema",
                    "invoke_url": f"{base}/{t.id}/manual-invoke",
                }
                for t in triggers
            ],
        }

    @app.get("/api/v1/workflows/{workflow_id}/triggers/{trigger_id}/manual-invoke/schema")
    async def trigger_schema(workflow_id: str, trigger_id: str, user: User) -> dict[str, Any]:
        trigger = await readable_trigger(workflow_id, trigger_id, user)
        spec = trigger_spec(trigger)
        return {
            "workflow_id": workflow_id,
            "trigger_id": trigger.id,
            "trigger_type": trigger.type.value,
            "trigger_config": redact(trigger.config),
            "supported": spec.supported,
            "manual_invocation": trigger.manual_invocation,
            "description": spec.description,
            "parameter_schema": spec.parameter_schema,
            "default_parameters": spec.default_parameters,
            "examples": [e.model_dump() for e in spec.parameter_examples],
        }

    @app.post(
        "/api/v1/workflows/{workflow_id}/triggers/{trigger_id}/manual-invoke",
        status_code=202,
        response_model=InvokeResult,
        responses={200: {"description": "Dry run"}, 504: {"description": "No reply in time"}},
    )
    async def manual_invoke(
        workflow_id: str, trigger_id: str, body: InvokeBody, user: User
    ) -> Response:
        if not (_IDENTIFIER.match(workflow_id) and _IDENTIFIER.match(trigger_id)):
            raise not_found("Trigger")
        request = InvokeRequest(
            invocation_id=str(uuid.uuid4()),
            workflow_id=workflow_id,
            trigger_id=trigger_id,
            user_id=user,
            parameters=body.parameters,
            description=body.description,
            dry_run=body.dry_run,
            requested_at=datetime.now(UTC),
            source=InvocationSource.HTTP,
        )
        await statuses.mark_queued(request)
        result = await client.call(request, settings.reply_timeout_seconds)
        if result is None:
            raise Problem(
                504,
                "No reply in time",
                "The request is queued; poll its status.",
                invocation_id=request.invocation_id,
                status_url=f"/api/v1/invocations/{request.invocation_id}",
            )
        return invoke_response(result)

    @app.get("/api/v1/executions/{execution_id}")
    async def get_execution(execution_id: str, user: User) -> dict[str, Any]:
        execution = await store.get_execution(resources.pool, execution_id)
        if execution is None:
            raise not_found("Execution")
        try:
            await readable(execution.workflow_id, user)
        except Problem:
            raise not_found("Execution") from None
        return {**execution.__dict__, "created_at": execution.created_at.isoformat()}

    @app.get("/api/v1/invocations/{invocation_id}", response_model=InvokeResult)
    async def get_invocation(invocation_id: str, user: User) -> InvokeResult:
        result = await statuses.get(invocation_id)
        if result is None:
            raise not_found("Invocation")
        try:
            await readable(result.workflow_id, user)
        except Problem:
            raise not_found("Invocation") from None
        return result

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        checks = {
            "broker": not resources.connection.is_closed,
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

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def invoke_response(result: InvokeResult) -> Response:
    status = HTTP_STATUS[result.status]
    if status >= 400:
        return Problem(
            status, result.message, errors=result.errors, invocation_id=result.invocation_id
        ).response()
    headers = {"Location": result.execution_url} if result.execution_url else None
    return JSONResponse(result.model_dump(mode="json"), status, headers=headers)


async def _probe(check: Any, timeout: float = 2.0) -> bool:
    try:
        await asyncio.wait_for(check, timeout)
    except Exception:
        return False
    return True


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the process's runtime owns shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(resources: Resources, stop: asyncio.Event) -> None:
    settings = resources.settings
    client = await InvokeClient.open(resources.connection, settings.topology)
    app = create_app(resources, client)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    server = _Server(config)
    serving = asyncio.create_task(server.serve())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    await serving  # uvicorn finishes in-flight requests before it returns
    stopping.cancel()
    await client.close()
    log.info("http server stopped")
