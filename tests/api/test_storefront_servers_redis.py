"""Storefront servers' limits with the limiter in Redis (TICKETBOOTH_TEST_REDIS_URL, a real Redis), as a
deployment of more than one process keeps them: the server's calls from one address are not limited
by it, its budget and the forwarded addresses' buckets hold, and a browser forging forwarding headers
is still limited by its own address."""

from __future__ import annotations

import httpx
import pytest

from tests.api import test_storefront_servers as servers
from tests.api.test_rate_limits_redis import REDIS_URL, redis_core  # noqa: F401  (fixture)
from tests.api.test_storefront_servers import server_headers  # noqa: F401  (fixture)
from ticketbooth.core import Core
from ticketbooth.infra.ratelimit import RedisLimiter

pytestmark = [pytest.mark.usefixtures("seeded"),
              pytest.mark.skipif(not REDIS_URL, reason="TICKETBOOTH_TEST_REDIS_URL is not set")]


def _in_redis(core: Core) -> None:
    assert isinstance(core.limiter, RedisLimiter) and not core.limiter.degraded


async def test_a_servers_calls_from_one_address_are_not_limited_by_it_in_redis(
        redis_core: Core, client: httpx.AsyncClient, app_headers: dict[str, str],  # noqa: F811
        server_headers: dict[str, str]) -> None:  # noqa: F811
    await servers.test_a_servers_anonymous_tickets_from_one_address_are_not_limited_per_address(
        redis_core, client, app_headers, server_headers)
    _in_redis(redis_core)


async def test_forwarded_addresses_and_the_servers_budget_in_redis(
        redis_core: Core, client: httpx.AsyncClient, server_headers: dict[str, str]) -> None:  # noqa: F811
    await servers.test_forwarded_shopper_addresses_each_get_the_per_address_limits(redis_core, client, server_headers)
    _in_redis(redis_core)


async def test_made_up_forwarded_addresses_are_bounded_in_redis(
        redis_core: Core, client: httpx.AsyncClient, server_headers: dict[str, str]) -> None:  # noqa: F811
    await servers.test_made_up_forwarded_addresses_cannot_get_past_the_servers_budget(
        redis_core, client, server_headers)
    _in_redis(redis_core)


async def test_a_browser_forging_forwarded_addresses_is_limited_by_its_own_in_redis(
        redis_core: Core, client: httpx.AsyncClient, app_headers: dict[str, str],  # noqa: F811
        server_headers: dict[str, str]) -> None:  # noqa: F811
    await servers.test_a_browser_of_an_unflagged_app_forging_forwarded_addresses_is_limited_by_its_own(
        redis_core, client, app_headers, server_headers)
    await servers.test_a_browser_with_a_servers_shopper_ticket_forging_forwarded_addresses_is_limited_by_its_own(
        redis_core, client, server_headers)
    _in_redis(redis_core)


async def test_per_account_limits_through_the_server_in_redis(
        redis_core: Core, client: httpx.AsyncClient, server_headers: dict[str, str]) -> None:  # noqa: F811
    await servers.test_per_account_limits_apply_through_the_server(redis_core, client, server_headers)
    _in_redis(redis_core)


async def test_the_lockout_allowance_counts_the_forwarded_address_in_redis(
        redis_core: Core, client: httpx.AsyncClient, server_headers: dict[str, str]) -> None:  # noqa: F811
    await servers.test_the_lockout_allowance_counts_the_forwarded_shopper_address(redis_core, client, server_headers)
    _in_redis(redis_core)
