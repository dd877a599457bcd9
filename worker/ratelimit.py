"""Rate limits per user (on one workflow) and per workflow, atomic in Redis: one round trip
(for a whole batch of invocations: one script call).

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

# Any number of invocations, each decided in turn as if alone, in one call.
# ARGV: the period in ms, then per invocation: '1' or '0' (whether its answer key comes first
# among its KEYS), the number of its limits, and each limit's count per period.
# KEYS: per invocation, its answer key when it has one, then one key per limit.
# Returns one reply per invocation: {1, 0, 0} counted, {0, i, retry_ms} refused by its i-th
# limit, or {2, 0, 0, answer} when it already succeeded (nothing counted).
_GCRA = """
local period = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local k, a, out = 1, 2, {}
while a <= #ARGV do
  local has_answer, n = ARGV[a] == '1', tonumber(ARGV[a + 1])
  a = a + 2
  local result = nil
  if has_answer then
    local answer = redis.call('GET', KEYS[k])
    k = k + 1
    if answer then
      local ok, doc = pcall(cjson.decode, answer)
      if ok and type(doc) == 'table' and doc['success'] == true then
        result = {2, 0, 0, answer}
      end
    end
  end
  if result == nil then
    local next_tats = {}
    for i = 0, n - 1 do
      local tat = tonumber(redis.call('GET', KEYS[k + i]) or now)
      if tat < now then tat = now end
      local next_tat = tat + period / tonumber(ARGV[a + i])
      if next_tat - now > period then
        result = {0, i + 1, math.ceil(next_tat - now - period)}
        break
      end
      next_tats[i] = next_tat
    end
    if result == nil then
      for i = 0, n - 1 do
        local ttl = math.max(1, math.ceil(next_tats[i] - now))
        redis.call('SET', KEYS[k + i], tostring(next_tats[i]), 'PX', ttl)
      end
      result = {1, 0, 0}
    end
  end
  k, a = k + n, a + n
  out[#out + 1] = result
end
return out
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
        """`acquire` for each (user, workflow, limits, answer key), in one call of the script
        (one round trip, one command): each decided as if alone, in order."""
        calls = [
            (
                self._invocation_keys(user_id, workflow_id),
                {"user": limits.per_user_per_minute, "workflow": limits.per_workflow_per_minute},
                answer_key,
            )
            for user_id, workflow_id, limits, answer_key in invocations
        ]
        return await self._charge(calls, invocations=len(calls))

    async def charge_refusal(self, user_id: str, per_minute: int) -> Decision:
        """Count one refused request (403/404) against the user's refusal budget: probing for
        workflows one may not see is bounded, and so is the work it costs."""
        key = self._topology.redis_key("ratelimit", "refusals", user_id)
        (decision,) = await self._charge(
            [({"user": key}, {"user": per_minute}, None)], user_id=user_id
        )
        return decision

    async def _charge(
        self, calls: list[tuple[dict[str, str], dict[str, int], str | None]], **context: Any
    ) -> list[Decision]:
        """Run the script once for all `calls` (scope -> key, scope -> limit, answer key), each
        decided in turn: all its scopes counted, or the first that refuses and when to come
        back; or the answer under its answer key."""
        keys: list[str] = []
        args: list[int] = [PERIOD_MS]
        for scoped, per_minute, answer_key in calls:
            more_keys, more_args = _script_call(scoped, per_minute, answer_key)
            keys += more_keys
            args += more_args
        try:
            replies = await self._script(keys=keys, args=args)
        except REDIS_ERRORS:
            if not self._fail_open:
                raise  # fail closed: the requests wait for Redis (retried with backoff)
            log.warning("rate limiter unavailable; failing open", **context)
            return [Decision(allowed=True) for _ in calls]
        return [
            _decision(reply, list(scoped), per_minute)
            for reply, (scoped, per_minute, _) in zip(replies, calls, strict=True)
        ]


def _script_call(
    keys: dict[str, str], per_minute: dict[str, int], answer_key: str | None
) -> tuple[list[str], list[int]]:
    """One invocation's KEYS and ARGV in a call of the script, for `keys` (scope -> key, in
    order)."""
    answer = [answer_key] if answer_key is not None else []
    return [*answer, *keys.values()], [1 if answer else 0, len(keys), *per_minute.values()]


def _decision(reply: list[Any], scopes: list[str], per_minute: dict[str, int]) -> Decision:
    allowed, index, retry_ms, *answered = reply
    if allowed == 2:
        return Decision(allowed=False, answered=answered[0])
    if allowed:
        return Decision(allowed=True)
    scope = scopes[int(index) - 1]
    retry_after = max(1, math.ceil(int(retry_ms) / 1000))
    return Decision(False, scope, per_minute[scope], retry_after)
