"""Rate limits over HTTP (in-process limiter): 429 TOO_MANY_REQUESTS with Retry-After in the Kibo
envelope for each class of endpoint, per client address (varied with X-Forwarded-For through a trusted
proxy: the test client's peer is 127.0.0.1) and per account, per tenant, with the admin exemption and
the explicit switch-off. Refill rates in these tests are slow enough (at most one token a minute)
that real time passing during a test cannot hand out a token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from tests.api.parts_support import admin_headers
from tests.api.support import (
    ANONYMOUS,
    LOGIN,
    REFRESH,
    REGISTER,
    RESET_PASSWORD,
    UPDATE_FORGOTTEN_PASSWORD,
    assert_error,
    ok,
    register,
)
from tests.conftest import OTHER, OTHER_SITE, OTHER_TENANT, PASSWORD, TENANT, app_token, headers
from ticketbooth.caller import Caller
from ticketbooth.config import Settings
from ticketbooth.core import Core
from ticketbooth.db import tables
from ticketbooth.domain.errors import TooManyRequests
from ticketbooth.domain.policies import RATE_LIMIT_DEFAULTS, TenantSettings
from ticketbooth.login import limits

pytestmark = pytest.mark.usefixtures("seeded")

CUSTOMER = "/api/commerce/customer"
SLOW = 0.001  # tokens a minute: none come back while a test runs


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", refresh_grace_seconds=10,
                    trusted_proxies="127.0.0.1")


def at(hdrs: dict[str, str], address: str) -> dict[str, str]:
    """`hdrs` as sent by a client at `address` through the trusted proxy."""
    return {**hdrs, "X-Forwarded-For": address}


async def set_limits(core: Core, tenant: int = TENANT, **classes: Any) -> None:
    async with core.store.engine.begin() as conn:
        current = (await conn.execute(select(tables.tenants.c.settings).where(tables.tenants.c.id == tenant))).scalar_one()
        await conn.execute(update(tables.tenants).where(tables.tenants.c.id == tenant).values(
            settings={**current, "rate_limits": classes}))
    core.directory.forget()


def bucket(capacity: int, per_minute: float = SLOW) -> dict[str, float]:
    return {"capacity": capacity, "per_minute": per_minute}


def assert_limited(r: httpx.Response, side: str = "address") -> int:
    """A 429 in the Kibo envelope with a whole number of seconds in Retry-After; returns them."""
    body = assert_error(r, 429, "TOO_MANY_REQUESTS")
    assert body["message"].startswith("Too Many Requests: ")
    assert f"for this {side}" in body["message"] or f"from this {side}" in body["message"], body
    retry_after = int(r.headers["Retry-After"])
    assert retry_after >= 1
    return retry_after


def not_limited(r: httpx.Response) -> httpx.Response:
    assert r.status_code != 429, r.text
    return r


# -- per address, each class --------------------------------------------------------------------------

Send = Callable[[httpx.AsyncClient, dict[str, str], int], Awaitable[httpx.Response]]


async def _anonymous(client: httpx.AsyncClient, hdrs: dict[str, str], i: int) -> httpx.Response:
    return await client.get(ANONYMOUS, headers=hdrs)


async def _login(client: httpx.AsyncClient, hdrs: dict[str, str], i: int) -> httpx.Response:
    return await client.post(LOGIN, headers=hdrs, json={"username": f"nobody{i}@example.com", "password": PASSWORD})


async def _refresh(client: httpx.AsyncClient, hdrs: dict[str, str], i: int) -> httpx.Response:
    return await client.put(REFRESH, headers=hdrs, params={"refreshToken": f"{i:032x}"})


async def _register(client: httpx.AsyncClient, hdrs: dict[str, str], i: int) -> httpx.Response:
    return await client.post(REGISTER, headers=hdrs, json={"account": {"emailAddress": f"new{i}@example.com"},
                                                           "password": PASSWORD})


async def _reset(client: httpx.AsyncClient, hdrs: dict[str, str], i: int) -> httpx.Response:
    return await client.post(RESET_PASSWORD, headers=hdrs, json={"emailAddress": f"nobody{i}@example.com"})


async def _update_forgotten(client: httpx.AsyncClient, hdrs: dict[str, str], i: int) -> httpx.Response:
    return await client.post(UPDATE_FORGOTTEN_PASSWORD, headers=hdrs, json={"userName": f"nobody{i}@example.com",
                                                         "confirmationCode": f"{i:032x}", "newPassword": "a new passphrase"})


CLASSES: list[tuple[str, Send, int]] = [  # (class, a request of it naming a new account each time, usual status)
    ("anonymous", _anonymous, 200),
    ("login", _login, 401),
    ("refresh", _refresh, 401),
    ("registration", _register, 200),
    ("password_reset", _reset, 200),
    ("password_reset", _update_forgotten, 400),
]


@pytest.mark.parametrize(("name", "send", "usual"), CLASSES, ids=[c[1].__name__.strip("_") for c in CLASSES])
async def test_each_class_is_limited_per_address(core: Core, client: httpx.AsyncClient, app_headers: dict[str, str],
                                                 name: str, send: Send, usual: int) -> None:
    await set_limits(core, **{name: {"per_address": bucket(3, 1), "per_account": None}})
    alice, bob = at(app_headers, "198.51.100.1"), at(app_headers, "198.51.100.2")
    for i in range(3):
        assert (await send(client, alice, i)).status_code == usual
    r = await send(client, alice, 3)
    assert 55 <= assert_limited(r) <= 60  # one token a minute
    assert (await send(client, bob, 4)).status_code == usual  # another address has its own bucket
    assert_limited(await send(client, alice, 5))  # still empty: a refusal gave nothing back


async def test_other_classes_and_other_tenants_have_their_own_buckets(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await set_limits(core, anonymous={"per_address": bucket(1)})
    await set_limits(core, OTHER_TENANT, anonymous={"per_address": bucket(1)})
    here = at(app_headers, "198.51.100.1")
    ok(await client.get(ANONYMOUS, headers=here))
    assert_limited(await client.get(ANONYMOUS, headers=here))
    assert (await _login(client, here, 0)).status_code == 401  # login is another class
    other = at(headers(await app_token(client, OTHER), OTHER_TENANT, OTHER_SITE), "198.51.100.1")
    ok(await client.get(ANONYMOUS, headers=other))  # the same address at another tenant
    assert_limited(await client.get(ANONYMOUS, headers=other))


async def test_the_address_is_the_peer_unless_the_peer_is_a_trusted_proxy(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await set_limits(core, anonymous={"per_address": bucket(1)})
    ok(await client.get(ANONYMOUS, headers=at(app_headers, "198.51.100.1")))
    # a client adding its own hop to the left does not get out of its bucket
    assert_limited(await client.get(ANONYMOUS, headers=at(app_headers, "203.0.113.9, 198.51.100.1")))
    core.settings.trusted_proxies = ""  # nothing is believed now: every request is the peer's (127.0.0.1)
    ok(await client.get(ANONYMOUS, headers=at(app_headers, "198.51.100.7")))
    assert_limited(await client.get(ANONYMOUS, headers=at(app_headers, "198.51.100.8")))


# -- per account ------------------------------------------------------------------------------------------

async def test_login_is_limited_per_account_from_any_address_and_alike_for_unknown_accounts(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await register(client, app_headers, "known@example.com")
    await set_limits(core, login={"per_account": bucket(3)})
    for user in ("known@example.com", "unknown@example.com"):
        answers = [await client.post(LOGIN, headers=at(app_headers, f"198.51.100.{i}"),
                                     json={"username": user, "password": "not the password"}) for i in range(3)]
        assert [r.status_code for r in answers] == [401, 401, 401]
        body = assert_error(await client.post(LOGIN, headers=at(app_headers, "198.51.100.99"),
                                              json={"username": user, "password": PASSWORD}), 429)
        assert body["message"] == ("Too Many Requests: too many login attempts for this account; "
                                   "retry in 60000 seconds")  # the same words for both: no enumeration
    # the login key is compared as logins are: case and width do not make a new bucket
    assert_limited(await client.post(LOGIN, headers=at(app_headers, "198.51.100.50"),
                                     json={"username": " KNOWN@example.com", "password": PASSWORD}), "account")
    assert (await client.post(LOGIN, headers=app_headers,
                              json={"username": "other@example.com", "password": "x"})).status_code == 401


async def test_a_correct_password_waits_like_any_other_once_the_account_bucket_is_empty(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    """The account's bucket counts failed logins only: the owner's own logins never use it up. Once
    failures have emptied it, the right password is refused before it is looked at: the limit cannot
    be used to test passwords."""
    await register(client, app_headers, "known@example.com")
    await set_limits(core, login={"per_account": bucket(2)})
    for _ in range(3):
        ok(await client.post(LOGIN, headers=app_headers, json={"username": "known@example.com", "password": PASSWORD}))
    for i in range(2):
        assert_error(await client.post(LOGIN, headers=at(app_headers, f"198.51.100.{i}"),
                                       json={"username": "known@example.com", "password": "wrong"}), 401)
    assert_limited(await client.post(LOGIN, headers=app_headers,
                                     json={"username": "known@example.com", "password": PASSWORD}), "account")


async def test_one_address_cannot_empty_an_accounts_login_bucket(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    """Failures count against the login name only while the address still has failures to spend on
    it (lockout.max_failed_logins_per_address): an attacker at one address cannot keep the owner
    out by emptying the name's bucket."""
    await register(client, app_headers, "known@example.com")
    await set_limits(core, login={"per_account": bucket(8)})
    attacker = at(app_headers, "203.0.113.7")
    for _ in range(12):
        assert_error(await client.post(LOGIN, headers=attacker,
                                       json={"username": "known@example.com", "password": "guess"}), 401)
    ok(await client.post(LOGIN, headers=at(app_headers, "198.51.100.1"),
                         json={"username": "known@example.com", "password": PASSWORD}))


async def test_refresh_is_limited_per_token_family(core: Core, client: httpx.AsyncClient,
                                                   app_headers: dict[str, str]) -> None:
    await set_limits(core, refresh={"per_account": bucket(2)})
    first = ok(await client.get(ANONYMOUS, headers=app_headers))
    other = ok(await client.get(ANONYMOUS, headers=app_headers))
    token = first["refreshToken"]
    for i in range(2):
        token = ok(await client.put(REFRESH, headers=at(app_headers, f"198.51.100.{i}"),
                                    params={"refreshToken": token}))["refreshToken"]
    assert_limited(await client.put(REFRESH, headers=at(app_headers, "198.51.100.9"), params={"refreshToken": token}),
                   "account")
    ok(await client.put(REFRESH, headers=app_headers, params={"refreshToken": other["refreshToken"]}))
    # the refused token was not spent: it works once the family's bucket refills
    await set_limits(core, refresh={"enabled": False})
    ok(await client.put(REFRESH, headers=app_headers, params={"refreshToken": token}))


async def test_registration_and_reset_are_limited_per_email(core: Core, client: httpx.AsyncClient,
                                                            app_headers: dict[str, str]) -> None:
    await set_limits(core, registration={"per_account": bucket(2)}, password_reset={"per_account": bucket(2)})
    body = {"account": {"emailAddress": "taken@example.com"}, "password": PASSWORD}
    ok(await client.post(REGISTER, headers=at(app_headers, "198.51.100.1"), json=body))
    assert_error(await client.post(REGISTER, headers=at(app_headers, "198.51.100.2"), json=body), 409)
    assert_limited(await client.post(REGISTER, headers=at(app_headers, "198.51.100.3"), json=body), "account")
    for user in ("taken@example.com", "nobody@example.com"):  # the same for an account that does not exist
        assert (await _reset_as(client, app_headers, user, "198.51.100.4")).status_code == 200
        assert (await _reset_as(client, app_headers, user, "198.51.100.5")).status_code == 200
        assert_limited(await _reset_as(client, app_headers, user, "198.51.100.6"), "account")
    # Update-Forgotten-Password draws on the same bucket as the request
    r = await client.post(UPDATE_FORGOTTEN_PASSWORD, headers=app_headers, json={"userName": "taken@example.com",
                                                            "confirmationCode": "0" * 32, "newPassword": "a new passphrase"})
    assert_limited(r, "account")


async def _reset_as(client: httpx.AsyncClient, hdrs: dict[str, str], email: str, address: str) -> httpx.Response:
    return await client.post(RESET_PASSWORD, headers=at(hdrs, address), json={"emailAddress": email})


# -- the admin exemption and switching off ------------------------------------------------------------

async def test_admin_applications_skip_the_address_bucket_but_not_the_account_bucket(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await set_limits(core, registration={"per_address": bucket(2), "per_account": bucket(2)})
    admin = await admin_headers(client)
    for i in range(5):  # a back office adding accounts for everyone, from one address
        r = await client.post(f"{CUSTOMER}/accounts", headers=admin, json={"emailAddress": f"crm{i}@example.com"})
        assert r.status_code == 200, r.text
    account_id = r.json()["id"]
    for _ in range(2):
        r = await client.post(f"{CUSTOMER}/accounts/{account_id}/Create-Login", headers=admin,
                              json={"emailAddress": "crm4@example.com", "username": "crm4", "password": "short"})
        assert r.status_code == 400, r.text
    r = await client.post(f"{CUSTOMER}/accounts/{account_id}/Create-Login", headers=admin,
                          json={"emailAddress": "crm4@example.com", "username": "crm4", "password": PASSWORD})
    assert_limited(r, "account")
    # the storefront, at the same address, is limited
    ok(await _register(client, app_headers, 10))
    ok(await _register(client, app_headers, 11))
    assert_limited(await _register(client, app_headers, 12))


async def test_a_class_is_off_only_when_switched_off(core: Core, client: httpx.AsyncClient,
                                                     app_headers: dict[str, str]) -> None:
    await set_limits(core, anonymous={"enabled": False, "per_address": bucket(1)})
    for _ in range(5):
        ok(await client.get(ANONYMOUS, headers=app_headers))
    await set_limits(core, anonymous={"per_address": bucket(1)})  # the setting alone switches it back on
    ok(await client.get(ANONYMOUS, headers=app_headers))
    assert_limited(await client.get(ANONYMOUS, headers=app_headers))


async def test_the_defaults_stop_the_eleventh_failed_login_to_one_account_in_a_minute(
        client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await register(client, app_headers, "busy@example.com")
    for i in range(10):  # the owner logs in as often as they like
        ok(await client.post(LOGIN, headers=at(app_headers, f"198.51.100.{i}"),
                             json={"username": "busy@example.com", "password": PASSWORD}))
    for i in range(10):  # ten failures from ten addresses empty the name's bucket
        assert_error(await client.post(LOGIN, headers=at(app_headers, f"198.51.100.{i}"),
                                       json={"username": "busy@example.com", "password": "guess"}), 401)
    r = await client.post(LOGIN, headers=at(app_headers, "198.51.100.20"),
                          json={"username": "busy@example.com", "password": PASSWORD})
    assert 55 <= assert_limited(r, "account") <= 60
    for i in range(50):  # while anonymous tickets from one storefront address flow freely
        ok(await client.get(ANONYMOUS, headers=app_headers))


def test_the_defaults_are_on_for_every_class() -> None:
    rules = TenantSettings().rate_limits
    for limit in limits.Limit:
        one = rules.of(limit.value)
        assert one.enabled and one.per_address is not None
        # no account bucket where no account is named: anonymous tickets; federation (the state and the exchange code,
        # the only keys before the account is known, are unguessable and single use)
        assert (one.per_account is None) == (limit in (limits.Limit.ANONYMOUS, limits.Limit.FEDERATION))
    assert set(RATE_LIMIT_DEFAULTS) == {limit.value.replace("-", "_") for limit in limits.Limit}


# -- code requests (called by the 2FA / OTP flows) ----------------------------------------------------------

async def test_code_requests_are_limited_per_address_and_per_account(core: Core) -> None:
    await set_limits(core, code_request={"per_address": bucket(3), "per_account": bucket(2)})
    tenant = await core.directory.tenant(TENANT)
    app = await core.directory.application("storefront.app")
    assert tenant is not None and app is not None and tenant.default_site_id is not None
    site = await core.directory.site(tenant.default_site_id)
    assert site is not None

    def caller(address: str) -> Caller:
        return Caller(app=app, tenant=tenant, site=site, client_address=address)

    await limits.check(core, caller("198.51.100.1"), limits.Limit.CODE_REQUEST, account_key="42")
    await limits.check(core, caller("198.51.100.2"), limits.Limit.CODE_REQUEST, account_key="42")
    with pytest.raises(TooManyRequests) as refused:
        await limits.check(core, caller("198.51.100.3"), limits.Limit.CODE_REQUEST, account_key="42")
    assert "for this account" in refused.value.message and refused.value.retry_after > 60
    await limits.check(core, caller("198.51.100.1"), limits.Limit.CODE_REQUEST, account_key="43")
    await limits.check(core, caller("198.51.100.1"), limits.Limit.CODE_REQUEST)
    with pytest.raises(TooManyRequests) as refused:
        await limits.check(core, caller("198.51.100.1"), limits.Limit.CODE_REQUEST)
    assert "from this address" in refused.value.message


async def test_bad_rate_limit_settings_are_refused() -> None:
    from pydantic import ValidationError

    for bad in ({"login": {"per_account": {"capacity": 0, "per_minute": 1}}},
                {"login": {"per_account": {"capacity": 1, "per_minute": 0}}},
                {"logins": {}}, {"login": {"per_adress": None}}, {"anonymous": {"per_account": {"capacity": 3}}}):
        with pytest.raises(ValidationError):
            TenantSettings.model_validate({"rate_limits": bad})
    one = TenantSettings.model_validate({"rate_limits": {"login": {"per_account": {"capacity": 20}}}}).rate_limits.login
    assert one.per_account is not None and (one.per_account.capacity, one.per_account.per_minute) == (20, 1)
