"""Token buckets for rate limits, kept in this process (`MemoryLimiter`) or in Redis (`RedisLimiter`).

A bucket holds at most `capacity` tokens and gains `per_second` tokens a second; a request takes
`cost` tokens or, when there are not enough, takes nothing and is told how many seconds to wait.

The in-process limiter is right for one server process only: every process keeps its own buckets.
Whenever more than one process serves the same tenants, set TICKETBOOTH_REDIS_URL: the Redis limiter
runs one Lua script per take (EVALSHA), so a take is atomic across every process, and the buckets
live on Redis's clock. When Redis cannot be reached the Redis limiter falls back to in-process buckets
(logging one warning, not one per request) and goes back to Redis as soon as it answers again: the
limits get looser for a while (each process counts alone), they never disappear.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

Now = Callable[[], float]


class Limiter(Protocol):
    async def take(self, key: str, capacity: int, per_second: float, cost: int = 1) -> float:
        """0.0 when `cost` tokens were taken from the bucket `key`; else the seconds until `cost`
        tokens will be there (and nothing is taken)."""
        ...

    async def peek(self, key: str, capacity: int, per_second: float) -> float:
        """What `take` with cost 1 would answer, without taking anything."""
        ...

    async def close(self) -> None: ...


def _check(capacity: int, per_second: float, cost: int) -> None:
    if capacity < 1 or not per_second > 0 or not math.isfinite(per_second):
        raise ValueError("a bucket needs capacity >= 1 and a positive, finite refill rate")
    if not 1 <= cost <= capacity:
        raise ValueError("cost must be between 1 and the bucket's capacity")


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    full_at: float  # when the bucket will be full again if nothing more is taken


class MemoryLimiter:
    """Buckets in a dict, for one process. Memory stays bounded: buckets that have refilled are
    dropped as the least recently used end is swept (a full bucket is the same as no bucket), and
    past `max_keys` the least recently used bucket is dropped to make room."""

    def __init__(self, *, max_keys: int = 100_000, now: Now = time.monotonic) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.max_keys = max_keys
        self._now = now
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    async def take(self, key: str, capacity: int, per_second: float, cost: int = 1) -> float:
        return self._take(key, capacity, per_second, cost, take=True)

    async def peek(self, key: str, capacity: int, per_second: float) -> float:
        return self._take(key, capacity, per_second, 1, take=False)

    async def close(self) -> None:
        self._buckets.clear()

    def _take(self, key: str, capacity: int, per_second: float, cost: int, *, take: bool) -> float:
        # synchronous from start to end: no other coroutine can run in between, so this is atomic
        _check(capacity, per_second, cost)
        now = self._now()
        self._sweep(now)
        bucket = self._buckets.get(key)
        if bucket is not None:
            self._buckets.move_to_end(key)  # an empty bucket being hammered is the last to be dropped
        tokens = float(capacity) if bucket is None else min(
            float(capacity), bucket.tokens + max(0.0, now - bucket.updated) * per_second)
        if tokens < cost:
            return (cost - tokens) / per_second
        if take:
            tokens -= cost
            full_at = now + (capacity - tokens) / per_second
            if bucket is None:
                if len(self._buckets) >= self.max_keys:
                    self._buckets.popitem(last=False)
                self._buckets[key] = _Bucket(tokens, now, full_at)
            else:
                bucket.tokens, bucket.updated, bucket.full_at = tokens, now, full_at
        return 0.0

    def _sweep(self, now: float, most: int = 4) -> None:
        """Drop up to `most` buckets from the least recently used end that are full again."""
        for _ in range(most):
            if not self._buckets:
                return
            key, bucket = next(iter(self._buckets.items()))
            if bucket.full_at > now:
                return
            del self._buckets[key]


# KEYS[1]: the bucket (a hash of t = last update, v = tokens).
# ARGV: capacity, tokens per second, cost, now in seconds ("" = Redis's own clock), "1" to take.
# Answers the seconds to wait as a string ("0" = taken): a Lua number would come back truncated.
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now
if ARGV[4] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[4])
end
local state = redis.call('HMGET', KEYS[1], 't', 'v')
local tokens = capacity
if state[1] and state[2] then
  local elapsed = now - tonumber(state[1])
  if elapsed < 0 then elapsed = 0 end
  tokens = math.min(capacity, tonumber(state[2]) + elapsed * rate)
end
if tokens < cost then
  return string.format('%.6f', (cost - tokens) / rate)
end
if ARGV[5] == '1' then
  tokens = tokens - cost
  redis.call('HSET', KEYS[1], 't', string.format('%.6f', now), 'v', string.format('%.17g', tokens))
  redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
end
return '0'
"""


class RedisLimiter:
    """Buckets in Redis, shared by every process that uses the same Redis and `prefix`. A bucket's
    key expires once the bucket would be full again. When Redis fails, takes go to `fallback`
    (in-process) and Redis is tried again every `retry_seconds`."""

    def __init__(
        self, url: str, *, prefix: str = "ticketbooth:rl:", timeout: float = 0.5, retry_seconds: float = 2.0,
        fallback: MemoryLimiter | None = None, now: Now | None = None, monotonic: Now = time.monotonic,
    ) -> None:
        self.prefix = prefix
        self.retry_seconds = retry_seconds
        self.fallback = fallback or MemoryLimiter()
        self._now = now  # None: Redis's clock (the same for every process)
        self._monotonic = monotonic
        self._redis: Redis = Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30,
        )
        self._script = self._redis.register_script(_TAKE)
        self._down_since: float | None = None
        self._next_try = 0.0

    @property
    def degraded(self) -> bool:
        """True while Redis is failing and the in-process fallback answers."""
        return self._down_since is not None

    async def take(self, key: str, capacity: int, per_second: float, cost: int = 1) -> float:
        return await self._run(key, capacity, per_second, cost, take=True)

    async def peek(self, key: str, capacity: int, per_second: float) -> float:
        return await self._run(key, capacity, per_second, 1, take=False)

    async def close(self) -> None:
        await self._redis.aclose()
        await self.fallback.close()

    async def _run(self, key: str, capacity: int, per_second: float, cost: int, *, take: bool) -> float:
        _check(capacity, per_second, cost)
        if self._down_since is not None and self._monotonic() < self._next_try:
            return await self._fall_back(key, capacity, per_second, cost, take)
        if self._down_since is not None:
            self._next_try = self._monotonic() + self.retry_seconds  # one probe at a time, not a stampede
        now = "" if self._now is None else f"{self._now():.6f}"
        try:
            answer = await self._script(keys=[self.prefix + key],
                                        args=[capacity, repr(float(per_second)), cost, now, "1" if take else "0"])
        except (RedisError, OSError) as exc:
            if self._down_since is None:
                self._down_since = self._monotonic()
                log.warning("rate limits: Redis cannot be reached (%s); limits are kept in this process "
                            "until it answers again", type(exc).__name__)
            self._next_try = self._monotonic() + self.retry_seconds
            return await self._fall_back(key, capacity, per_second, cost, take)
        if self._down_since is not None:
            log.warning("rate limits: Redis answers again after %.0f seconds; limits are shared again",
                        self._monotonic() - self._down_since)
            self._down_since = None
        text = answer.decode() if isinstance(answer, bytes) else str(answer)
        return float(text)

    async def _fall_back(self, key: str, capacity: int, per_second: float, cost: int, take: bool) -> float:
        if take:
            return await self.fallback.take(key, capacity, per_second, cost)
        return await self.fallback.peek(key, capacity, per_second)


def open_limiter(redis_url: str, *, prefix: str = "ticketbooth:rl:") -> MemoryLimiter | RedisLimiter:
    """The limiter the settings ask for: Redis when a URL is set, else in-process."""
    if redis_url:
        return RedisLimiter(redis_url, prefix=prefix)
    return MemoryLimiter()
