"""Per-address rate limits and the per-address lockout allowance treat an IPv6 client as its /64
(issue 13c): one host is handed a whole /64 and may send from any address in it, so counting each
address alone gave one host 2**64 fresh allowances. IPv4 addresses stay whole, and an IPv4-mapped
IPv6 address counts as the IPv4 address it maps. Addresses are varied with X-Forwarded-For through a
trusted proxy (the test client's peer is 127.0.0.1)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.support import ANONYMOUS, assert_error, login, ok, register
from tests.api.test_rate_limits import at, bucket, set_limits
from ticketbooth.config import Settings
from ticketbooth.core import Core

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", refresh_grace_seconds=10,
                    trusted_proxies="127.0.0.1")


async def test_addresses_of_one_ipv6_64_share_one_rate_limit_bucket(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await set_limits(core, anonymous={"per_address": bucket(2)})
    ok(await client.get(ANONYMOUS, headers=at(app_headers, "2001:db8:1:2::1")))
    ok(await client.get(ANONYMOUS, headers=at(app_headers, "2001:db8:1:2::2")))
    # a third address of the same /64 is the same client: its bucket is empty
    assert_error(await client.get(ANONYMOUS, headers=at(app_headers, "2001:db8:1:2:ffff:ffff:ffff:fffe")), 429,
                 "TOO_MANY_REQUESTS")
    ok(await client.get(ANONYMOUS, headers=at(app_headers, "2001:db8:1:3::1")))  # the next /64 is another client


async def test_ipv4_stays_whole_and_ipv4_mapped_ipv6_counts_as_ipv4(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await set_limits(core, anonymous={"per_address": bucket(1)})
    ok(await client.get(ANONYMOUS, headers=at(app_headers, "198.51.100.7")))
    assert_error(await client.get(ANONYMOUS, headers=at(app_headers, "::ffff:198.51.100.7")), 429, "TOO_MANY_REQUESTS")
    ok(await client.get(ANONYMOUS, headers=at(app_headers, "198.51.100.8")))  # no /24 or /64 for IPv4


async def test_the_lockout_allowance_of_an_address_is_shared_by_its_64(
        client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await register(client, app_headers, "sixty-four@example.com")
    for i in range(5):  # the default allowance: 5 failures per address and login name
        r = await login(client, at(app_headers, f"2001:db8:aa:bb::{i + 1:x}"), "sixty-four@example.com", "wrong guess")
        assert_error(r, 401, "INVALID_CREDENTIALS")
    # another address of the same /64 has nothing left: even the right password is refused there
    r = await login(client, at(app_headers, "2001:db8:aa:bb:1234::99"), "sixty-four@example.com")
    assert_error(r, 401, "INVALID_CREDENTIALS")
    assert (await login(client, at(app_headers, "2001:db8:aa:bc::1"), "sixty-four@example.com")).status_code == 200
