"""Storefront servers as clients (issue 15, point 8): a storefront's server calls for all its shoppers
from one address and forwards the shopper's address only on some calls. An application flagged
`storefront_server` that proves itself with its own token is limited per shopper address it forwards,
else against a budget of its own (`per_storefront_server`), never per its own address; everyone else
(other applications, a shopper's ticket of the flagged application) keeps the per-address limits,
whatever forwarding headers it sends.

No trusted proxy is configured here (except where a test says so): the test client's peer, 127.0.0.1,
is the storefront server's address and the browser's alike. Refill rates are slow enough that no
token comes back while a test runs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.login_support import admin_headers, change_path, state
from tests.api.support import ANONYMOUS, REFRESH, assert_error, login, ok, register
from tests.api.test_lockout import set_tenant
from tests.api.test_rate_limits import bucket, set_limits
from tests.api.test_sessions import sessions_path
from tests.conftest import PASSWORD, TENANT, app_token, headers
from ticketbooth.applications import admin
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.policies import STOREFRONT_SERVER_SCALE, TenantSettings
from ticketbooth.login import limits

pytestmark = pytest.mark.usefixtures("seeded")

SERVER = ("server.app", "server-secret-0123456789abcdef")
EMAIL = "shopper@example.com"


@pytest.fixture
async def server_headers(core: Core, client: httpx.AsyncClient) -> dict[str, str]:
    """The app headers of a storefront server: an application flagged as one, with its own token."""
    await admin.save_application(core, TENANT, *SERVER, [], storefront_server=True)
    return headers(await app_token(client, SERVER))


def forwarding(hdrs: dict[str, str], address: str, header: str = "X-Forwarded-For") -> dict[str, str]:
    return {**hdrs, header: address}


def limited_as(r: httpx.Response, words: str) -> None:
    body = assert_error(r, 429, "TOO_MANY_REQUESTS")
    assert words in body["message"], body


# -- a busy storefront is not throttled by its own address ----------------------------------------------

async def test_a_servers_anonymous_tickets_from_one_address_are_not_limited_per_address(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str], server_headers: dict[str, str]) -> None:
    await set_limits(core, anonymous={"per_address": bucket(3), "per_storefront_server": bucket(20)})
    for _ in range(15):  # five times the address's bucket, from the same one address
        ok(await client.get(ANONYMOUS, headers=server_headers))
    # the server spent nothing of its address's bucket: another app at that address still has all of it
    for _ in range(3):
        ok(await client.get(ANONYMOUS, headers=app_headers))
    limited_as(await client.get(ANONYMOUS, headers=app_headers), "from this address")
    # the server's own budget is what bounds it
    for _ in range(5):
        ok(await client.get(ANONYMOUS, headers=server_headers))
    limited_as(await client.get(ANONYMOUS, headers=server_headers), "from this storefront server")


async def test_a_servers_refreshes_from_one_address_are_not_limited_per_address(
        core: Core, client: httpx.AsyncClient, server_headers: dict[str, str]) -> None:
    await set_limits(core, refresh={"per_address": bucket(2), "per_account": None},
                     anonymous={"per_address": bucket(2)})
    tokens = [ok(await client.get(ANONYMOUS, headers=server_headers))["refreshToken"] for _ in range(6)]
    for token in tokens:  # every shopper's anonymous ticket refreshed by the server
        ok(await client.put(REFRESH, headers=server_headers, params={"refreshToken": token}))


async def test_forwarded_shopper_addresses_each_get_the_per_address_limits(
        core: Core, client: httpx.AsyncClient, server_headers: dict[str, str]) -> None:
    await set_limits(core, anonymous={"per_address": bucket(2)})
    for header in ("X-Forwarded-For", "Forwarded"):
        one, two = ("198.51.100.1", "198.51.100.2") if header == "X-Forwarded-For" else ("for=198.51.100.3",
                                                                                         'for="[2001:db8:1::7]:4711"')
        for _ in range(2):
            ok(await client.get(ANONYMOUS, headers=forwarding(server_headers, one, header)))
        limited_as(await client.get(ANONYMOUS, headers=forwarding(server_headers, one, header)), "from this address")
        ok(await client.get(ANONYMOUS, headers=forwarding(server_headers, two, header)))
    # a call that forwards no address is counted against the server's budget alone
    for _ in range(4):
        ok(await client.get(ANONYMOUS, headers=server_headers))


async def test_made_up_forwarded_addresses_cannot_get_past_the_servers_budget(
        core: Core, client: httpx.AsyncClient, server_headers: dict[str, str]) -> None:
    """A storefront that passes on whatever address its visitors claim hands each made-up address a
    bucket of its own; the application's budget still bounds them all together."""
    await set_limits(core, anonymous={"per_address": bucket(2), "per_storefront_server": bucket(5)})
    for i in range(5):
        ok(await client.get(ANONYMOUS, headers=forwarding(server_headers, f"203.0.113.{i}")))
    limited_as(await client.get(ANONYMOUS, headers=forwarding(server_headers, "203.0.113.99")),
               "from this storefront server")


async def test_an_unusable_forwarded_address_counts_as_none(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str], server_headers: dict[str, str]) -> None:
    """Not an address (or one with an IPv6 zone, which could be of any length): the call is counted as
    one that forwards nothing, never a 500, never the server's address."""
    await set_limits(core, anonymous={"per_address": bucket(1)})
    for value in ("unknown", "not an address", "fe80::1%" + "x" * 200, "198.51.100.1:80", " , "):
        ok(await client.get(ANONYMOUS, headers=forwarding(server_headers, value)))
    for value in ("for=unknown", "for=_hidden", 'for="[fe80::1%25eth0]"', "for=2001:db8::1", "by=198.51.100.1"):
        ok(await client.get(ANONYMOUS, headers=forwarding(server_headers, value, "Forwarded")))
    ok(await client.get(ANONYMOUS, headers=app_headers))  # the server's address bucket is still full


# -- the attacks: a browser forging the forwarding headers ------------------------------------------------

async def test_a_browser_of_an_unflagged_app_forging_forwarded_addresses_is_limited_by_its_own(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str], server_headers: dict[str, str]) -> None:
    await set_limits(core, anonymous={"per_address": bucket(3)})
    for i in range(3):
        ok(await client.get(ANONYMOUS, headers=forwarding(app_headers, f"198.51.100.{i}")))
    limited_as(await client.get(ANONYMOUS, headers=forwarding(app_headers, "198.51.100.9")), "from this address")
    limited_as(await client.get(ANONYMOUS, headers=forwarding(app_headers, "for=198.51.100.8", "Forwarded")),
               "from this address")


async def test_a_browser_with_a_servers_shopper_ticket_forging_forwarded_addresses_is_limited_by_its_own(
        core: Core, client: httpx.AsyncClient, server_headers: dict[str, str]) -> None:
    """A shopper's ticket JWT of the storefront server's application, sent alone as Bearer (as from a
    browser), does not prove the application: the forwarded addresses it sends are not believed, and
    its password guesses (Change-Password with the old password) spend its own address's bucket."""
    account_id = int((await register(client, server_headers, EMAIL))["customerAccount"]["id"])
    jwt = ok(await client.get(ANONYMOUS, headers=server_headers))["jwtAccessToken"]
    await set_tenant(core, rate_limits={"login": {"per_address": bucket(3), "per_storefront_server": bucket(100)}},
                     lockout={"max_failed_logins": 100, "max_failed_logins_per_address": 100})
    browser = headers(jwt)

    async def guess(address: str) -> httpx.Response:
        return await client.post(change_path(account_id), headers=forwarding(browser, address),
                                 json={"oldPassword": "a wrong guess", "newPassword": "a brand new passphrase"})

    for i in range(3):
        assert_error(await guess(f"198.51.100.{i}"), 401, "INVALID_CREDENTIALS")
    limited_as(await guess("198.51.100.9"), "from this address")
    # the server itself, proving its application, is not limited by that address
    assert_error(await client.post(change_path(account_id), headers=server_headers, json={
        "oldPassword": "a wrong guess", "newPassword": "a brand new passphrase"}), 401, "INVALID_CREDENTIALS")


async def test_the_forwarded_address_is_believed_only_with_the_applications_own_credential(core: Core) -> None:
    await admin.save_application(core, TENANT, *SERVER, [], storefront_server=True)
    tenant = await core.directory.tenant(TENANT)
    server = await core.directory.application(SERVER[0])
    plain = await core.directory.application("storefront.app")
    assert tenant is not None and server is not None and plain is not None and tenant.default_site_id is not None
    site = await core.directory.site(tenant.default_site_id)
    assert site is not None and server.storefront_server and not plain.storefront_server

    def caller(app: Any, proven: bool) -> Caller:
        return Caller(app=app, tenant=tenant, site=site, client_address="192.0.2.1", app_credential=proven,
                      forwarded_for="198.51.100.1")

    believed = caller(server, True)
    assert believed.storefront_server and (believed.client_address, believed.forwarded_for) == ("198.51.100.1",) * 2
    for app, proven in ((server, False), (plain, True), (plain, False)):
        dropped = caller(app, proven)
        assert not dropped.storefront_server
        assert (dropped.client_address, dropped.forwarded_for) == ("192.0.2.1", "")


# -- what stays as it was -------------------------------------------------------------------------------------

async def test_per_account_limits_apply_through_the_server(
        core: Core, client: httpx.AsyncClient, server_headers: dict[str, str]) -> None:
    await register(client, server_headers, EMAIL)
    await set_limits(core, login={"per_account": bucket(2)})
    for i in range(2):  # from two forwarded addresses
        assert_error(await login(client, forwarding(server_headers, f"203.0.113.{i}"), EMAIL, "wrong"), 401)
    limited_as(await login(client, forwarding(server_headers, "198.51.100.1"), EMAIL, PASSWORD), "for this account")
    limited_as(await login(client, server_headers, EMAIL, PASSWORD), "for this account")


async def test_lockout_applies_through_the_server(
        core: Core, client: httpx.AsyncClient, server_headers: dict[str, str]) -> None:
    account_id = int((await register(client, server_headers, EMAIL))["customerAccount"]["id"])
    await set_tenant(core, lockout={"max_failed_logins": 3, "lock_minutes": 30, "max_failed_logins_per_address": 100})
    for i in range(3):  # forwarded or not, every failure counts against the account
        hdrs = forwarding(server_headers, f"203.0.113.{i}") if i else server_headers
        assert_error(await login(client, hdrs, EMAIL, "wrong"), 401, "INVALID_CREDENTIALS")
    assert_error(await login(client, forwarding(server_headers, "198.51.100.1"), EMAIL, PASSWORD), 401,
                 "INVALID_CREDENTIALS")
    assert (await state(client, await admin_headers(client), account_id))["isLocked"] is True


async def test_the_lockout_allowance_counts_the_forwarded_shopper_address(
        core: Core, client: httpx.AsyncClient, server_headers: dict[str, str]) -> None:
    """The per-address failure allowance is the forwarded shopper's: a guesser's failures do not keep
    the owner, calling through the same server, out."""
    await register(client, server_headers, EMAIL)
    await set_tenant(core, lockout={"max_failed_logins": 10, "max_failed_logins_per_address": 2})
    guesser, owner = forwarding(server_headers, "203.0.113.7"), forwarding(server_headers, "198.51.100.20")
    for _ in range(3):
        assert_error(await login(client, guesser, EMAIL, "wrong"), 401, "INVALID_CREDENTIALS")
    assert_error(await login(client, guesser, EMAIL, PASSWORD), 401, "INVALID_CREDENTIALS")  # its allowance is spent
    ok(await login(client, owner, EMAIL, PASSWORD))


async def test_sessions_record_the_forwarded_shopper_address(
        client: httpx.AsyncClient, server_headers: dict[str, str]) -> None:
    account_id = int((await register(client, server_headers, EMAIL))["customerAccount"]["id"])
    ok(await login(client, forwarding(server_headers, "198.51.100.20"), EMAIL))
    page = ok(await client.get(sessions_path(account_id), headers=await admin_headers(client)))
    # the login's session has the shopper's address, the registration's (nothing forwarded) the server's
    assert sorted(s["clientAddress"] for s in page["items"]) == ["127.0.0.1", "198.51.100.20"]


async def test_behind_a_trusted_proxy_the_hop_left_of_the_server_is_its_forwarded_address(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str], server_headers: dict[str, str]) -> None:
    """Ticketbooth behind its own proxy (127.0.0.1, trusted), the storefront server at 10.9.9.9: the proxy
    appends the server's address to what the server sent."""
    core.settings.trusted_proxies = "127.0.0.1"
    await set_limits(core, anonymous={"per_address": bucket(1)})
    ok(await client.get(ANONYMOUS, headers=forwarding(server_headers, "198.51.100.1, 10.9.9.9")))
    limited_as(await client.get(ANONYMOUS, headers=forwarding(server_headers, "198.51.100.1, 10.9.9.9")),
               "from this address")
    ok(await client.get(ANONYMOUS, headers=forwarding(server_headers, "198.51.100.2, 10.9.9.9")))
    for _ in range(3):  # forwarding nothing: the server's budget, not 10.9.9.9's bucket
        ok(await client.get(ANONYMOUS, headers=forwarding(server_headers, "10.9.9.9")))
    # another application at the server's address is that address, whatever it puts to the left
    ok(await client.get(ANONYMOUS, headers=forwarding(app_headers, "198.51.100.3, 10.9.9.9")))
    limited_as(await client.get(ANONYMOUS, headers=forwarding(app_headers, "198.51.100.4, 10.9.9.9")),
               "from this address")


# -- the setting ------------------------------------------------------------------------------------------------

def test_the_default_budget_carries_a_busy_storefront() -> None:
    """300 new visitors a second, each with an anonymous ticket, fit in the default budget three times
    over; every class has a budget, STOREFRONT_SERVER_SCALE times its per-address bucket."""
    rules = TenantSettings().rate_limits
    assert rules.anonymous.per_storefront_server is not None
    assert rules.anonymous.per_storefront_server.per_second >= 3 * 300
    for limit in limits.Limit:
        one = rules.of(limit.value)
        assert one.per_address is not None and one.per_storefront_server is not None
        assert one.per_storefront_server.capacity == one.per_address.capacity * STOREFRONT_SERVER_SCALE
        assert one.per_storefront_server.per_minute == one.per_address.per_minute * STOREFRONT_SERVER_SCALE


async def test_the_flag_is_kept_until_changed(core: Core) -> None:
    made = await admin.save_application(core, TENANT, *SERVER, [], storefront_server=True)
    assert made["storefrontServer"] is True and made["created"] is True
    again = await admin.save_application(core, TENANT, SERVER[0], "a new secret for the server", [])
    assert again["storefrontServer"] is True  # a new secret does not drop it
    off = await admin.save_application(core, TENANT, *SERVER, [], storefront_server=False)
    assert off["storefrontServer"] is False
    stored = await core.store.get_application(SERVER[0])
    assert stored is not None and not stored.storefront_server
    plain = await core.store.get_application("storefront.app")
    assert plain is not None and not plain.storefront_server


async def test_switching_the_flag_off_brings_the_per_address_limits_back(
        core: Core, client: httpx.AsyncClient, server_headers: dict[str, str]) -> None:
    await set_limits(core, anonymous={"per_address": bucket(2)})
    for i in range(4):
        ok(await client.get(ANONYMOUS, headers=forwarding(server_headers, f"198.51.100.{i}")))
    await admin.save_application(core, TENANT, *SERVER, [], storefront_server=False)
    for i in range(2):
        ok(await client.get(ANONYMOUS, headers=forwarding(server_headers, f"198.51.100.{i}")))
    limited_as(await client.get(ANONYMOUS, headers=forwarding(server_headers, "198.51.100.7")), "from this address")
