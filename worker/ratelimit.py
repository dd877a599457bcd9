"""Rate limits per user (on one workflow) and per workflow, atomic in Redis: one round trip.

Algorithm: GCRA (the generic cell rate algorithm, a leaky bucket kept as one timestamp).
For a limit of N per minute, each invocation moves the key's "theoretical arrival time"
(TAT) on by 60/N seconds; a request is refused when that would put the TAT more than a
minute ahead of now, and `Retry-After` says when it would not. So N invocations may come at
once, then one every 60/N seconds. Both keys (user, workflow) are checked and moved together
in one Lua script, against Redis's own clock: either both count the invocation or neither
does. Cost: one EVALSHA, two GETs and two SETs inside Redis, two keys of a few bytes each
that expire as soon as they no longer limit anything.

The same round trip first reads the invocation's stored answer when the caller names its key:
a redelivered invocation that already succeeded is answered as before and not counted again,
so the worker needs no separate read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from redis.asyncio import Redis

from contracts.topology import Topology
from worker.outage import REDIS_ERRORS
from worker.settings import Settings

log = structlog.get_logger(__name__)

PERIOD_MS = 60_000

# KEYS: [the invocation's answer key, when ARGV[2] is '1'], then one key per limit.
# ARGV: the period in ms, '1' or '0', then each limit's count per period.
# Returns {1, 0, 0} counted, {0, i, retry_ms} refused by the i-th limit, or
# {2, 0, 0, answer} when the invocation already succeeded (nothing counted).
_GCRA = """
local first = 1
if ARGV[2] == '1' then
  first = 2
  local answer = redis.call('GET', KEYS[1])
  if answer then
    local ok, doc = pcall(cjson.decode, answer)
    if ok and type(doc) == 'table' and doc['success'] == true then
      return {2, 0, 0, answer}
    end
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local period = tonumber(ARGV[1])
local next_tats = {}
for i = first, #KEYS do
  local interval = period / tonumber(ARGV[i + 3 - first])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local next_tat = tat + interval
  local ahead = next_tat - now
  if ahead > period then
    return {0, i + 1 - first, math.ceil(ahead - period)}
  end
  next_tats[i] = next_tat
end
for i = first, #KEYS do
  local ttl = math.max(1, math.ceil(next_tats[i] - now))
  redis.call('SET', KEYS[i], tostring(next_tats[i]), 'PX', ttl)
end
return {1, 0, 0}
"""


@dataclass(frozen=True)
class Limits:
    per_user_per_minute: int
    per_workflow_per_minute: int

    @classmethod
    def of(cls, access: Any, settings: Settings) -> Limits:
        """A workflow's own limits where it sets them, else the service's."""
        return cls(
            per_user_per_minute=access.rate_limit_per_user
            or settings.rate_limit_per_user_per_minute,
            per_workflow_per_minute=access.rate_limit_per_workflow
            or settings.rate_limit_per_workflow_per_minute,
        )


@dataclass(frozen=True)
class Decision:
    allowed: bool
    scope: str | None = None  # "user" or "workflow": the limit that refused
    limit: int | None = None
    retry_after_seconds: int = 0
    answered: bytes | None = None  # the stored answer of an invocation that already succeeded


class RateLimiter:
    """GCRA limits in Redis; also the budget of refused requests per user."""

    def __init__(self, redis: Redis, topology: Topology, *, fail_open: bool) -> None:
        self._redis = redis
        self._topology = topology
        self._fail_open = fail_open
        self._script = redis.register_script(_GCRA)

    def _invocation_keys(self, user_id: str, workflow_id: str) -> dict[str, str]:
        return {
            "user": self._topology.redis_key("ratelimit", "user", workflow_id, user_id),
            "workflow": self._topology.redis_key("ratelimit", "workflow", workflow_id),
        }

    async def acquire(
        self, user_id: str, workflow_id: str, limits: Limits, answer_key: str | None = None
    ) -> Decision:
        """Count one invocation against both limits, or refuse it with a retry time; or, when
        `answer_key` holds a successful answer, return it and count nothing."""
        return (await self.acquire_many([(user_id, workflow_id, limits, answer_key)]))[0]

    async def acquire_many(
        self, invocations: Sequence[tuple[str, str, Limits, str | None]]
    ) -> list[Decision]:
        """`acquire` for each (user, workflow, limits, answer key), in one pipelined round
        trip: each decided as if alone, in order."""
        calls = []
        for user_id, workflow_id, limits, answer_key in invocations:
            per_minute = {
                "user": limits.per_user_per_minute,
                "workflow": limits.per_workflow_per_minute,
            }
            calls.append((self._invocation_keys(user_id, workflow_id), per_minute, answer_key))
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for keys, per_minute, answer_key in calls:
                    await self._script(*_script_call(keys, per_minute, answer_key), client=pipe)
                replies = await pipe.execute()
        except REDIS_ERRORS:
            if not self._fail_open:
                raise  # fail closed: the requests wait for Redis (retried with backoff)
            log.warning("rate limiter unavailable; failing open", invocations=len(calls))
            return [Decision(allowed=True) for _ in calls]
        return [
            _decision(reply, list(keys), per_minute)
            for reply, (keys, per_minute, _) in zip(replies, calls, strict=True)
        ]

    async def charge_refusal(self, user_id: str, per_minute: int) -> Decision:
        """Count one refused request (403/404) against the user's refusal budget: probing for
        workflows one may not see is bounded, and so is the work it costs."""
        key = self._topology.redis_key("ratelimit", "refusals", user_id)
        return await self._charge({"user": key}, {"user": per_minute}, None, user_id=user_id)

    async def _charge(
        self,
        keys: dict[str, str],
        per_minute: dict[str, int],
        answer_key: str | None,
        **context: str,
    ) -> Decision:
        """Run the script over `keys` (scope -> key, in order): all counted, or the first
        scope that refuses and when to come back; or the answer under `answer_key`."""
        script_keys, args = _script_call(keys, per_minute, answer_key)
        try:
            reply = await self._script(keys=script_keys, args=args)
        except REDIS_ERRORS:
            if not self._fail_open:
                raise  # fail closed: the request waits for Redis (retried with backoff)
            log.warning("rate limiter unavailable; failing open", **context)
            return Decision(allowed=True)
        return _decision(reply, list(keys), per_minute)


def _script_call(
    keys: dict[str, str], per_minute: dict[str, int], answer_key: str | None
) -> tuple[list[str], list[int]]:
    """The script's KEYS and ARGV for `keys` (scope -> key, in order)."""
    answer = [answer_key] if answer_key is not None else []
    return [*answer, *keys.values()], [PERIOD_MS, 1 if answer else 0, *per_minute.values()]


def _decision(reply: list[Any], scopes: list[str], per_minute: dict[str, int]) -> Decision:
    allowed, index, retry_ms, *answered = reply
    if allowed == 2:
        return Decision(allowed=False, answered=answered[0])
    if allowed:
        return Decision(allowed=True)
    scope = scopes[int(index) - 1]
    retry_after = max(1, math.ceil(int(retry_ms) / 1000))
    return Decision(False, scope, per_minute[scope], retry_after)
