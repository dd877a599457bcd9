"""The invoke worker: one invoke request in, one trigger event out, one reply, then the ack.

Pipeline (docs/architecture.md): parse and limit -> who sent it? -> answered before? ->
idempotency key -> load workflow and trigger -> authorize -> rate-limit -> validate ->
resolve -> dry run? -> publish the event (confirmed) -> record status, reply -> ack.

Requests come in batches (what the prefetch delivered in one turn of the event loop,
`worker.amqp.consume_until`), and each stage runs once for the batch: one Redis script call for
the rate limits (which also read earlier answers), the events published with their confirms
in flight together, one script call for the statuses, the replies together, the acks coalesced.
Each request is still decided as if alone: one that fails fails only itself.
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

from contracts.models import (
    MAX_MESSAGE_BYTES,
    InvokeRequest,
    InvokeResult,
    InvokeStatus,
)
from worker import amqp, answers, metrics, store
from worker.answers import (
    accepted,
    answer,
    keyed_answer,
    limited,
    prepare,
    refusal,
    resolved,
    too_many_refusals,
    trigger_type_of,
)
from worker.batch import Work, each, refused, still_open
from worker.consume import BatchConsumer, Outcome
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
        self._consumer = BatchConsumer(self, settings, dependencies)

    async def handle(self, message: AbstractIncomingMessage) -> None:
        await self._consumer.handle(message)

    async def handle_batch(self, messages: list[AbstractIncomingMessage]) -> None:
        await self._consumer.handle_batch(messages)

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
        with structlog.contextvars.bound_contextvars(**self.context(request)):
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
        """One request alone: a batch of one."""
        (answered,) = await self.run_batch([(message, request)])
        if isinstance(answered, Exception):
            raise answered
        return answered

    async def run_batch(
        self, items: list[tuple[AbstractIncomingMessage, InvokeRequest]]
    ) -> list[Answered | Exception]:
        """Process, record and answer each request; run again after an outage for those it
        failed (every step is idempotent)."""
        works = [Work(message, request) for message, request in items]
        await each([w for w in works if w.request.idempotency_key], self._claim)
        await self._load_access(still_open(works))
        await self._rate_limit(still_open(works))
        for work in still_open(works):
            self._prepare(work)
        await self._publish(still_open(works))
        await each([w for w in works if refused(w)], self._charge_refusal)
        await self._record(works)
        # A request whose answer could not be kept is retried, and answered then.
        await each(
            [w for w in works if w.result is not None and w.error is None and w.message.reply_to],
            self._reply_to,
        )
        return [
            w.error if w.error is not None else (w.result, w.trigger_type)  # type: ignore[misc]
            for w in works
        ]

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
            **self.context(request),
            user_id=request.user_id,
            source=request.source.value,
            status=result.status.value,
            reason=reason,
            execution_id=result.execution_id,
            errors=[e.path for e in result.errors],
            redelivered=message.redelivered,
        )

    # Deciding the answers, stage by stage.

    async def _claim(self, work: Work) -> None:
        """A request whose idempotency key was used before is answered as that use says."""
        keyed = await self._keyed(work.request)
        if keyed is not None:
            work.decide(keyed, trigger_type_of(keyed))

    async def _load_access(self, works: list[Work]) -> None:
        """Who may do what: from the cache, or read (the misses together)."""
        missing = []
        for work in works:
            request = work.request
            found = self._access.cached(request.workflow_id, request.user_id, request.trigger_id)
            if found is store.NOT_CACHED:
                missing.append(work)
            else:
                work.access = found
        await each(missing, self._read_access)
        await each([w for w in works if w.open], self._authorize)

    async def _read_access(self, work: Work) -> None:
        request = work.request
        work.access = await self._access.load(
            request.workflow_id, request.user_id, request.trigger_id
        )

    async def _authorize(self, work: Work) -> None:
        """A redelivered request whose effect happened is answered as before, not run again,
        even if access changed since; a refusal is decided afresh (the workflow, a role or a
        limit may have changed). On the accepted path the rate limit's round trip reads the
        earlier answer; a refusal reads it on its own."""
        refused = refusal(work.request, work.access)
        if refused is None:
            assert work.access is not None and work.access.trigger is not None
            work.trigger_type = work.access.trigger.type.value
            return
        earlier = await self._statuses.finished(work.request.invocation_id)
        if earlier is not None and earlier.success:
            work.decide(earlier, trigger_type_of(earlier))
        else:
            work.decide(*refused)

    async def _rate_limit(self, works: list[Work]) -> None:
        """Every request counted against its limits in one round trip; a request refused by
        one is answered so, and one that already succeeded gets its earlier answer."""
        if not works:
            return
        invocations = [
            (
                w.request.user_id,
                w.request.workflow_id,
                Limits.of(w.access, self._settings),
                self._statuses.key(w.request.invocation_id),
            )
            for w in works
        ]
        try:
            decisions = await self._limiter.acquire_many(invocations)
        except Exception as exc:
            for work in works:
                work.error = exc
            return
        for work, decision in zip(works, decisions, strict=True):
            if decision.answered is not None:
                work.decide(InvokeResult.parse(decision.answered), work.trigger_type)
            elif not decision.allowed:
                work.decide(limited(work.request, decision), work.trigger_type)

    def _prepare(self, work: Work) -> None:
        """Validate and resolve: the request's answer if invalid or a dry run, else its event
        to publish. A failure here is the request's own (a fault of this code, not of the
        others)."""
        request = work.request
        assert work.access is not None and work.access.trigger is not None
        trigger = work.access.trigger
        trigger_type = trigger.type.value
        try:
            prepared = prepare(request, trigger)
        except Exception as exc:
            work.error = exc
            return
        if isinstance(prepared, InvalidInvocation):
            for error in prepared.errors:
                metrics.VALIDATION_ERRORS.labels(
                    trigger_type=trigger_type, error_type=error.code
                ).inc()
            work.decide(
                answer(request, InvokeStatus.INVALID, "Invalid parameters", errors=prepared.errors),
                trigger_type,
            )
            return
        work.prepared = prepared
        if request.dry_run:
            work.decide(
                answer(
                    request,
                    InvokeStatus.DRY_RUN,
                    "Dry run: parameters are valid; nothing was executed",
                    **resolved(prepared, trigger, request),
                ),
                trigger_type,
            )

    async def _publish(self, works: list[Work]) -> None:
        """The events out, their confirms in flight together; each confirmed one's request is
        accepted, and each of the others fails alone."""
        if not works:
            return
        try:
            failures = await amqp.publish_events(
                self._trigger_exchange,
                [w.publishable() for w in works],
                self._settings.progress_bound_seconds,
            )
        except Exception as exc:  # the channel itself failed: every event of the batch
            failures = [exc] * len(works)
        for work, failure in zip(works, failures, strict=True):
            try:
                if failure is not None:
                    raise failure
                assert work.prepared is not None and work.access and work.access.trigger
                trigger = work.access.trigger
                work.decide(accepted(work.prepared, trigger, work.request), work.trigger_type)
            except Exception as exc:  # this request's own
                work.error = exc

    async def _charge_refusal(self, work: Work) -> None:
        """Refusals (403/404) count against the user's refusal budget; past it, the answer
        is 429."""
        request = work.request
        budget = self._settings.refusal_budget_per_minute
        decision = await self._limiter.charge_refusal(request.user_id, budget)
        if not decision.allowed:
            work.decide(too_many_refusals(request, budget, decision), work.trigger_type)

    async def _record(self, works: list[Work]) -> None:
        """Every answer kept (one round trip), and the keys of answers that are not final
        let go."""
        answered = [w for w in works if w.result is not None and w.error is None]
        releases = [
            w
            for w in answered
            if w.request.idempotency_key and w.result is not None and not w.result.status.final
        ]
        await each(releases, self._release)
        saved = [w for w in answered if w.error is None]
        if not saved:
            return
        try:
            await self._statuses.save_many([w.result for w in saved if w.result is not None])
        except Exception as exc:
            for work in saved:
                work.error = exc

    async def _release(self, work: Work) -> None:
        await self._idempotency.release(work.request)

    async def _keyed(self, request: InvokeRequest) -> InvokeResult | None:
        """The answer owed to a request whose idempotency key was used before, if any."""
        prior = await self._idempotency.claim(request)
        if prior is None:
            return None  # a new key
        first = None
        if prior.same_request:
            first = await self._statuses.finished(prior.invocation_id)
        return keyed_answer(request, prior, first)

    async def _reply_to(self, work: Work) -> None:
        assert work.result is not None
        await self._reply(work.message, work.result)

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
