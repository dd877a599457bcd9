"""FastAPI app: the seed's API over the invoke queue, plus reads, health and metrics.

Writes go through RabbitMQ to a worker (RPC with a timeout); reads go straight to Postgres
and Redis. Errors are RFC 9457 problem documents with per-field JSON pointer paths.
(No `from __future__ import annotations`: FastAPI must see the dependency annotations.)
"""

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import structlog
import uvicorn
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles

from contracts import asyncapi
from contracts.ids import new_invocation_id
from contracts.models import (
    IDENTIFIER_PATTERN,
    MAX_BODY_BYTES,
    MAX_ERROR_PATH,
    FieldError,
    FieldErrors,
    InvocationSource,
    InvokeRequest,
    InvokeResult,
    InvokeStatus,
    RateLimitInfo,
    StorableText,
    unstorable,
)
from contracts.redaction import Redaction
from contracts.regex import linear
from contracts.specs import Trigger
from contracts.triggers import describe_trigger, shown_config, trigger_redaction, trigger_spec
from contracts.validation import from_pydantic, pointer
from worker import store
from worker.auth import InvalidToken
from worker.authz import can_read
from worker.outage import UNAVAILABLE_ERRORS
from worker.resources import Resources
from worker.rpc import InvokeClient
from worker.safety import TooLarge, parse_json, shape_errors
from worker.shim.limits import BodySizeLimit, header_deadline
from worker.shim.refusals import CountShimRefusals

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
    InvokeStatus.UNAUTHENTICATED: 401,
}
_IDENTIFIER = linear(IDENTIFIER_PATTERN)


class ProblemDocument(BaseModel):
    """RFC 9457 problem details, with per-field errors."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: FieldErrors = Field(default_factory=list)
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
    description: StorableText | None = Field(default=None, max_length=2000)
    dry_run: StrictBool = Field(default=False, description="A JSON boolean, not a string.")


async def storable_request(request: Request) -> None:
    """Path parameters and query values PostgreSQL could not hold as text (a `%00`) are a 400
    at the door, never a 500 from the store."""
    values = [*request.path_params.items(), *request.query_params.multi_items()]
    errors = [
        FieldError(
            path=pointer([name], limit=MAX_ERROR_PATH), code="unstorable_text", message=problem
        )
        for name, value in values
        if isinstance(value, str) and (problem := unstorable(value) or unstorable(name))
    ]
    if errors:
        raise Problem(400, "Invalid request", errors=errors)


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
        415: "The body is not JSON",
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
    # /docs and /redoc load their scripts and styles from the installed package, not a CDN:
    # they work offline and behind a strict egress policy.
    app = FastAPIOffline(
        dependencies=[Depends(storable_request)],
        static_url="/docs-assets",
        title="Manual Trigger Invocation",
        version="0.1.0",
        description="Fire any trigger of any workflow by hand, with simulated parameters.",
    )
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
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            expose_headers=["Location", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(CountShimRefusals)  # added last: outermost, it sees the 413s too
    bearer = HTTPBearer(auto_error=False)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        request.state.refusal_codes = [e.code for e in exc.document.errors]
        return exc.response()

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        return Problem(exc.status_code, str(exc.detail), headers=headers).response()

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        request.state.refusal_codes = [error["type"] for error in exc.errors()]
        errors = [
            FieldError(
                path="".join(f"/{part}" for part in error["loc"][1:]),
                message=error["msg"],
                code=error["type"],
            )
            for error in exc.errors()
        ]
        return Problem(400, "Invalid request", errors=errors).response()

    for unavailable in UNAVAILABLE_ERRORS:

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

    async def readable_trigger(workflow_id: str, trigger_id: str, user: str) -> Trigger:
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
                    "config": shown_config(t),
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
        trigger = await readable_trigger(workflow_id, trigger_id, user)
        return describe_trigger(trigger).model_dump(mode="json")

    @app.post(
        "/api/v1/workflows/{workflow_id}/triggers/{trigger_id}/manual-invoke",
        status_code=202,
        response_model=InvokeResult,
        responses={
            200: {"model": InvokeResult, "description": "Dry run: resolved, nothing recorded"},
            **_problem_responses(400, 401, 403, 404, 409, 413, 415, 429, 503, 504),
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
        result = await client.call(request, settings.reply_timeout_seconds)
        if result is None:
            # Written only now that the caller is told to poll: a request answered in time
            # costs no status write of its own, a refused one only a short-lived record.
            await statuses.mark_queued(request)
            raise Problem(
                504,
                "No reply in time",
                "The request is queued; poll its status.",
                invocation_id=request.invocation_id,
                status_url=f"/api/v1/invocations/{request.invocation_id}",
            )
        http_request.state.answered_by_worker = True  # the worker counted it
        return invoke_response(result)

    @app.get("/api/v1/executions/{execution_id}", responses=READ_ERRORS)
    async def get_execution(execution_id: str, user: User) -> dict[str, Any]:
        execution = await store.get_execution(resources.pool, execution_id)
        if execution is None:
            raise not_found("Execution")
        try:
            access = await readable(execution.workflow_id, user, execution.trigger_id)
        except Problem:
            raise not_found("Execution") from None
        # The scheduler redacts each record as it writes it; rows written before it did are
        # redacted here at the same locations.
        record = {**execution.__dict__, "created_at": execution.created_at.isoformat()}
        redaction = trigger_redaction(access.trigger) if access.trigger else Redaction()
        return redaction.record(record)

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

    @app.get("/api/v1/workflows", responses=_problem_responses(401, 503))
    async def list_workflows(user: User) -> WorkflowList:
        """The workflows the caller may read (the panel's workflow chooser)."""
        workflows = await store.list_workflows(resources.pool, user)
        return WorkflowList(
            workflows=[
                WorkflowSummary(
                    id=w.id,
                    name=w.name,
                    role=w.role.name.lower(),
                    triggers_url=f"/api/v1/workflows/{w.id}/triggers",
                )
                for w in workflows
            ]
        )

    @app.get("/api/v1/workflows/{workflow_id}/executions", responses=READ_ERRORS)
    async def list_executions(
        workflow_id: str,
        user: User,
        trigger_id: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
        manual: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> ExecutionPage:
        """A workflow's executions, newest first; `next_cursor` fetches the next page."""
        await readable(workflow_id, user)
        try:
            after = store.decode_cursor(cursor) if cursor is not None else None
        except store.BadCursor:
            raise Problem(
                400,
                "Invalid request",
                errors=[FieldError(path="/cursor", message="unknown cursor", code="cursor")],
            ) from None
        rows = await store.list_executions(
            resources.pool,
            workflow_id,
            trigger_id=trigger_id,
            manual=manual,
            limit=limit + 1,  # one more than asked says whether a next page exists
            after=after,
        )
        page = rows[:limit]
        return ExecutionPage(
            workflow_id=workflow_id,
            executions=[_execution_summary(e) for e in page],
            next_cursor=store.encode_cursor(page[-1]) if len(rows) > limit else None,
        )

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi_document() -> dict[str, Any]:
        """The message interface (AsyncAPI 3), for this instance's names."""
        return asyncapi.asyncapi_document(settings.topology)

    @app.get("/asyncapi", include_in_schema=False)
    async def asyncapi_page() -> Response:
        """The same for people: a static page, offline like /docs."""
        page = asyncapi.render_html(asyncapi.asyncapi_document(settings.topology))
        return Response(page, media_type="text/html; charset=utf-8")

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

    if settings.metrics_on_api_port:

        @app.get("/metrics", response_class=Response)
        async def metrics() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    _serve_panel(app, settings.ui_directory)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    return media_type in ("", "application/json") or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


MAX_PAGE = 100


class WorkflowSummary(BaseModel):
    id: str
    name: str
    role: str = Field(description="viewer, operator, editor or owner")
    triggers_url: str


class WorkflowList(BaseModel):
    workflows: list[WorkflowSummary]


class ExecutionSummary(BaseModel):
    """An execution as a list shows it: what ran, when, by whom, with which parameters."""

    execution_id: str
    event_id: str
    trigger_id: str
    trigger_type: str
    status: str
    created_at: datetime
    manual: bool
    initiated_by: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = Field(
        None, description="The simulated parameters of a manual invocation"
    )
    execution_url: str


class ExecutionPage(BaseModel):
    workflow_id: str
    executions: list[ExecutionSummary]
    next_cursor: str | None = None


def _execution_summary(execution: store.Execution) -> ExecutionSummary:
    metadata = execution.metadata if isinstance(execution.metadata, dict) else {}
    manual = metadata.get("manual_invocation") is True
    parameters = metadata.get("simulated_parameters") if manual else None
    return ExecutionSummary(
        execution_id=execution.execution_id,
        event_id=execution.event_id,
        trigger_id=execution.trigger_id,
        trigger_type=execution.trigger_type,
        status=execution.status,
        created_at=execution.created_at,
        manual=manual,
        initiated_by=metadata.get("initiated_by") if manual else None,
        description=metadata.get("invocation_description") if manual else None,
        parameters=parameters if isinstance(parameters, dict) else None,
        execution_url=f"/api/v1/executions/{execution.execution_id}",
    )


# The panel's own page: scripts, styles and data from this origin only. 'unsafe-eval' because
# the form's validator (Ajv) compiles each trigger's JSON Schema into a function.
PANEL_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'self'"
)


class _Panel(StaticFiles):
    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Content-Security-Policy"] = PANEL_CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _serve_panel(app: FastAPI, directory: Path) -> None:
    """The built panel at / (after every API route, so it never shadows one)."""
    if (directory / "index.html").is_file():
        app.mount("/", _Panel(directory=directory, html=True), name="panel")
        return

    @app.get("/", include_in_schema=False)
    async def panel_not_built() -> Response:
        return Problem(
            404, "The panel is not built", f"no {directory}/index.html: run `make install`"
        ).response()


async def _invoke_body(http_request: Request) -> InvokeBody:
    """Parse the body ourselves: size, nesting and value limits come before any model."""
    content_type = http_request.headers.get("content-type", "")
    if not _is_json(content_type):
        raise Problem(
            415,
            "Unsupported media type",
            f"the body must be application/json, not {content_type[:100]}",
            headers={"Accept": "application/json"},
        )
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
    http_request.state.dry_run = isinstance(document, dict) and document.get("dry_run") is True
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
        http=header_deadline(settings.http_header_timeout_seconds),
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
