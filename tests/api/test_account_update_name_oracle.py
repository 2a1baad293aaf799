"""Changing a login name through `PUT /accounts/{id}` spends the registration limits (issue 13, finding 8).

The answer to such an update tells whether the name asked for is taken (409) or free (200), as
registration's does; without a limit, a shopper could ask about any number of emails from their own
account. Every update that claims a login name the account does not hold yet takes a token from the
registration buckets, per client address and per account (the updated account); an application
with customer:admin skips the per-address bucket only, as it does when it registers. Updates that
claim no new name (the profile alone, or the account sent back as it was read) spend nothing."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from tests.api.parts_support import ACCOUNTS, Shopper, admin_headers, shopper
from tests.api.support import assert_error, ok
from tests.conftest import TENANT
from ticketbooth.config import Settings
from ticketbooth.core import Core
from ticketbooth.db import tables
from ticketbooth.infra.ratelimit import RedisLimiter

pytestmark = pytest.mark.usefixtures("seeded", "limiter")

SLOW = 0.001  # tokens a minute: none come back while a test runs
TAKEN = "taken@example.com"
REDIS_URL = os.environ.get("TICKETBOOTH_TEST_REDIS_URL", "")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", refresh_grace_seconds=10,
                    trusted_proxies="127.0.0.1")


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.skipif(
    not REDIS_URL, reason="TICKETBOOTH_TEST_REDIS_URL is not set"))])
async def limiter(request: pytest.FixtureRequest, core: Core) -> AsyncIterator[str]:
    """Each test with the in-process limiter and with the limiter in Redis (under a key prefix of its own)."""
    if request.param == "redis":
        await core.limiter.close()
        core.limiter = RedisLimiter(REDIS_URL, prefix=f"tb-test:{secrets.token_hex(6)}:")
    yield str(request.param)


def at(hdrs: dict[str, str], address: str) -> dict[str, str]:
    """`hdrs` as sent by a client at `address` through the trusted proxy."""
    return {**hdrs, "X-Forwarded-For": address}


async def limit_registration(core: Core, per_address: int | None, per_account: int | None) -> None:
    """The tenant's registration buckets (None: no such bucket), refilling too slowly to matter."""
    rules = {side: None if capacity is None else {"capacity": capacity, "per_minute": SLOW}
             for side, capacity in (("per_address", per_address), ("per_account", per_account))}
    async with core.store.engine.begin() as conn:
        current = (await conn.execute(select(tables.tenants.c.settings).where(tables.tenants.c.id == TENANT))).scalar_one()
        await conn.execute(update(tables.tenants).where(tables.tenants.c.id == TENANT).values(
            settings={**current, "rate_limits": {"registration": rules}}))
    core.directory.forget()


async def put(client: httpx.AsyncClient, account_id: int, hdrs: dict[str, str], **body: Any) -> httpx.Response:
    return await client.put(f"{ACCOUNTS}/{account_id}", headers=hdrs, json=body)


def assert_limited(r: httpx.Response, side: str) -> None:
    body = assert_error(r, 429, "TOO_MANY_REQUESTS")
    assert body["message"].startswith("Too Many Requests: too many registrations"), body
    assert f"for this {side}" in body["message"] or f"from this {side}" in body["message"], body
    assert int(r.headers["Retry-After"]) >= 1


async def current_names(client: httpx.AsyncClient, account_id: int, hdrs: dict[str, str]) -> tuple[str, str]:
    account = ok(await client.get(f"{ACCOUNTS}/{account_id}", headers=hdrs))
    return account["emailAddress"], account["userName"]


async def test_a_shopper_probing_names_through_their_account_is_refused_past_the_account_bucket(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await shopper(client, app_headers, TAKEN)
    prober = await shopper(client, at(app_headers, "198.51.100.1"), "prober@example.com")
    await limit_registration(core, per_address=None, per_account=3)
    hdrs = at(prober.headers, "198.51.100.1")

    assert_error(await put(client, prober.account_id, hdrs, emailAddress=TAKEN), 409, "VALIDATION_CONFLICT")
    assert ok(await put(client, prober.account_id, hdrs, userName="free.one"))["userName"] == "free.one"
    assert_error(await put(client, prober.account_id, hdrs, userName=TAKEN), 409, "VALIDATION_CONFLICT")
    # the bucket is empty: neither a taken nor a free name is answered, from this address or any other
    for address in ("198.51.100.1", "203.0.113.9"):
        assert_limited(await put(client, prober.account_id, at(prober.headers, address), emailAddress=TAKEN),
                       "account")
        assert_limited(await put(client, prober.account_id, at(prober.headers, address), userName="free.two"),
                       "account")
    assert await current_names(client, prober.account_id, hdrs) == ("prober@example.com", "free.one")
    # what claims no new name still goes through
    assert ok(await put(client, prober.account_id, hdrs, firstName="Pat"))["firstName"] == "Pat"
    assert ok(await put(client, prober.account_id, hdrs, userName="FREE.ONE"))["userName"] == "FREE.ONE"


async def test_probing_from_one_address_is_refused_past_the_address_bucket(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await shopper(client, app_headers, TAKEN)
    accounts: list[Shopper] = [await shopper(client, app_headers, f"prober{i}@example.com") for i in range(3)]
    await limit_registration(core, per_address=3, per_account=None)
    here = "198.51.100.7"

    assert_error(await put(client, accounts[0].account_id, at(accounts[0].headers, here), emailAddress=TAKEN), 409)
    ok(await put(client, accounts[1].account_id, at(accounts[1].headers, here), emailAddress="free1@example.com"))
    assert_error(await put(client, accounts[2].account_id, at(accounts[2].headers, here), userName=TAKEN), 409)
    for each in accounts:  # another account from the same address does not get around it
        assert_limited(await put(client, each.account_id, at(each.headers, here), emailAddress=TAKEN), "address")
    ok(await put(client, accounts[0].account_id, at(accounts[0].headers, "203.0.113.9"),
                 emailAddress="free2@example.com"))


async def test_updates_that_claim_no_new_name_spend_nothing(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    owner = await shopper(client, app_headers, "owner@example.com")
    await limit_registration(core, per_address=1, per_account=1)
    as_read = ok(await client.get(f"{ACCOUNTS}/{owner.account_id}", headers=owner.headers))
    for i in range(4):
        ok(await put(client, owner.account_id, owner.headers, firstName=f"Name {i}"))
        ok(await put(client, owner.account_id, owner.headers, emailAddress=as_read["emailAddress"],
                     userName=as_read["userName"], lastName=f"Last {i}"))
        ok(await put(client, owner.account_id, owner.headers, emailAddress="OWNER@example.com"))  # the same name
    ok(await put(client, owner.account_id, owner.headers, emailAddress="renamed@example.com"))
    assert_limited(await put(client, owner.account_id, owner.headers, emailAddress="again@example.com"), "address")


async def test_an_admin_application_skips_the_address_bucket_but_not_the_account_one(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await shopper(client, app_headers, TAKEN)
    first = await shopper(client, app_headers, "first@example.com")
    second = await shopper(client, app_headers, "second@example.com")
    await limit_registration(core, per_address=1, per_account=2)
    admin = at(await admin_headers(client), "198.51.100.20")

    assert_error(await put(client, first.account_id, admin, emailAddress=TAKEN), 409, "VALIDATION_CONFLICT")
    ok(await put(client, first.account_id, admin, userName="first.renamed"))
    assert_limited(await put(client, first.account_id, admin, emailAddress=TAKEN), "account")
    # another account: the admin's one address is not a limit, that account's bucket is
    assert_error(await put(client, second.account_id, admin, emailAddress=TAKEN), 409, "VALIDATION_CONFLICT")
    ok(await put(client, second.account_id, admin, emailAddress="second.renamed@example.com"))
    assert_limited(await put(client, second.account_id, admin, userName="second.again"), "account")
