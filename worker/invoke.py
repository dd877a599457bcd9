"""The invoke worker: one invoke request in, one trigger event out, one reply, then the ack.

Pipeline (docs/architecture.md): parse and limit -> who sent it? -> answered before? ->
idempotency key -> load workflow and trigger -> authorize -> rate-limit -> validate ->
resolve -> dry run? -> publish the event (confirmed) -> record status, reply -> ack.
Permanent failures (bad input, unknown, denied, limited, unauthenticated) are answered and
acked; anything that raises is transient and goes back to the queue with a backoff, bounded
by the delivery limit. The message's lifecycle (parse, outages, ack or retry) is
`worker.consume.Consumer`'s; the answers themselves are built in `worker.answers`.
"""

from __future__ import annotations

from typing import Any

import structlog
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage
from pydantic import ValidationError

from contracts.ids import execution_id_for_event, execution_url
from contracts.models import (
    MAX_MESSAGE_BYTES,
    InvokeRequest,
    InvokeResult,
    InvokeStatus,
    RateLimitInfo,
    TriggerData,
)
from contracts.triggers import trigger_redaction
from worker import amqp, answers, metrics, store
from worker.answers import answer, prepare, refusal, trigger_type_of
from worker.consume import Consumer, Outcome
from worker.identity import Authenticator, Unauthenticated
from worker.invocations import IdempotencyStore, InvocationStatusStore
from worker.outage import Dependencies
from worker.ratelimit import Limits, RateLimiter
from worker.resolvers import InvalidInvocation
from worker.settings import Settings

log = structlog.get_logger(__name__)

# What handling a request produced: its answer and, once known, its trigger's type.
Answered = tuple[InvokeResult, str | None]


class InvokeWorker:
    """The worker role: `handle` is the invoke queue's handler (`worker.consume.Consumer`)."""

    name = "worker"
    kind = "invoke message"
    max_bytes: int | None = MAX_MESSAGE_BYTES

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
        self._settings = settings
        self._identity = Authenticator(settings)
        self._access = access
        self._replies = replies
        self._trigger_exchange = trigger_exchange
        self._statuses = statuses
        self._idempotency = idempotency
        self._limiter = limiter
        self._consumer = Consumer(self, settings, dependencies)

    async def handle(self, message: AbstractIncomingMessage) -> None:
        await self._consumer.handle(message)

    # The role's part of the lifecycle (worker/consume.py).

    def parse(self, body: bytes) -> InvokeRequest:
        return InvokeRequest.parse(body)

    async def malformed(
        self, message: AbstractIncomingMessage, error: ValidationError | ValueError
    ) -> Outcome:
        """Malformed requests are permanent: answer if we can, and dead-letter for inspection."""
        result, errors = answers.malformed(message.correlation_id, error)
        log.warning("malformed invoke request dead-lettered", errors=[e.path for e in errors])
        metrics.INVOCATIONS.labels(
            workflow_id=metrics.UNKNOWN,
            trigger_type=metrics.UNKNOWN,
            status=InvokeStatus.INVALID.value,
            reason=errors[0].code if errors else "malformed",
        ).inc()
        for e in errors:
            metrics.VALIDATION_ERRORS.labels(trigger_type=metrics.UNKNOWN, error_type=e.code).inc()
        await self._reply(message, result)
        return Outcome.DEAD_LETTER

    def context(self, request: InvokeRequest) -> dict[str, Any]:
        return {
            "invocation_id": request.invocation_id,
            "workflow_id": request.workflow_id,
            "trigger_id": request.trigger_id,
        }

    async def admit(
        self, message: AbstractIncomingMessage, request: InvokeRequest
    ) -> Outcome | None:
        """No verified identity: answered with the reason and acked; nothing of the request
        runs, and nothing is stored (the caller is nobody the service knows)."""
        try:
            self._identity.authenticate(message, request)
        except Unauthenticated as refused:
            reason = refused.reason
        else:
            return None
        log.warning("invoke request unauthenticated", reason=reason, user_id=request.user_id)
        metrics.INVOCATIONS.labels(
            workflow_id=metrics.UNKNOWN,
            trigger_type=metrics.UNKNOWN,
            status=InvokeStatus.UNAUTHENTICATED.value,
            reason="unauthenticated",
        ).inc()
        await self._reply(
            message,
            answer(request, InvokeStatus.UNAUTHENTICATED, reason, code="unauthenticated"),
        )
        return Outcome.ACK

    async def run(self, message: AbstractIncomingMessage, request: InvokeRequest) -> Answered:
        """Process, record and answer; run again after an outage (every step is idempotent)."""
        result, trigger_type = await self.process(request)
        if request.idempotency_key and not result.status.final:
            await self._idempotency.release(request)
        await self._statuses.save(result)
        await self._reply(message, result)
        return result, trigger_type

    def failed(self, request: InvokeRequest, error: Exception) -> Outcome:
        log.exception("invoke request failed", exc_info=error)
        return Outcome.RETRY

    def done(
        self,
        message: AbstractIncomingMessage,
        request: InvokeRequest,
        answered: Answered,
        seconds: float,
    ) -> None:
        result, trigger_type = answered
        reason = result.errors[0].code if result.errors else "none"
        label = trigger_type or metrics.UNKNOWN
        workflow = answers.workflow_label(result, trigger_type)
        metrics.INVOCATIONS.labels(
            workflow_id=workflow, trigger_type=label, status=result.status.value, reason=reason
        ).inc()
        metrics.INVOCATION_DURATION.labels(workflow_id=workflow, trigger_type=label).observe(
            seconds
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

    # Deciding the answer.

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
        return answer(
            request,
            InvokeStatus.RATE_LIMITED,
            f"Too many refused requests: at most {budget} per minute",
            code="too_many_refusals",
            rate_limit=RateLimitInfo(
                scope="user", limit=budget, retry_after_seconds=decision.retry_after_seconds
            ),
        ), trigger_type

    async def _decide(self, request: InvokeRequest) -> tuple[InvokeResult, str | None]:
        if request.idempotency_key and (keyed := await self._keyed(request)) is not None:
            return keyed, trigger_type_of(keyed)
        # A redelivered request whose effect happened is answered as before, not run again,
        # even if access changed since; a refusal is decided afresh (the workflow, a role or a
        # limit may have changed). On the accepted path the rate limit's round trip reads the
        # earlier answer too; a refusal reads it on its own.
        access = await self._access.load(request.workflow_id, request.user_id, request.trigger_id)
        refused = refusal(request, access)
        if refused is not None:
            earlier = await self._statuses.finished(request.invocation_id)
            if earlier is not None and earlier.success:
                return earlier, trigger_type_of(earlier)
            return refused
        assert access is not None and access.trigger is not None
        trigger = access.trigger
        trigger_type = trigger.type.value
        limited = await self._rate_limit(request, access)
        if limited is not None:
            return limited, trigger_type
        prepared = prepare(request, trigger)
        if isinstance(prepared, InvalidInvocation):
            for error in prepared.errors:
                metrics.VALIDATION_ERRORS.labels(
                    trigger_type=trigger_type, error_type=error.code
                ).inc()
            return answer(
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
            return answer(
                request,
                InvokeStatus.DRY_RUN,
                "Dry run: parameters are valid; nothing was executed",
                **resolved,
            ), trigger_type
        await amqp.publish_event(self._trigger_exchange, event, prepared.body)
        execution_id = execution_id_for_event(event.event_id)
        return answer(
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
            return answer(
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
            return answer(
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
        return answer(
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
