"""FastAPI app: the seed's API over the invoke queue, plus reads, health and metrics.

Writes go through RabbitMQ to a worker (RPC with a timeout); reads go straight to Postgres
and Redis. Errors are RFC 9457 problem documents with per-field JSON pointer paths.
(No `from __future__ import annotations`: FastAPI must see the dependency annotations.)
"""

import asyncio
import contextlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

import aiormq
import asyncpg
import structlog
import uvicorn
from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException

from contracts.ids import new_invocation_id
from contracts.models import (
    IDENTIFIER_PATTERN,
    FieldError,
    InvocationSource,
    InvokeRequest,
    InvokeResult,
    InvokeStatus,
    RateLimitInfo,
)
from worker import store
from worker.auth import InvalidToken
from worker.authz import can_read
from worker.redaction import redact
from worker.resolvers import describe_trigger, trigger_spec
from worker.rpc import InvokeClient
from worker.runtime import Resources
from worker.safety import MAX_BODY_BYTES, TooLarge, parse_json, shape_errors
from worker.shim.limits import BodySizeLimit
from worker.validation import from_pydantic

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
# Dependencies that are down: answered 503 so that clients retry, never 500.
# (`BrokerUnavailable`, the request not confirmed by any broker node in time, is an OSError.)
UNAVAILABLE = (
    RedisError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    aiormq.exceptions.AMQPError,
)


class ProblemDocument(BaseModel):
    """RFC 9457 problem details, with per-field errors."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] = Field(default_factory=list)
    invocation_id: str | None = None
    status_url: str | None = None
    rate_limit: RateLimitInfo | None = None


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
        self.document = ProblemDocument(
            title=title, status=status, detail=detail, errors=errors or [], **extra
        )
        self.headers = headers

    def response(self) -> JSONResponse:
        body = self.document.model_dump(mode="json", exclude_none=True)
        return JSONResponse(
            body, self.document.status, headers=self.headers, media_type=PROBLEM_JSON
        )


class InvokeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Trigger parameters; see the schema endpoint."
    )
    description: str | None = Field(default=None, max_length=2000)
    dry_run: bool = False


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found")


def _problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    titles = {
        400: "Invalid request",
        401: "No or invalid bearer token",
        403: "Forbidden",
        404: "Not found",
        409: "Idempotency-Key conflict",
        413: "Body too large",
        429: "Rate limited (see Retry-After)",
        503: "A dependency is unavailable",
        504: "No reply from a worker in time",
    }
    return {code: {"model": ProblemDocument, "description": titles[code]} for code in codes}


READ_ERRORS = _problem_responses(400, 401, 404, 503)


def create_app(resources: Resources, client: InvokeClient) -> FastAPI:
    settings = resources.settings
    verifier = settings.token_verifier()
    statuses = resources.statuses
    app = FastAPI(
        title="Manual Trigger Invocation",
        version="0.1.0",
        description="Fire any trigger of any workflow by hand, with simulated parameters.",
    )
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    bearer = HTTPBearer(auto_error=False)

    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return exc.response()

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        return Problem(exc.status_code, str(exc.detail), headers=headers).response()

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

    for unavailable in UNAVAILABLE:

        @app.exception_handler(unavailable)
        async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
            log.warning("dependency unavailable", error=type(exc).__name__)
            return Problem(
                503,
                "Service unavailable",
                "a dependency is unavailable; retry",
                headers={"Retry-After": "5"},
            ).response()

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

    @app.get("/api/v1/workflows/{workflow_id}/triggers", responses=READ_ERRORS)
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

    @app.get(
        "/api/v1/workflows/{workflow_id}/triggers/{trigger_id}/manual-invoke/schema",
        responses=READ_ERRORS,
    )
    async def trigger_schema(workflow_id: str, trigger_id: str, user: User) -> dict[str, Any]:
        return describe_trigger(await readable_trigger(workflow_id, trigger_id, user))

    @app.post(
        "/api/v1/workflows/{workflow_id}/triggers/{trigger_id}/manual-invoke",
        status_code=202,
        response_model=InvokeResult,
        responses={
            200: {"model": InvokeResult, "description": "Dry run: resolved, nothing recorded"},
            **_problem_responses(400, 401, 403, 404, 409, 413, 429, 503, 504),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": InvokeBody.model_json_schema()}},
            }
        },
    )
    async def manual_invoke(
        workflow_id: str,
        trigger_id: str,
        http_request: Request,
        user: User,
        idempotency_key: Annotated[
            str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
        ] = None,
    ) -> Response:
        body = await _invoke_body(http_request)
        if not (_IDENTIFIER.match(workflow_id) and _IDENTIFIER.match(trigger_id)):
            raise not_found("Trigger")
        request = InvokeRequest(
            invocation_id=new_invocation_id(user, idempotency_key),
            workflow_id=workflow_id,
            trigger_id=trigger_id,
            user_id=user,
            parameters=body.parameters,
            description=body.description,
            dry_run=body.dry_run,
            requested_at=datetime.now(UTC),
            source=InvocationSource.HTTP,
            idempotency_key=idempotency_key,
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

    @app.get("/api/v1/executions/{execution_id}", responses=READ_ERRORS)
    async def get_execution(execution_id: str, user: User) -> dict[str, Any]:
        execution = await store.get_execution(resources.pool, execution_id)
        if execution is None:
            raise not_found("Execution")
        try:
            await readable(execution.workflow_id, user)
        except Problem:
            raise not_found("Execution") from None
        return {**execution.__dict__, "created_at": execution.created_at.isoformat()}

    @app.get(
        "/api/v1/invocations/{invocation_id}", response_model=InvokeResult, responses=READ_ERRORS
    )
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

    @app.get("/readyz", responses={503: {"description": "A dependency is down"}})
    async def readyz() -> JSONResponse:
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

    @app.get("/metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


async def _invoke_body(http_request: Request) -> InvokeBody:
    """Parse the body ourselves: size, nesting and value limits come before any model."""
    raw = await http_request.body()
    try:
        document = parse_json(raw)
    except TooLarge:
        raise Problem(413, "Body too large", f"at most {MAX_BODY_BYTES} bytes") from None
    except ValueError as exc:
        raise Problem(
            400,
            "Invalid request",
            errors=[FieldError(path="", message=f"not valid JSON: {exc}", code="json_invalid")],
        ) from None
    if errors := shape_errors(document, ""):
        raise Problem(400, "Invalid request", errors=errors)
    try:
        return InvokeBody.model_validate(document)
    except ValidationError as exc:
        raise Problem(400, "Invalid request", errors=from_pydantic(exc)) from None


def invoke_response(result: InvokeResult) -> Response:
    status = HTTP_STATUS[result.status]
    if status >= 400:
        headers = None
        if result.rate_limit is not None:
            headers = {"Retry-After": str(result.rate_limit.retry_after_seconds)}
        return Problem(
            status,
            result.message,
            errors=result.errors,
            headers=headers,
            invocation_id=result.invocation_id,
            rate_limit=result.rate_limit,
        ).response()
    headers = {"Location": result.execution_url} if result.execution_url else None
    return JSONResponse(result.model_dump(mode="json"), status, headers=headers)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, told the truth: errors are problem+json, and invalid requests are
    400 (not FastAPI's 422)."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for operations in document["paths"].values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None and "400" not in responses:
                responses["400"] = _problem_responses(400)[400] | {
                    "content": {
                        PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDocument"}}
                    }
                }
            for code, response in responses.items():
                content = response.get("content", {})
                if code.isdigit() and int(code) >= 400 and "application/json" in content:
                    content[PROBLEM_JSON] = content.pop("application/json")
    document["components"]["schemas"].pop("HTTPValidationError", None)
    document["components"]["schemas"].pop("ValidationError", None)
    app.openapi_schema = document
    return document


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
    client = await InvokeClient.open(resources.broker, settings.topology)
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
