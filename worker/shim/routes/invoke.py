"""The one write: an invocation, published to the invoke queue and answered by a worker.
(No `from __future__ import annotations`: FastAPI must see the dependency annotations.)"""

import contextlib
import json
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from pydantic import ValidationError

from contracts.models import (
    MAX_ANSWER_BYTES,
    MAX_BODY_BYTES,
    TRUNCATED,
    FieldError,
    InvocationSource,
    InvokeRequest,
    InvokeResult,
    InvokeStatus,
)
from contracts.triggers import WirePreview, wire_preview
from contracts.validation import from_pydantic
from worker.outage import REDIS_ERRORS
from worker.safety import TooLarge, parse_json, shape_errors
from worker.shim.dependencies import IDENTIFIER, Context, ShimContext, User
from worker.shim.models import InvokeAnswer, InvokeBody
from worker.shim.problems import Problem, invalid, not_found, problem_responses, unavailable

router = APIRouter()
# How much longer than the caller's wait a keyed invocation stays "being sent" when the shim
# that sends it dies before it can say it is done.
SENDING_GRACE_SECONDS = 5

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


@router.post(
    "/api/v1/workflows/{workflow_id}/triggers/{trigger_id}/manual-invoke",
    status_code=202,
    response_model=InvokeAnswer,
    responses={
        200: {"model": InvokeAnswer, "description": "Dry run: resolved, nothing recorded"},
        **problem_responses(400, 401, 403, 404, 409, 413, 415, 429, 503, 504),
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
    context: Context,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
    ] = None,
) -> Response:
    body = await _invoke_body(http_request)
    if not (IDENTIFIER.match(workflow_id) and IDENTIFIER.match(trigger_id)):
        raise not_found("Trigger")
    if down := context.readiness.down():
        # Known now: publishing would only queue a copy that cannot be served, and make
        # the caller wait for a reply that cannot come.
        raise unavailable(f"unavailable: {', '.join(down)}; retry")
    request = InvokeRequest.identified(
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
    if not request.idempotency_key:
        return await _send(context, request, http_request)
    async with _sent_once_at_a_time(context, request):
        # Looked up while no other try can send it: an answer saved just now is seen.
        if (known := await _known(context, request)) is not None:
            return invoke_response(known)
        return await _send(context, request, http_request)


async def _send(context: ShimContext, request: InvokeRequest, http_request: Request) -> Response:
    """Publish the request and answer with the worker's reply; or, when none can come in
    time, with where to poll."""
    timeout = context.settings.reply_timeout_seconds
    if context.readiness.backlogged():
        # No reply could come in time: confirmed, the request is answered as queued at once.
        await context.client.send(request, want_reply=False, timeout=timeout)
        return invoke_response(await context.statuses.mark_queued(request))
    result = await context.client.call(request, timeout)
    if result is None:
        # Written only now that the caller is told to poll: a request answered in time
        # costs no status write of its own, a refused one only a short-lived record.
        await context.statuses.mark_queued(request)
        raise Problem(
            504,
            "No reply in time",
            "The request is queued; poll its status.",
            invocation_id=request.invocation_id,
            status_url=f"/api/v1/invocations/{request.invocation_id}",
        )
    http_request.state.answered_by_worker = True  # the worker counted it
    return invoke_response(result)


async def _known(context: ShimContext, request: InvokeRequest) -> InvokeResult | None:
    """What a keyed request's invocation already is, when no new copy of it may be queued:
    waiting in the queue (a retry after a 504), or answered for good. Its id derives from the
    key and the body, so the record is this very request's."""
    known = await context.statuses.get(request.invocation_id)
    if known is None or not (known.status is InvokeStatus.QUEUED or known.status.final):
        return None  # new, or refused before: the worker decides afresh
    return known


@contextlib.asynccontextmanager
async def _sent_once_at_a_time(context: ShimContext, request: InvokeRequest) -> AsyncIterator[None]:
    """A keyed invocation is sent by one HTTP request at a time: a retry that comes while an
    earlier try still waits for its answer would only queue a second copy of it (answered
    409 with Retry-After; by then the first try's answer is there to replay)."""
    wait = math.ceil(context.settings.reply_timeout_seconds) + SENDING_GRACE_SECONDS
    if not await context.statuses.start_sending(request.invocation_id, wait):
        raise Problem(
            409,
            "Request in progress",
            "A request with this Idempotency-Key is still being answered; retry",
            errors=[
                FieldError(
                    path="/idempotency_key",
                    code="idempotency_key_in_progress",
                    message="A request with this Idempotency-Key is still in progress",
                )
            ],
            headers={"Retry-After": "1"},
            invocation_id=request.invocation_id,
        )
    try:
        yield
    finally:
        with contextlib.suppress(*REDIS_ERRORS):  # it expires by itself
            await context.statuses.done_sending(request.invocation_id)


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    return media_type in ("", "application/json") or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


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
        error = FieldError(path="", message=f"not valid JSON: {exc}", code="json_invalid")
        raise invalid([error]) from None
    http_request.state.dry_run = isinstance(document, dict) and document.get("dry_run") is True
    if errors := shape_errors(document, ""):
        raise invalid(errors)
    try:
        return InvokeBody.model_validate(document)
    except ValidationError as exc:
        raise invalid(from_pydantic(exc)) from None


def invoke_response(result: InvokeResult) -> Response:
    """The worker's answer as HTTP: a problem document for a refusal, else the result with
    its wire preview (`Location`: the execution)."""
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
    location = result.execution_url
    if result.status is InvokeStatus.QUEUED:
        location = f"/api/v1/invocations/{result.invocation_id}"  # where to poll
    headers = {"Location": location} if location else None
    return Response(answer_content(result), status, headers=headers, media_type="application/json")


def answer_content(result: InvokeResult) -> bytes:
    """The result and its wire preview as JSON, under MAX_ANSWER_BYTES: the worker already
    bounds the result, so the preview is what gets cut (to null, at worst)."""
    data = result.trigger_data
    preview = wire_preview(data.trigger_type, data.resolved_parameters) if data else None
    answer = InvokeAnswer.model_construct(**dict(result), wire_preview=preview)
    body = answer.model_dump(mode="json")
    content = _render(body)
    if preview is not None and len(content) >= MAX_ANSWER_BYTES:
        body["wire_preview"] = _cut(body, preview)
        content = _render(body)
    return content


def _render(value: Any) -> bytes:
    """JSON as JSONResponse renders it."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _cut(body: dict[str, Any], preview: WirePreview) -> dict[str, str] | None:
    """The preview with its text cut so that the answer stays under MAX_ANSWER_BYTES; None
    when not even its title fits."""
    untitled = {**body, "wire_preview": {"title": preview.title, "text": ""}}
    room = MAX_ANSWER_BYTES - 1 - len(_render(untitled))
    text = preview.text

    def fits(keep: int) -> bool:
        return len(_render(_shortened(text, keep))) - 2 <= room

    if not fits(0):
        return None
    low, high = 0, len(text)  # the longest prefix that fits: low fits, beyond high does not
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return {"title": preview.title, "text": _shortened(text, low)}


def _shortened(text: str, keep: int) -> str:
    return f"{text[:keep]}{TRUNCATED}[{len(text) - keep} more characters]"
