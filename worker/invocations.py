"""Invocation status in Redis: what `GET /api/v1/invocations/{id}` answers, kept for a TTL."""

from __future__ import annotations

from redis.asyncio import Redis

from contracts.models import InvokeRequest, InvokeResult, InvokeStatus
from contracts.topology import Topology


class InvocationStatusStore:
    def __init__(self, redis: Redis, topology: Topology, ttl_seconds: int) -> None:
        self._redis = redis
        self._topology = topology
        self._ttl = ttl_seconds

    def _key(self, invocation_id: str) -> str:
        return self._topology.redis_key("invocation", invocation_id)

    async def mark_queued(self, request: InvokeRequest) -> None:
        """Record that a request was sent; never overwrites a worker's answer."""
        queued = InvokeResult(
            invocation_id=request.invocation_id,
            status=InvokeStatus.QUEUED,
            success=False,
            message="Waiting for a worker",
            workflow_id=request.workflow_id,
            trigger_id=request.trigger_id,
            requested_by=request.user_id,
        )
        await self._redis.set(
            self._key(request.invocation_id), queued.body(), ex=self._ttl, nx=True
        )

    async def save(self, result: InvokeResult) -> None:
        await self._redis.set(self._key(result.invocation_id), result.body(), ex=self._ttl)

    async def get(self, invocation_id: str) -> InvokeResult | None:
        raw = await self._redis.get(self._key(invocation_id))
        return InvokeResult.parse(raw) if raw is not None else None
