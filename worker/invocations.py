"""Invocation records in Redis: each invocation's status, and the idempotency keys.

Statuses answer `GET /api/v1/invocations/{id}` and let a redelivered request be answered as
it was the first time. Idempotency keys map (user, key) to the first invocation made with
them, with a fingerprint of the request, for `invocation_ttl_seconds` (24 h by default).
When `cache_fail_open` is set, a Redis failure here is logged and the invocation goes on
without the record; otherwise it is raised, and the request is retried later.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

import structlog
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from contracts.models import InvokeRequest, InvokeResult, InvokeStatus
from contracts.topology import Topology
from worker.outage import REDIS_ERRORS

log = structlog.get_logger(__name__)
T = TypeVar("T")


class _RedisRecords:
    def __init__(
        self,
        redis: Redis,
        topology: Topology,
        ttl_seconds: int,
        fail_open: bool,
        short_ttl_seconds: int = 60,
    ) -> None:
        self._redis = redis
        self._topology = topology
        self._ttl = ttl_seconds
        self._short_ttl = short_ttl_seconds  # for answers that are not final
        self._fail_open = fail_open

    async def _guard(self, operation: Awaitable[T], fallback: T) -> T:
        try:
            return await operation
        except REDIS_ERRORS:
            if not self._fail_open:
                raise
            log.warning("redis unavailable; going on without the record", store=type(self).__name__)
            return fallback


# KEYS[i] set to ARGV[2i - 1] for ARGV[2i] seconds: a batch's answers in one command.
_SET_ALL = """
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2 * i - 1], 'EX', ARGV[2 * i])
end
return #KEYS
"""


class InvocationStatusStore(_RedisRecords):
    @cached_property
    def _set_all(self) -> AsyncScript:
        return self._redis.register_script(_SET_ALL)

    def key(self, invocation_id: str) -> str:
        return self._topology.redis_key("invocation", invocation_id)

    async def mark_queued(self, request: InvokeRequest) -> InvokeResult:
        """Record that a request, confirmed by the broker, is waiting for a worker (its caller
        will poll); never overwrites a worker's answer. Returns the queued status."""
        queued = InvokeResult(
            invocation_id=request.invocation_id,
            status=InvokeStatus.QUEUED,
            success=False,
            message="Queued: waiting for a worker; poll its status",
            workflow_id=request.workflow_id,
            trigger_id=request.trigger_id,
            requested_by=request.user_id,
        )
        key = self.key(request.invocation_id)
        await self._guard(self._redis.set(key, queued.body(), ex=self._ttl, nx=True), None)
        return queued

    def _sending_key(self, invocation_id: str) -> str:
        return self._topology.redis_key("sending", invocation_id)

    async def start_sending(self, invocation_id: str, seconds: int) -> bool:
        """Take the sending of an invocation for up to `seconds` (its caller's wait for an
        answer); False while another caller is sending it (a keyed retry that came early).
        Expires by itself, so a caller that died holds nothing for long."""
        key = self._sending_key(invocation_id)
        return bool(await self._guard(self._redis.set(key, b"1", ex=seconds, nx=True), True))

    async def done_sending(self, invocation_id: str) -> None:
        await self._guard(self._redis.delete(self._sending_key(invocation_id)), None)

    async def save_many(self, results: list[InvokeResult]) -> None:
        """Keep the answers, in one command: a final one for the full TTL, a refusal only
        briefly (refused requests must not cost a day of storage each)."""
        args: list[bytes | int] = []
        for result in results:
            args += [result.body(), self._ttl if result.status.final else self._short_ttl]
        keys = [self.key(result.invocation_id) for result in results]
        await self._guard(self._set_all(keys=keys, args=args), None)

    async def get(self, invocation_id: str) -> InvokeResult | None:
        raw = await self._guard(self._redis.get(self.key(invocation_id)), None)
        return InvokeResult.parse(raw) if raw is not None else None

    async def finished(self, invocation_id: str) -> InvokeResult | None:
        """The final answer to this invocation, if a worker already gave one."""
        result = await self.get(invocation_id)
        return result if result is not None and result.status is not InvokeStatus.QUEUED else None


@dataclass(frozen=True)
class PriorUse:
    invocation_id: str
    same_request: bool


# Shorten a key's life to ARGV[2] seconds only while it still holds this claim (ARGV[1]).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class IdempotencyStore(_RedisRecords):
    def _key_and_claim(self, request: InvokeRequest) -> tuple[str, str]:
        assert request.idempotency_key is not None
        digest = hashlib.sha256(request.idempotency_key.encode()).hexdigest()
        key = self._topology.redis_key("idempotency", request.user_id, digest)
        mine = json.dumps(
            {"invocation_id": request.invocation_id, "fingerprint": request.fingerprint()}
        )
        return key, mine

    async def release(self, request: InvokeRequest) -> None:
        """A request whose answer was not final (refused, limited, a conflict) keeps its key
        only briefly: refusals store nothing lasting, and the next try decides afresh."""
        key, mine = self._key_and_claim(request)
        await self._guard(self._redis.eval(_RELEASE, 1, key, mine, self._short_ttl), None)

    async def claim(self, request: InvokeRequest) -> PriorUse | None:
        """Take the request's key for it; or, when the key was used before, say by whom."""
        key, mine = self._key_and_claim(request)
        if await self._guard(self._redis.set(key, mine, ex=self._ttl, nx=True), True):
            return None
        raw = await self._guard(self._redis.get(key), None)
        if raw is None:  # expired in between, or Redis failed open
            return None
        first = json.loads(raw)
        return PriorUse(first["invocation_id"], first["fingerprint"] == request.fingerprint())
