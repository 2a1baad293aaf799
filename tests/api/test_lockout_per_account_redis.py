"""The attacks of issue 13's findings 2 and 4 again with the limiter in Redis (TICKETBOOTH_TEST_REDIS_URL,
a real Redis), where a deployment of more than one process keeps the per-address failure allowance and
the rate-limit buckets: the allowance is per (address, account) there too, and Change-Password spends it."""

from __future__ import annotations

import httpx
import pytest

from tests.api import test_change_password_guessing as guessing
from tests.api import test_lockout_per_account as per_account
from tests.api.test_rate_limits_redis import REDIS_URL, redis_core  # noqa: F401  (fixture)
from ticketbooth.config import Settings
from ticketbooth.core import Core
from ticketbooth.infra.ratelimit import RedisLimiter

pytestmark = [pytest.mark.usefixtures("seeded"),
              pytest.mark.skipif(not REDIS_URL, reason="TICKETBOOTH_TEST_REDIS_URL is not set")]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", refresh_grace_seconds=10,
                    trusted_proxies="127.0.0.1/32")


async def test_one_address_cannot_lock_a_shopper_out_through_every_login_name_in_redis(
        redis_core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:  # noqa: F811
    await per_account.test_one_address_cannot_lock_a_shopper_out_through_every_login_name(
        client, app_headers, redis_core)
    assert isinstance(redis_core.limiter, RedisLimiter) and not redis_core.limiter.degraded


async def test_guessing_the_old_password_is_stopped_in_redis(
        redis_core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:  # noqa: F811
    await guessing.test_one_address_guessing_the_old_password_is_stopped_by_its_allowance(
        client, app_headers, redis_core)
    assert isinstance(redis_core.limiter, RedisLimiter) and not redis_core.limiter.degraded


async def test_guesses_and_logins_share_the_accounts_failure_bucket_in_redis(
        redis_core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:  # noqa: F811
    await guessing.test_guesses_and_logins_share_the_accounts_failure_bucket(client, app_headers, redis_core)
    assert isinstance(redis_core.limiter, RedisLimiter) and not redis_core.limiter.degraded
