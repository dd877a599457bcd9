"""The invoke worker: one invoke request in, one trigger event out, one reply, then the ack.

Pipeline (DESIGN.md): parse -> load workflow and trigger -> authorize -> validate -> resolve
-> dry run? -> publish the event (confirmed) -> record status, reply -> ack.
Permanent failures (bad input, unknown, denied) are answered and acked; anything that raises
is transient and goes back to the queue with a backoff, bounded by the delivery limit.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import asyncpg
import structlog
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage
from pydantic import ValidationError

from contracts.ids import execution_id_for_event, execution_url
from contracts.models import FieldError, InvokeRequest, InvokeResult, InvokeStatus, TriggerData
from worker import amqp, metrics, store
from worker.authz import INVOKE_ROLE, Role, can_invoke, can_read
from worker.invocations import InvocationStatusStore
from worker.resolvers import InvalidInvocation, prepare_invocation
from worker.settings import Settings
from worker.validation import from_pydantic

log = structlog.get_logger(__name__)


def _refusal(
    request: InvokeRequest, status: InvokeStatus, message: str, errors: list[FieldError]
) -> InvokeResult:
    return InvokeResult(
        invocation_id=request.invocation_id,
        status=status,
        success=False,
        message=message,
        workflow_id=request.workflow_id,
        trigger_id=request.trigger_id,
        errors=errors,
        requested_by=request.user_id,
    )


class InvokeWorker:
    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        channel: AbstractChannel,
        trigger_exchange: AbstractExchange,
        statuses: InvocationStatusStore,
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._channel = channel
        self._trigger_exchange = trigger_exchange
        self._statuses = statuses

    async def handle(self, message: AbstractIncomingMessage) -> None:
        started = time.perf_counter()
        try:
            request = InvokeRequest.parse(message.body)
        except ValidationError as exc:
            await self._reject_malformed(message, exc)
            return
        structlog.contextvars.bind_contextvars(
            invocation_id=request.invocation_id,
            workflow_id=request.workflow_id,
            trigger_id=request.trigger_id,
        )
        try:
            result, trigger_type = await self.process(request)
            await self._statuses.save(result)
            await self._reply(message, result)
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
        label = trigger_type or "unknown"
        metrics.INVOCATIONS.labels(trigger_type=label, status=result.status.value).inc()
        metrics.INVOCATION_DURATION.labels(trigger_type=label).observe(
            time.perf_counter() - started
        )
        log.info(
            "invoke request handled",
            invocation_id=request.invocation_id,
            workflow_id=request.workflow_id,
            trigger_id=request.trigger_id,
            user_id=request.user_id,
            source=request.source.value,
            status=result.status.value,
            execution_id=result.execution_id,
            errors=len(result.errors),
            redelivered=message.redelivered,
        )

    async def process(self, request: InvokeRequest) -> tuple[InvokeResult, str | None]:
        """Decide the outcome of one request; raises only for transient failures."""
        access = await store.load_access(
            self._pool, request.workflow_id, request.user_id, request.trigger_id
        )
        # Someone who may not read a workflow learns nothing of it, not even that it exists.
        if access is None or not can_read(access.role):
            return _refusal(
                request,
                InvokeStatus.NOT_FOUND,
                "Workflow not found",
                [FieldError(path="/workflow_id", message="no such workflow", code="not_found")],
            ), None
        trigger = access.trigger
        if trigger is None:
            return _refusal(
                request,
                InvokeStatus.NOT_FOUND,
                "Trigger not found",
                [FieldError(path="/trigger_id", message="no such trigger", code="not_found")],
            ), None
        trigger_type = trigger.type.value
        denial = self._denial(request, access.role, trigger)
        if denial is not None:
            return denial, trigger_type
        try:
            prepared = prepare_invocation(request, trigger)
        except InvalidInvocation as exc:
            for error in exc.errors:
                metrics.VALIDATION_ERRORS.labels(
                    trigger_type=trigger_type, error_type=error.code
                ).inc()
            return _refusal(
                request, InvokeStatus.INVALID, "Invalid parameters", exc.errors
            ), trigger_type
        event = prepared.event
        execution_id = execution_id_for_event(event.event_id)
        trigger_data = TriggerData(
            trigger_type=trigger.type, resolved_parameters=prepared.resolved_parameters
        )
        if request.dry_run:
            metrics.DRY_RUNS.labels(trigger_type=trigger_type).inc()
            return InvokeResult(
                invocation_id=request.invocation_id,
                status=InvokeStatus.DRY_RUN,
                success=True,
                message="Dry run: parameters are valid; nothing was executed",
                workflow_id=request.workflow_id,
                trigger_id=request.trigger_id,
                event_id=event.event_id,
                trigger_data=trigger_data,
                warnings=prepared.warnings,
                requested_by=request.user_id,
                completed_at=datetime.now(UTC),
            ), trigger_type
        await amqp.publish_event(self._trigger_exchange, event)
        return InvokeResult(
            invocation_id=request.invocation_id,
            status=InvokeStatus.ACCEPTED,
            success=True,
            message="Workflow execution started successfully",
            workflow_id=request.workflow_id,
            trigger_id=request.trigger_id,
            execution_id=execution_id,
            execution_url=execution_url(execution_id),
            event_id=event.event_id,
            trigger_data=trigger_data,
            warnings=prepared.warnings,
            requested_by=request.user_id,
            completed_at=datetime.now(UTC),
        ), trigger_type

    @staticmethod
    def _denial(
        request: InvokeRequest, role: Role | None, trigger: store.Trigger
    ) -> InvokeResult | None:
        if not can_invoke(role):
            held = role.name.lower() if role else "none"
            message = f"Role '{held}' may not invoke; '{INVOKE_ROLE.name.lower()}' or higher needed"
            return _refusal(
                request,
                InvokeStatus.FORBIDDEN,
                message,
                [FieldError(path="/workflow_id", message=message, code="insufficient_role")],
            )
        if not trigger.manual_invocation:
            message = "Manual invocation is disabled for this trigger"
            return _refusal(
                request,
                InvokeStatus.FORBIDDEN,
                message,
                [
                    FieldError(
                        path="/trigger_id", message=message, code="manual_invocation_disabled"
                    )
                ],
            )
        if not trigger.enabled:
            message = "The trigger is disabled"
            return _refusal(
                request,
                InvokeStatus.FORBIDDEN,
                message,
                [FieldError(path="/trigger_id", message=message, code="trigger_disabled")],
            )
        return None

    async def _reply(self, message: AbstractIncomingMessage, result: InvokeResult) -> None:
        if not message.reply_to:
            return
        # Not mandatory: a caller that gave up waiting is no reason to fail the invocation.
        await self._channel.default_exchange.publish(
            amqp.json_message(
                result.body(),
                message_id=f"reply-{result.invocation_id}",
                correlation_id=message.correlation_id or result.invocation_id,
            ),
            routing_key=message.reply_to,
            mandatory=False,
        )

    async def _reject_malformed(
        self, message: AbstractIncomingMessage, exc: ValidationError
    ) -> None:
        """Malformed requests are permanent: answer if we can, and dead-letter for inspection."""
        errors = from_pydantic(exc)
        log.warning("malformed invoke request dead-lettered", errors=[e.path for e in errors])
        metrics.INVOCATIONS.labels(trigger_type="unknown", status=InvokeStatus.INVALID.value).inc()
        if message.reply_to:
            invocation_id = message.correlation_id or "unknown"
            await self._reply(
                message,
                InvokeResult(
                    invocation_id=invocation_id,
                    status=InvokeStatus.INVALID,
                    success=False,
                    message="Malformed invoke request",
                    workflow_id="",
                    trigger_id="",
                    errors=errors,
                ),
            )
        await message.reject(requeue=False)
