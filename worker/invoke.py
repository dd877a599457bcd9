"""The invoke worker: one invoke request in, one trigger event out, one reply, then the ack.

Pipeline (docs/architecture.md): parse and limit -> who sent it? -> answered before? ->
idempotency key -> load workflow and trigger -> authorize -> rate-limit -> validate ->
resolve -> dry run? -> publish the event (confirmed) -> record status, reply -> ack.
Permanent failures (bad input, unknown, denied, limited, unauthenticated) are answered and
acked; anything that raises is transient and goes back to the queue with a backoff, bounded
by the delivery limit.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import structlog
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage
from pydantic import ValidationError

from contracts.ids import execution_id_for_event, execution_url
from contracts.models import (
    MAX_MESSAGE_BYTES,
    FieldError,
    InvokeRequest,
    InvokeResult,
    InvokeStatus,
    RateLimitInfo,
    TriggerData,
)
from contracts.specs import Trigger
from contracts.triggers import trigger_redaction
from contracts.validation import from_pydantic
from worker import amqp, metrics, store
from worker.authz import INVOKE_ROLE, Role, can_invoke, can_read
from worker.identity import Authenticator, Unauthenticated
from worker.invocations import IdempotencyStore, InvocationStatusStore
from worker.outage import Dependencies
from worker.ratelimit import Limits, RateLimiter
from worker.resolvers import InvalidInvocation, PreparedInvocation, prepare_invocation
from worker.settings import Settings

log = structlog.get_logger(__name__)


def _answer(
    request: InvokeRequest,
    status: InvokeStatus,
    message: str,
    *,
    errors: list[FieldError] | None = None,
    code: str | None = None,
    path: str = "",
    **fields: Any,
) -> InvokeResult:
    if code is not None:
        errors = [FieldError(path=path, message=message, code=code)]
    return InvokeResult(
        invocation_id=request.invocation_id,
        status=status,
        success=status in (InvokeStatus.ACCEPTED, InvokeStatus.DRY_RUN),
        message=message,
        workflow_id=request.workflow_id,
        trigger_id=request.trigger_id,
        errors=errors or [],
        requested_by=request.user_id,
        completed_at=datetime.now(UTC),
        **fields,
    )


def _trigger_type(result: InvokeResult) -> str | None:
    return result.trigger_data.trigger_type if result.trigger_data else None


def _refusal(
    request: InvokeRequest, access: store.Access | None
) -> tuple[InvokeResult, str | None] | None:
    """The answer to someone who may not invoke this trigger, if so."""
    # Someone who may not read a workflow learns nothing of it, not even that it exists.
    if access is None or not can_read(access.role):
        return _answer(
            request,
            InvokeStatus.NOT_FOUND,
            "Workflow not found",
            code="not_found",
            path="/workflow_id",
        ), None
    trigger = access.trigger
    if trigger is None:
        return _answer(
            request,
            InvokeStatus.NOT_FOUND,
            "Trigger not found",
            code="not_found",
            path="/trigger_id",
        ), None
    denial = _denial(request, access.role, trigger)
    return (denial, trigger.type.value) if denial is not None else None


def _denial(request: InvokeRequest, role: Role | None, trigger: Trigger) -> InvokeResult | None:
    forbidden = InvokeStatus.FORBIDDEN
    if not can_invoke(role):
        held = role.name.lower() if role else "none"
        return _answer(
            request,
            forbidden,
            f"Role '{held}' may not invoke; '{INVOKE_ROLE.name.lower()}' or higher needed",
            code="insufficient_role",
            path="/workflow_id",
        )
    if not trigger.manual_invocation:
        return _answer(
            request,
            forbidden,
            "Manual invocation is disabled for this trigger",
            code="manual_invocation_disabled",
            path="/trigger_id",
        )
    if not trigger.enabled:
        return _answer(
            request,
            forbidden,
            "The trigger is disabled",
            code="trigger_disabled",
            path="/trigger_id",
        )
    return None


def _prepare(request: InvokeRequest, trigger: Trigger) -> PreparedInvocation | InvalidInvocation:
    """The event, or why there is none. Resolution is pure, so whatever fails in it fails
    again on every redelivery: an exception is refused now (and logged as the bug it is)
    rather than retried into the dead-letter queue."""
    try:
        return prepare_invocation(request, trigger)
    except InvalidInvocation as exc:
        return exc
    except Exception as exc:
        log.exception("resolving the invocation failed")
        return InvalidInvocation(
            [
                FieldError(
                    path="/parameters",
                    code="unresolvable",
                    message=f"these parameters cannot be simulated ({type(exc).__name__})",
                )
            ]
        )


def _workflow_label(result: InvokeResult, trigger_type: str | None) -> str:
    """The workflow id as a metric label only when the workflow was found (its trigger type is
    known, or only the trigger was missing): ids that name nothing must not mint series."""
    found = trigger_type is not None or (
        result.status is InvokeStatus.NOT_FOUND
        and bool(result.errors)
        and result.errors[0].path == "/trigger_id"
    )
    return result.workflow_id if found else metrics.UNKNOWN


class InvokeWorker:
    def __init__(
        self,
        settings: Settings,
        access: store.AccessCache,
        replies: amqp.ReplyPublisher,
        trigger_exchange: AbstractExchange,
        statuses: InvocationStatusStore,
        idempotency: IdempotencyStore,
        limiter: RateLimiter,
        dependencies: Dependencies | None = None,
    ) -> None:
        self._dependencies = dependencies
        self._settings = settings
        self._identity = Authenticator(settings)
        self._access = access
        self._replies = replies
        self._trigger_exchange = trigger_exchange
        self._statuses = statuses
        self._idempotency = idempotency
        self._limiter = limiter

    async def handle(self, message: AbstractIncomingMessage) -> None:
        started = time.perf_counter()
        try:
            if len(message.body) > MAX_MESSAGE_BYTES:
                raise ValueError(f"invoke message larger than {MAX_MESSAGE_BYTES} bytes")
            request = InvokeRequest.parse(message.body)
        except (ValidationError, ValueError) as exc:
            await self._reject_malformed(message, exc)
            return
        structlog.contextvars.bind_contextvars(
            invocation_id=request.invocation_id,
            workflow_id=request.workflow_id,
            trigger_id=request.trigger_id,
        )
        try:
            self._identity.authenticate(message, request)
        except Unauthenticated as refused:
            await self._refuse_unauthenticated(message, request, refused.reason)
            structlog.contextvars.clear_contextvars()
            return
        try:
            result, trigger_type = await self._answer_through_outages(message, request)
        except Exception:
            log.exception("invoke request failed")
            await amqp.retry_later(
                message,
                role="worker",
                base=self._settings.retry_backoff_seconds,
                cap=self._settings.retry_backoff_max_seconds,
            )
            return
        finally:
            structlog.contextvars.clear_contextvars()
        await message.ack()
        reason = result.errors[0].code if result.errors else "none"
        label = trigger_type or metrics.UNKNOWN
        workflow = _workflow_label(result, trigger_type)
        metrics.INVOCATIONS.labels(
            workflow_id=workflow, trigger_type=label, status=result.status.value, reason=reason
        ).inc()
        metrics.INVOCATION_DURATION.labels(workflow_id=workflow, trigger_type=label).observe(
            time.perf_counter() - started
        )
        if request.dry_run:
            metrics.DRY_RUNS.labels(trigger_type=label).inc()
        log.info(
            "invoke request handled",
            invocation_id=request.invocation_id,
            workflow_id=request.workflow_id,
            trigger_id=request.trigger_id,
            user_id=request.user_id,
            source=request.source.value,
            status=result.status.value,
            reason=reason,
            execution_id=result.execution_id,
            errors=[e.path for e in result.errors],
            redelivered=message.redelivered,
        )

    async def _answer_through_outages(
        self, message: AbstractIncomingMessage, request: InvokeRequest
    ) -> tuple[InvokeResult, str | None]:
        """Process, record and answer; while PostgreSQL or Redis is unreachable, hold the
        request and do it all again once they are back (every step is idempotent)."""
        while True:
            try:
                result, trigger_type = await self.process(request)
                if request.idempotency_key and not result.status.final:
                    await self._idempotency.release(request)
                await self._statuses.save(result)
                await self._reply(message, result)
                return result, trigger_type
            except Exception as exc:
                if self._dependencies is None or not await self._dependencies.wait_out(exc):
                    raise

    async def process(self, request: InvokeRequest) -> tuple[InvokeResult, str | None]:
        """Decide the outcome of one request; raises only for transient failures. Refusals
        (403/404) count against the user's refusal budget; past it, the answer is 429."""
        result, trigger_type = await self._decide(request)
        if result.status not in (InvokeStatus.FORBIDDEN, InvokeStatus.NOT_FOUND):
            return result, trigger_type
        budget = self._settings.refusal_budget_per_minute
        decision = await self._limiter.charge_refusal(request.user_id, budget)
        if decision.allowed:
            return result, trigger_type
        return _answer(
            request,
            InvokeStatus.RATE_LIMITED,
            f"Too many refused requests: at most {budget} per minute",
            code="too_many_refusals",
            rate_limit=RateLimitInfo(
                scope="user", limit=budget, retry_after_seconds=decision.retry_after_seconds
            ),
        ), trigger_type

    async def _decide(self, request: InvokeRequest) -> tuple[InvokeResult, str | None]:
        if request.idempotency_key and (answer := await self._keyed(request)) is not None:
            return answer, _trigger_type(answer)
        # A redelivered request whose effect happened is answered as before, not run again,
        # even if access changed since; a refusal is decided afresh (the workflow, a role or a
        # limit may have changed). On the accepted path the rate limit's round trip reads the
        # earlier answer too; a refusal reads it on its own.
        access = await self._access.load(request.workflow_id, request.user_id, request.trigger_id)
        refusal = _refusal(request, access)
        if refusal is not None:
            earlier = await self._statuses.finished(request.invocation_id)
            if earlier is not None and earlier.success:
                return earlier, _trigger_type(earlier)
            return refusal
        assert access is not None and access.trigger is not None
        trigger = access.trigger
        trigger_type = trigger.type.value
        limited = await self._rate_limit(request, access)
        if limited is not None:
            return limited, trigger_type
        prepared = _prepare(request, trigger)
        if isinstance(prepared, InvalidInvocation):
            for error in prepared.errors:
                metrics.VALIDATION_ERRORS.labels(
                    trigger_type=trigger_type, error_type=error.code
                ).inc()
            return _answer(
                request, InvokeStatus.INVALID, "Invalid parameters", errors=prepared.errors
            ), trigger_type

        event = prepared.event
        # The event carries the real secrets and signatures to the scheduler; the answer is
        # redacted where the trigger declares them, so the service is no signing oracle.
        shown = trigger_redaction(trigger).record(
            {"trigger_data": prepared.resolved_parameters}, computed=request.replay_of is None
        )
        resolved: dict[str, Any] = {
            "event_id": event.event_id,
            "warnings": prepared.warnings,
            "trigger_data": TriggerData(
                trigger_type=trigger.type, resolved_parameters=shown["trigger_data"]
            ),
        }
        if request.dry_run:
            return _answer(
                request,
                InvokeStatus.DRY_RUN,
                "Dry run: parameters are valid; nothing was executed",
                **resolved,
            ), trigger_type
        await amqp.publish_event(self._trigger_exchange, event, prepared.body)
        execution_id = execution_id_for_event(event.event_id)
        return _answer(
            request,
            InvokeStatus.ACCEPTED,
            "Workflow execution started successfully",
            execution_id=execution_id,
            execution_url=execution_url(execution_id),
            **resolved,
        ), trigger_type

    async def _keyed(self, request: InvokeRequest) -> InvokeResult | None:
        """The answer owed to a request whose idempotency key was used before, if any."""
        prior = await self._idempotency.claim(request)
        if prior is None:
            return None  # a new key
        if not prior.same_request:
            return _answer(
                request,
                InvokeStatus.CONFLICT,
                "Idempotency-Key was already used with a different request",
                code="idempotency_key_reused",
                path="/idempotency_key",
            )
        first = await self._statuses.finished(prior.invocation_id)
        if first is not None and not first.status.final:
            first = None  # a refusal, limit or conflict is not replayed: decide afresh
        if prior.invocation_id == request.invocation_id:
            # This very request again (a retry whose invocation id derives from the key, or
            # a redelivery): the first answer if there is one, else carry on; the id keeps
            # the effect exactly-once.
            return first
        if first is None:
            return _answer(
                request,
                InvokeStatus.CONFLICT,
                "A request with this Idempotency-Key is still in progress",
                code="idempotency_key_in_progress",
                path="/idempotency_key",
            )
        return first

    async def _rate_limit(
        self, request: InvokeRequest, access: store.Access
    ) -> InvokeResult | None:
        """None when the invocation may go on; else its answer: refused by a limit, or the
        earlier answer of an invocation that already succeeded."""
        limits = Limits(
            per_user_per_minute=access.rate_limit_per_user
            or self._settings.rate_limit_per_user_per_minute,
            per_workflow_per_minute=access.rate_limit_per_workflow
            or self._settings.rate_limit_per_workflow_per_minute,
        )
        decision = await self._limiter.acquire(
            request.user_id,
            request.workflow_id,
            limits,
            answer_key=self._statuses.key(request.invocation_id),
        )
        if decision.answered is not None:
            return InvokeResult.parse(decision.answered)
        if decision.allowed:
            return None
        assert decision.scope in ("user", "workflow") and decision.limit is not None
        return _answer(
            request,
            InvokeStatus.RATE_LIMITED,
            f"Rate limit exceeded: {decision.limit} invocations per minute per {decision.scope}",
            code="rate_limited",
            path="",
            rate_limit=RateLimitInfo(
                scope=decision.scope,
                limit=decision.limit,
                retry_after_seconds=decision.retry_after_seconds,
            ),
        )

    async def _reply(self, message: AbstractIncomingMessage, result: InvokeResult) -> None:
        if not message.reply_to:
            return
        # Best effort: a caller that gave up waiting is no reason to fail the invocation.
        await self._replies.publish(
            message.reply_to,
            amqp.json_message(
                result.body(),
                message_id=f"reply-{result.invocation_id}",
                correlation_id=message.correlation_id or result.invocation_id,
            ),
        )

    async def _refuse_unauthenticated(
        self, message: AbstractIncomingMessage, request: InvokeRequest, reason: str
    ) -> None:
        """No verified identity: answered with the reason and acked; nothing of the request
        runs, and nothing is stored (the caller is nobody the service knows)."""
        log.warning("invoke request unauthenticated", reason=reason, user_id=request.user_id)
        metrics.INVOCATIONS.labels(
            workflow_id=metrics.UNKNOWN,
            trigger_type=metrics.UNKNOWN,
            status=InvokeStatus.UNAUTHENTICATED.value,
            reason="unauthenticated",
        ).inc()
        answer = _answer(request, InvokeStatus.UNAUTHENTICATED, reason, code="unauthenticated")
        await self._reply(message, answer)
        await message.ack()

    async def _reject_malformed(self, message: AbstractIncomingMessage, exc: Exception) -> None:
        """Malformed requests are permanent: answer if we can, and dead-letter for inspection."""
        errors = (
            from_pydantic(exc)
            if isinstance(exc, ValidationError)
            else [FieldError(path="", message=str(exc), code="too_large")]
        )
        log.warning("malformed invoke request dead-lettered", errors=[e.path for e in errors])
        metrics.INVOCATIONS.labels(
            workflow_id=metrics.UNKNOWN,
            trigger_type=metrics.UNKNOWN,
            status=InvokeStatus.INVALID.value,
            reason=errors[0].code if errors else "malformed",
        ).inc()
        for error in errors:
            metrics.VALIDATION_ERRORS.labels(
                trigger_type=metrics.UNKNOWN, error_type=error.code
            ).inc()
        if message.reply_to:
            await self._reply(
                message,
                InvokeResult(
                    invocation_id=message.correlation_id or "unknown",
                    status=InvokeStatus.INVALID,
                    success=False,
                    message="Malformed invoke request",
                    workflow_id="",
                    trigger_id="",
                    errors=errors,
                ),
            )
        await message.reject(requeue=False)
