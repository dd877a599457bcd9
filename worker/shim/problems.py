"""Errors as RFC 9457 problem documents (`application/problem+json`), with per-field JSON
pointer paths: the exception routes raise, its handlers, and the OpenAPI document told so."""

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from contracts.models import (
    MAX_ERROR_PATH,
    FieldError,
    FieldErrors,
    RateLimitInfo,
    unstorable,
)
from contracts.validation import pointer
from worker.outage import UNAVAILABLE_ERRORS

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"


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


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found")


def invalid(errors: list[FieldError]) -> Problem:
    return Problem(400, "Invalid request", errors=errors)


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
        raise invalid(errors)


_TITLES = {
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


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """A route's error answers, for its OpenAPI `responses`."""
    return {code: {"model": ProblemDocument, "description": _TITLES[code]} for code in codes}


READ_ERRORS = problem_responses(400, 401, 404, 503)


async def _problem(request: Request, exc: Problem) -> JSONResponse:
    request.state.refusal_codes = [e.code for e in exc.document.errors]
    return exc.response()


async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
    headers = dict(exc.headers) if exc.headers else None
    return Problem(exc.status_code, str(exc.detail), headers=headers).response()


async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    request.state.refusal_codes = [error["type"] for error in exc.errors()]
    errors = [
        FieldError(path=pointer(error["loc"][1:]), message=error["msg"], code=error["type"])
        for error in exc.errors()
    ]
    return invalid(errors).response()


def unavailable(detail: str = "a dependency is unavailable; retry") -> Problem:
    return Problem(503, "Service unavailable", detail, headers={"Retry-After": "5"})


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.warning("dependency unavailable", error=type(exc).__name__)
    return unavailable().response()


def install_problem_handlers(app: FastAPI) -> None:
    """Every error the app answers is a problem document: its own, Starlette's, FastAPI's
    invalid requests (400, not 422), and an unavailable dependency (503)."""
    app.exception_handler(Problem)(_problem)
    app.exception_handler(HTTPException)(_http_error)
    app.exception_handler(RequestValidationError)(_invalid_request)
    for unavailable in UNAVAILABLE_ERRORS:
        app.exception_handler(unavailable)(_unavailable)


def problem_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, told the truth: errors are problem+json, and invalid requests are
    400 (not FastAPI's 422)."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for operations in document["paths"].values():
        for operation in operations.values():
            _problem_json(operation.get("responses", {}))
    document["components"]["schemas"].pop("HTTPValidationError", None)
    document["components"]["schemas"].pop("ValidationError", None)
    app.openapi_schema = document
    return document


def _problem_json(responses: dict[str, Any]) -> None:
    if responses.pop("422", None) is not None and "400" not in responses:
        responses["400"] = {
            "description": _TITLES[400],
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDocument"}}},
        }
    for code, response in responses.items():
        content = response.get("content", {})
        if code.isdigit() and int(code) >= 400:
            # FastAPI files them under the route's own media type (text/event-stream for the
            # status stream); an error is a problem document whatever the route streams.
            for media in ("application/json", "text/event-stream"):
                if media in content:
                    content[PROBLEM_JSON] = content.pop(media)
