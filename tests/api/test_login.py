"""Logging in (POST /api/commerce/customer/authtickets) and using the shopper's access token."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from tests.api.support import CURRENT, LOGIN, TICKET_KEYS, assert_error, kibo_date, login, ok, register
from tests.conftest import (
    OTHER,
    OTHER_SITE,
    OTHER_TENANT,
    PASSWORD,
    SITE_OTHER_SET,
    SITE_SAME_SET,
    TENANT,
    app_token,
    headers,
)
from ticketbooth.core import Core
from ticketbooth.db import tables
from ticketbooth.domain.models import NewAccount
from ticketbooth.domain.policies import login_key
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.tokens import new_hex

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "Ann.Shopper@Example.com"


async def _insert_account(core: Core, email: str, *, active: bool = True) -> int:
    tenant = await core.store.get_tenant(TENANT)
    assert tenant is not None
    return await core.store.insert_account(NewAccount(
        tenant_id=TENANT, customer_set_id=tenant.default_customer_set_id, user_id=new_hex(16), email=email,
        email_key=login_key(email), username=email, username_key=login_key(email),
        password_hash=await core.hashing.hash(PASSWORD), is_active=active,
    ), core.clock.now())


async def test_login_by_email_any_case(client: httpx.AsyncClient, app_headers: dict[str, str],
                                       clock: ManualClock) -> None:
    reg = await register(client, app_headers, EMAIL, firstName="Ann")
    for name in (EMAIL, EMAIL.lower(), EMAIL.upper(), f"  {EMAIL}  "):
        t = ok(await login(client, app_headers, name))
        assert set(t) == TICKET_KEYS
        assert t["userId"] == reg["userId"]
        assert t["customerAccount"]["id"] == reg["customerAccount"]["id"]
        assert t["customerAccount"]["emailAddress"] == EMAIL
        assert t["customerAccount"]["firstName"] == "Ann"
        assert t["requires2FA"] is False
        assert kibo_date(t["accessTokenExpiration"]) == clock.now() + timedelta(minutes=15)


async def test_login_by_email_address_field(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    reg = await register(client, app_headers, EMAIL)
    r = await client.post(LOGIN, headers=app_headers, json={"emailAddress": EMAIL.lower(), "password": PASSWORD})
    assert ok(r)["userId"] == reg["userId"]


async def test_login_by_username(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    reg = await register(client, app_headers, EMAIL, userName="ann_s")
    assert reg["customerAccount"]["userName"] == "ann_s"
    assert ok(await login(client, app_headers, "ann_s"))["userId"] == reg["userId"]
    assert ok(await login(client, app_headers, "ANN_S"))["userId"] == reg["userId"]
    assert ok(await login(client, app_headers, EMAIL))["userId"] == reg["userId"]


async def test_every_refusal_is_the_same_invalid_credentials(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                             core: Core) -> None:
    await register(client, app_headers, EMAIL)
    await _insert_account(core, "inactive@example.com", active=False)
    locked_id = await _insert_account(core, "locked@example.com")
    async with core.store.engine.begin() as conn:
        await conn.execute(update(tables.accounts).where(tables.accounts.c.id == locked_id).values(is_locked=True))
    answers = [
        await login(client, app_headers, EMAIL, "the wrong passphrase"),
        await login(client, app_headers, "nobody@example.com"),
        await login(client, app_headers, "inactive@example.com"),
        await login(client, app_headers, "locked@example.com"),
    ]
    bodies = [assert_error(r, 401, "INVALID_CREDENTIALS") for r in answers]
    assert bodies[0]["message"].startswith("Invalid Credentials: ")
    assert all(b == bodies[0] for b in bodies), bodies
    assert len({(r.headers.get("www-authenticate"), r.headers["content-length"]) for r in answers}) == 1
    # the right password still works for the active account
    ok(await login(client, app_headers, EMAIL))


async def test_account_id_mismatch_is_401(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    reg = await register(client, app_headers, EMAIL)
    account_id = reg["customerAccount"]["id"]
    r = await login(client, app_headers, EMAIL, accountId=account_id + 1000)
    assert_error(r, 401, "INVALID_CREDENTIALS")
    assert ok(await login(client, app_headers, EMAIL, accountId=account_id))["customerAccount"]["id"] == account_id


async def test_missing_username_or_password_is_400_naming_it(client: httpx.AsyncClient,
                                                             app_headers: dict[str, str]) -> None:
    cases = [
        ({"password": PASSWORD}, "username"),
        ({"username": "", "password": PASSWORD}, "username"),
        ({"username": EMAIL}, "password"),
        ({"username": EMAIL, "password": ""}, "password"),
        ({}, "username"),
    ]
    for body, field in cases:
        r = await client.post(LOGIN, headers=app_headers, json=body)
        assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", field)


async def test_json_names_are_case_insensitive(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    reg = await register(client, app_headers, EMAIL)
    for body in ({"UserName": EMAIL, "Password": PASSWORD}, {"USERNAME": EMAIL, "PASSWORD": PASSWORD},
                 {"EmailAddress": EMAIL, "password": PASSWORD}):
        assert ok(await client.post(LOGIN, headers=app_headers, json=body))["userId"] == reg["userId"]


MALFORMED = [
    (b"{not json", "body"), (b'{"username": "a"', "body"), (b"[]", "body"), (b'"text"', "body"), (b"42", "body"),
    (b"null", "body"), (b"\xff\xfe{}", "body"), (b'{"a":' * 100 + b"1" + b"}" * 100, "body"),
    (b'{"username": ["a"]}', "username"), (b'{"username": "a", "password": {"x": 1}}', "password"),
    (b'{"accountId": "abc", "username": "a", "password": "b"}', "accountId"),
    (b'{"accountId": -1, "username": "a", "password": "b"}', "accountId"),
]


async def test_malformed_body_is_400_never_500(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    for content, parameter in MALFORMED:
        r = await client.post(LOGIN, headers={**app_headers, "Content-Type": "application/json; charset=utf-8"},
                              content=content)
        assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", parameter)


async def test_login_across_sites_of_a_customer_set(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    reg = await register(client, app_headers, EMAIL)
    same = {**app_headers, "x-vol-site": str(SITE_SAME_SET)}
    assert ok(await login(client, same, EMAIL))["userId"] == reg["userId"]
    outlet = {**app_headers, "x-vol-site": str(SITE_OTHER_SET)}
    assert_error(await login(client, outlet, EMAIL), 401, "INVALID_CREDENTIALS")
    # the outlet set has accounts of its own, and the same email may exist there
    outlet_reg = await register(client, outlet, EMAIL, password="another fine passphrase")
    assert outlet_reg["userId"] != reg["userId"]
    assert outlet_reg["customerAccount"]["customerSet"] == "outlet"
    assert ok(await login(client, outlet, EMAIL, "another fine passphrase"))["userId"] == outlet_reg["userId"]
    assert_error(await login(client, app_headers, EMAIL, "another fine passphrase"), 401, "INVALID_CREDENTIALS")


async def test_expired_access_token_is_refused(client: httpx.AsyncClient, app_headers: dict[str, str],
                                               clock: ManualClock) -> None:
    t = await register(client, app_headers, EMAIL)
    claims = {**app_headers, "x-vol-user-claims": t["accessToken"]}
    bearer = {"Authorization": f"Bearer {t['jwtAccessToken']}"}
    ok(await client.get(CURRENT, headers=claims))
    ok(await client.get(CURRENT, headers=bearer))
    clock.advance(timedelta(minutes=16))
    assert_error(await client.get(CURRENT, headers=claims), 401, "INVALID_ACCESS_TOKEN")
    assert_error(await client.get(CURRENT, headers=bearer), 401)
    # the ticket JWT in x-vol-user-claims is refused the same way
    jwt_claims = {**app_headers, "x-vol-user-claims": t["jwtAccessToken"]}
    assert_error(await client.get(CURRENT, headers=jwt_claims), 401, "INVALID_ACCESS_TOKEN")


async def test_ticket_of_one_tenant_refused_by_another(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    t = await register(client, app_headers, EMAIL)
    other = headers(await app_token(client, OTHER), OTHER_TENANT, OTHER_SITE)
    for token in (t["accessToken"], t["jwtAccessToken"]):
        r = await client.get(CURRENT, headers={**other, "x-vol-user-claims": token})
        assert_error(r, 401, "INVALID_ACCESS_TOKEN")
    # nor can the other tenant's app log the shopper in
    assert_error(await login(client, other, EMAIL), 401, "INVALID_CREDENTIALS")


async def test_ticket_of_one_customer_set_refused_by_another(client: httpx.AsyncClient,
                                                             app_headers: dict[str, str]) -> None:
    t = await register(client, app_headers, EMAIL)
    outlet = {**app_headers, "x-vol-site": str(SITE_OTHER_SET)}
    for token in (t["accessToken"], t["jwtAccessToken"]):
        assert_error(await client.get(CURRENT, headers={**outlet, "x-vol-user-claims": token}), 401,
                     "INVALID_ACCESS_TOKEN")
    same = {**app_headers, "x-vol-site": str(SITE_SAME_SET)}
    assert ok(await client.get(CURRENT, headers={**same, "x-vol-user-claims": t["accessToken"]}))["id"] == \
        t["customerAccount"]["id"]


async def test_login_records_last_login(client: httpx.AsyncClient, app_headers: dict[str, str], core: Core,
                                        clock: ManualClock) -> None:
    reg = await register(client, app_headers, EMAIL)
    clock.advance(timedelta(minutes=5))
    ok(await login(client, headers(await app_token(client)), EMAIL))
    account = await core.store.get_account(reg["customerAccount"]["id"])
    assert account is not None and account.last_login_at == clock.now()


async def test_a_login_beyond_the_hash_queue_is_refused_before_any_database_work(
        client: httpx.AsyncClient, core: Core, app_headers: dict[str, str]) -> None:
    # every hashing slot busy and no room to wait: the login is a fast 503, and it costs no query
    from tests.unit.test_hashing import Recording
    from ticketbooth.infra.hashing import PasswordHashing

    recording = Recording()
    core.hashing.close()
    core.hashing = PasswordHashing(concurrency=1, queue_limit=0, hasher=recording)  # type: ignore[arg-type]
    lookups = 0
    find_login = core.store.find_login

    async def counting_find_login(*args: object) -> object:
        nonlocal lookups
        lookups += 1
        return await find_login(*args)  # type: ignore[arg-type]

    core.store.find_login = counting_find_login  # type: ignore[method-assign]
    busy = asyncio.create_task(core.hashing.hash(Recording.BLOCKING))
    try:
        assert await asyncio.to_thread(recording.started.wait, 5)
        r = await client.post(LOGIN, headers=app_headers, json={"username": EMAIL, "password": PASSWORD})
        assert_error(r, 503, "SERVICE_UNAVAILABLE")
        assert r.headers["retry-after"] == "1"
        assert lookups == 0
    finally:
        recording.release.set()
        await busy
    r = await client.post(LOGIN, headers=app_headers, json={"username": EMAIL, "password": PASSWORD})
    assert r.status_code == 401 and lookups == 1  # a slot is free again: the login is looked up and hashed
