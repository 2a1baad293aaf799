"""Application authentication's rate limits live in the shared limiter: with Redis (a real one,
TICKETBOOTH_TEST_REDIS_URL) every process counts into the same buckets, under keyed-hash keys that
name neither the client address nor the client id (issue finding 6a)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from tests.api.support import OAUTH, assert_error, ok
from tests.conftest import STOREFRONT
from ticketbooth.config import Settings
from ticketbooth.core import Core
from ticketbooth.domain.policies import RateBucket
from ticketbooth.infra.ratelimit import RedisLimiter

REDIS_URL = os.environ.get("TICKETBOOTH_TEST_REDIS_URL", "")
pytestmark = [pytest.mark.usefixtures("seeded"),
              pytest.mark.skipif(not REDIS_URL, reason="TICKETBOOTH_TEST_REDIS_URL is not set")]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", trusted_proxies="127.0.0.1",
                    app_auth_per_address=RateBucket(capacity=3, per_minute=0.001),
                    app_auth_per_client=RateBucket(capacity=2, per_minute=0.001))


@pytest.fixture
async def prefix(core: Core) -> AsyncIterator[str]:
    """`core` with its limiter in Redis, under a key prefix of this test's own (its keys deleted after)."""
    prefix = f"tb-test:{secrets.token_hex(6)}:"
    await core.limiter.close()
    core.limiter = RedisLimiter(REDIS_URL, prefix=prefix)
    yield prefix
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = await redis.keys(f"{prefix}*")
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def oauth(client: httpx.AsyncClient, address: str, client_id: str, secret: str) -> httpx.Response:
    return await client.post(OAUTH, headers={"X-Forwarded-For": address}, json={
        "client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"})


async def test_app_auth_limits_are_kept_in_redis_under_opaque_keys(
        core: Core, prefix: str, client: httpx.AsyncClient) -> None:
    for address in ("198.51.100.61", "198.51.100.62"):
        assert_error(await oauth(client, address, STOREFRONT[0], "a wrong secret 0123"), 401, "UNAUTHORIZED")
    assert_error(await oauth(client, "198.51.100.63", *STOREFRONT), 429, "TOO_MANY_REQUESTS")  # the id's failures
    for _ in range(2):  # the address's second and third attempts
        ok(await oauth(client, "198.51.100.61", "admin.app", "admin-secret-0123456789abcdef"))
    assert_error(await oauth(client, "198.51.100.61", "admin.app", "admin-secret-0123456789abcdef"), 429,
                 "TOO_MANY_REQUESTS")  # its fourth
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [k.decode() for k in await redis.keys(f"{prefix}*")]
    finally:
        await redis.aclose()
    assert len([k for k in keys if ":app-auth:address:" in k]) == 3
    assert len([k for k in keys if ":app-auth:client:" in k]) == 1
    assert isinstance(core.limiter, RedisLimiter) and not core.limiter.degraded
    for key in keys:
        assert "198.51.100" not in key and "storefront" not in key and "admin" not in key
