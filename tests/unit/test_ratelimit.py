"""Token buckets: the arithmetic on a pinned clock (no sleeping), memory bounds, and the Redis limiter
against a real Redis (TICKETBOOTH_TEST_REDIS_URL): atomic takes, expiry, isolation by prefix, and the
fall-back to in-process buckets while Redis is down (one warning) and back once it answers."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from ticketbooth.infra.ratelimit import MemoryLimiter, RedisLimiter, open_limiter

REDIS_URL = os.environ.get("TICKETBOOTH_TEST_REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="TICKETBOOTH_TEST_REDIS_URL is not set")


class PinnedTime:
    """Seconds that only move when told to."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


# -- the arithmetic, on both backends ----------------------------------------------------------------

@pytest.fixture
def pinned() -> PinnedTime:
    return PinnedTime()


@pytest.fixture
def prefix() -> str:
    return f"tb-test:{secrets.token_hex(6)}:"


@pytest.fixture(params=["memory", pytest.param("redis", marks=needs_redis)])
async def limiter(request: pytest.FixtureRequest, pinned: PinnedTime, prefix: str) -> AsyncIterator[MemoryLimiter | RedisLimiter]:
    made: MemoryLimiter | RedisLimiter
    made = MemoryLimiter(now=pinned) if request.param == "memory" else RedisLimiter(REDIS_URL, prefix=prefix, now=pinned)
    try:
        yield made
    finally:
        if isinstance(made, RedisLimiter):
            assert not made.degraded  # every answer in these tests came from Redis itself
        await made.close()


async def test_a_full_bucket_admits_its_capacity_then_says_how_long_to_wait(
        limiter: MemoryLimiter | RedisLimiter) -> None:
    assert [await limiter.take("k", 3, 0.5) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert await limiter.take("k", 3, 0.5) == pytest.approx(2.0)  # one token at 0.5 per second
    assert await limiter.take("k", 3, 0.5) == pytest.approx(2.0)  # a refusal takes nothing
    assert await limiter.take("other", 3, 0.5) == 0.0  # buckets are per key


async def test_tokens_come_back_at_the_refill_rate_up_to_the_capacity(
        limiter: MemoryLimiter | RedisLimiter, pinned: PinnedTime) -> None:
    for _ in range(4):
        assert await limiter.take("k", 4, 2.0) == 0.0
    pinned.advance(0.75)  # 1.5 tokens back
    assert await limiter.take("k", 4, 2.0) == 0.0
    assert await limiter.take("k", 4, 2.0) == pytest.approx(0.25)  # 0.5 left, 0.5 more needed
    pinned.advance(3600)  # a long pause refills to the capacity, never beyond
    assert [await limiter.take("k", 4, 2.0) for _ in range(5)][-2:] == [0.0, pytest.approx(0.5)]


async def test_a_cost_takes_several_tokens_or_none(limiter: MemoryLimiter | RedisLimiter, pinned: PinnedTime) -> None:
    assert await limiter.take("k", 10, 1.0, cost=7) == 0.0
    assert await limiter.take("k", 10, 1.0, cost=5) == pytest.approx(2.0)  # 3 there, 5 needed
    assert await limiter.take("k", 10, 1.0, cost=3) == 0.0  # the refused take left the 3 in place
    pinned.advance(4)
    assert await limiter.take("k", 10, 1.0, cost=5) == pytest.approx(1.0)


async def test_peek_answers_like_take_and_never_takes(limiter: MemoryLimiter | RedisLimiter) -> None:
    assert await limiter.peek("k", 2, 1.0) == 0.0
    assert await limiter.peek("k", 2, 1.0) == 0.0
    assert await limiter.take("k", 2, 1.0) == 0.0
    assert await limiter.take("k", 2, 1.0) == 0.0
    assert await limiter.peek("k", 2, 1.0) == pytest.approx(1.0)
    assert await limiter.take("k", 2, 1.0) == pytest.approx(1.0)


@pytest.mark.parametrize(("capacity", "rate", "cost"), [(0, 1.0, 1), (5, 0.0, 1), (5, -1.0, 1), (5, float("inf"), 1),
                                                       (5, 1.0, 0), (5, 1.0, 6)])
async def test_impossible_buckets_are_refused(limiter: MemoryLimiter | RedisLimiter, capacity: int, rate: float,
                                              cost: int) -> None:
    with pytest.raises(ValueError):
        await limiter.take("k", capacity, rate, cost)


# -- memory bounds --------------------------------------------------------------------------------------

async def test_refilled_buckets_are_dropped_as_the_limiter_is_used(pinned: PinnedTime) -> None:
    limiter = MemoryLimiter(now=pinned)
    for i in range(50):
        await limiter.take(f"k{i}", 2, 1.0)
    assert len(limiter) == 50
    pinned.advance(2)  # every bucket is full again: the same as no bucket
    for i in range(50):
        await limiter.take(f"new{i}", 2, 1.0)
    assert len(limiter) == 50  # each take swept old full buckets away (several per take)
    assert all(not key.startswith("k") for key in limiter._buckets)


async def test_the_number_of_buckets_is_capped_least_recently_used_first(pinned: PinnedTime) -> None:
    limiter = MemoryLimiter(max_keys=3, now=pinned)
    for key in ("a", "b", "c"):
        await limiter.take(key, 1, 0.001)
    assert await limiter.take("a", 1, 0.001) > 0  # a refused take counts as a use: "b" is now the oldest
    await limiter.take("d", 1, 0.001)  # no room: "b" goes
    assert len(limiter) == 3
    assert await limiter.take("b", 1, 0.001) == 0.0  # forgotten, so full again ("c" goes to make room)
    assert await limiter.take("a", 1, 0.001) > 0  # the hammered bucket is still empty
    assert await limiter.take("d", 1, 0.001) > 0


# -- Redis ---------------------------------------------------------------------------------------------

@needs_redis
async def test_concurrent_takes_never_over_admit(prefix: str) -> None:
    """200 takes at once, from several connections, on one bucket of 50 that refills too slowly to
    matter: exactly 50 are admitted. (A generous timeout: on a loaded machine the default half second
    can pass, and then each limiter would answer from its own fallback, which is not what this tests.)"""
    limiters = [RedisLimiter(REDIS_URL, prefix=prefix, timeout=10) for _ in range(4)]
    try:
        answers = await asyncio.gather(*(limiters[i % 4].take("shared", 50, 0.0001) for i in range(200)))
    finally:
        for one in limiters:
            await one.close()
    assert sum(1 for wait in answers if wait == 0.0) == 50
    assert all(wait > 0 for wait in answers if wait != 0.0)


@needs_redis
async def test_a_bucket_key_expires_when_the_bucket_would_be_full_again(prefix: str) -> None:
    limiter = RedisLimiter(REDIS_URL, prefix=prefix)
    redis = Redis.from_url(REDIS_URL)
    try:
        await limiter.take("k", 10, 2.0, cost=4)  # 4 tokens short of full at 2 per second: 2 s
        ttl = await redis.pttl(prefix + "k")
        assert 2000 < ttl <= 3000  # (2 s, plus one second of slack for clock steps)
        await limiter.peek("other", 10, 2.0)
        assert await redis.exists(prefix + "other") == 0  # a peek writes nothing
    finally:
        await redis.aclose()
        await limiter.close()


@needs_redis
async def test_prefixes_keep_limiters_apart() -> None:
    one = RedisLimiter(REDIS_URL, prefix=f"tb-test:{secrets.token_hex(6)}:")
    two = RedisLimiter(REDIS_URL, prefix=f"tb-test:{secrets.token_hex(6)}:")
    try:
        assert await one.take("k", 1, 0.01) == 0.0
        assert await one.take("k", 1, 0.01) > 0
        assert await two.take("k", 1, 0.01) == 0.0
    finally:
        await one.close()
        await two.close()


@needs_redis
async def test_the_script_is_loaded_again_after_a_script_flush(prefix: str) -> None:
    limiter = RedisLimiter(REDIS_URL, prefix=prefix)
    redis = Redis.from_url(REDIS_URL)
    try:
        assert await limiter.take("k", 2, 0.01) == 0.0
        await redis.script_flush()  # as after a Redis restart: EVALSHA answers NOSCRIPT
        assert await limiter.take("k", 2, 0.01) == 0.0
        assert await limiter.take("k", 2, 0.01) > 0
        assert not limiter.degraded
    finally:
        await redis.aclose()
        await limiter.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_unreachable_redis_falls_back_to_in_process_limits_with_one_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    limiter = RedisLimiter(f"redis://127.0.0.1:{_closed_port()}/0", retry_seconds=0)  # retry at every take
    caplog.set_level(logging.WARNING, logger="ticketbooth.infra.ratelimit")
    try:
        answers = [await limiter.take("k", 5, 0.001) for _ in range(20)]
    finally:
        await limiter.close()
    assert answers[:5] == [0.0] * 5  # limited all the same: never "no limit"
    assert all(wait > 0 for wait in answers[5:])
    assert limiter.degraded
    warnings = [r for r in caplog.records if r.name == "ticketbooth.infra.ratelimit"]
    assert len(warnings) == 1
    assert "Redis cannot be reached" in warnings[0].getMessage()


class RedisProxy:
    """A TCP relay in front of the real Redis that can be cut (every connection dropped, new ones
    refused) and restored on the same port: Redis going away and coming back."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = _closed_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()
        self._server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))


@needs_redis
async def test_the_limiter_goes_back_to_redis_once_it_answers_again(
        prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    from redis.asyncio.connection import parse_url

    target = parse_url(REDIS_URL)
    proxy = RedisProxy(str(target.get("host", "127.0.0.1")), int(target.get("port", 6379)))
    await proxy.start()
    db = target.get("db", 0)
    limiter = RedisLimiter(f"redis://127.0.0.1:{proxy.port}/{db}", prefix=prefix, retry_seconds=0)
    shared = RedisLimiter(REDIS_URL, prefix=prefix)  # another process, still reaching Redis
    caplog.set_level(logging.WARNING, logger="ticketbooth.infra.ratelimit")
    try:
        assert await limiter.take("k", 3, 0.001) == 0.0  # through Redis
        await proxy.cut()
        assert await limiter.take("k", 3, 0.001) == 0.0  # in-process from here (a fresh bucket)
        assert limiter.degraded
        await proxy.start()
        assert await limiter.take("k", 3, 0.001) == 0.0  # Redis again: its bucket had 2 left, now 1
        assert not limiter.degraded
        assert await shared.take("k", 3, 0.001) == 0.0  # the last token, seen by the other process too
        assert await limiter.take("k", 3, 0.001) > 0
    finally:
        await limiter.close()
        await shared.close()
        await proxy.cut()
    messages = [r.getMessage() for r in caplog.records if r.name == "ticketbooth.infra.ratelimit"]
    assert len(messages) == 2
    assert "cannot be reached" in messages[0] and "answers again" in messages[1]


async def test_open_limiter_follows_the_settings() -> None:
    memory = open_limiter("")
    assert isinstance(memory, MemoryLimiter)
    redis = open_limiter("redis://127.0.0.1:1/0")
    assert isinstance(redis, RedisLimiter)
    await memory.close()
    await redis.close()
