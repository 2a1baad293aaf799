"""Imported accounts: isImport with externalPassword (bcrypt, Django and passlib PBKDF2, Argon2 with
other parameters) through Add-Account-And-Login and Create-Login, the first login replacing the
legacy hash with Argon2id, and what is refused at import."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from argon2 import Type

from tests.api.login_support import ACCOUNTS, NEW_PASSWORD, admin_headers, as_shopper, change_path, done, state, stored_hash
from tests.api.support import CURRENT, REGISTER, assert_error, login, ok, register
from tests.conftest import ADMIN, PASSWORD, STOREFRONT, TENANT
from tests.legacy_hash_vectors import (
    DJANGO_MYSTERY,
    PASSLIB_PASSWORD,
    argon2_hash,
    bcrypt_hash,
    django_hash,
    passlib_hash,
)
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import AddCustomerFailed, Forbidden, InvalidParameter
from ticketbooth.login.passwords import secret_for_new_login

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "imported.shopper@example.com"
OLD_PASSWORD = "the password from the old shop"

FORMATS: list[Any] = [
    pytest.param(lambda: (bcrypt_hash(OLD_PASSWORD, prefix=b"2b"), OLD_PASSWORD), id="bcrypt-2b"),
    pytest.param(lambda: (bcrypt_hash(OLD_PASSWORD, prefix=b"2a"), OLD_PASSWORD), id="bcrypt-2a"),
    pytest.param(lambda: ("$2y$" + bcrypt_hash(OLD_PASSWORD)[4:], OLD_PASSWORD), id="bcrypt-2y"),
    pytest.param(lambda: (django_hash(OLD_PASSWORD), OLD_PASSWORD), id="django"),
    pytest.param(lambda: (DJANGO_MYSTERY, "mystery"), id="django-made-by-django"),
    pytest.param(lambda: (passlib_hash(OLD_PASSWORD), OLD_PASSWORD), id="passlib"),
    pytest.param(lambda: (PASSLIB_PASSWORD, "password"), id="passlib-made-by-passlib"),
    pytest.param(lambda: (argon2_hash(OLD_PASSWORD, kind=Type.I), OLD_PASSWORD), id="argon2i"),
    pytest.param(lambda: (argon2_hash(OLD_PASSWORD, kind=Type.ID, memory_kib=512, time_cost=4), OLD_PASSWORD),
                 id="argon2id-other-parameters"),
]


async def _customer_set(core: Core) -> int:
    tenant = await core.store.get_tenant(TENANT)
    assert tenant is not None
    return tenant.default_customer_set_id


async def _import(client: httpx.AsyncClient, hdrs: dict[str, str], external: str | None, email: str = EMAIL,
                  **extra: Any) -> httpx.Response:
    return await client.post(REGISTER, headers=hdrs, json={
        "account": {"emailAddress": email}, "isImport": True, "externalPassword": external, **extra})


@pytest.mark.parametrize("make", FORMATS)
async def test_imported_hash_is_verified_then_replaced_at_first_login(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str],
        make: Callable[[], tuple[str, str]]) -> None:
    external, password = make()
    admin = await admin_headers(client)
    t = ok(await _import(client, admin, external))
    account = t["customerAccount"]
    assert account["hasExternalPassword"] is True
    cs = await _customer_set(core)
    assert await stored_hash(core, cs, EMAIL) == external

    # a wrong password is refused and counted, and changes nothing
    assert_error(await login(client, app_headers, EMAIL, password + "x"), 401, "INVALID_CREDENTIALS")
    assert await stored_hash(core, cs, EMAIL) == external
    assert (await state(client, admin, account["id"]))["failedLoginAttemptCount"] == 1

    first = ok(await login(client, app_headers, EMAIL, password))
    assert first["customerAccount"]["id"] == account["id"]
    assert first["customerAccount"]["hasExternalPassword"] is False
    upgraded = await stored_hash(core, cs, EMAIL)
    assert upgraded is not None and upgraded.startswith("$argon2id$") and upgraded != external
    assert core.hashing.needs_rehash(upgraded) is False
    assert await core.hashing.verify(upgraded, password) is True
    current = ok(await client.get(CURRENT, headers=as_shopper(app_headers, first)))
    assert current["hasExternalPassword"] is False
    # later logins use the new hash; the legacy one is gone for good
    ok(await login(client, app_headers, EMAIL, password))
    assert_error(await login(client, app_headers, EMAIL, password + "x"), 401, "INVALID_CREDENTIALS")
    assert await stored_hash(core, cs, EMAIL) == upgraded


async def test_over_cost_and_malformed_hashes_are_refused_at_import(client: httpx.AsyncClient,
                                                                    app_headers: dict[str, str]) -> None:
    admin = await admin_headers(client)
    body = bcrypt_hash(OLD_PASSWORD)[7:]
    argon2_rest = argon2_hash(OLD_PASSWORD, kind=Type.ID).split("$", 4)[4]
    key = django_hash(OLD_PASSWORD).rsplit("$", 1)[1]
    for external, why in (
        (f"$2b$16${body}", "bcrypt cost"),
        (f"pbkdf2_sha256$5000000$salt${key}", "iterations"),
        (f"$argon2id$v=19$m=2097152,t=1,p=1${argon2_rest}", "memory"),
        (f"$argon2id$v=19$m=65536,t=50,p=1${argon2_rest}", "time cost"),
        ("5f4dcc3b5aa765d61d8327deb882cf99", "not supported"),
        ("$2b$04$tooshort", "malformed"),
        ("", "password is required"),
    ):
        r = await _import(client, admin, external)
        message = assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER")["message"]
        assert why in message, message
    # nothing was created: the email is free
    await register(client, app_headers, EMAIL)


async def test_import_parameters_that_do_not_go_together(client: httpx.AsyncClient,
                                                         app_headers: dict[str, str]) -> None:
    admin = await admin_headers(client)
    external = bcrypt_hash(OLD_PASSWORD)
    r = await client.post(REGISTER, headers=admin, json={
        "account": {"emailAddress": EMAIL}, "password": PASSWORD, "externalPassword": external})
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "externalPassword")
    r = await _import(client, admin, external, password=PASSWORD)
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "password")
    r = await _import(client, admin, "not a hash")
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "externalPassword")
    # an empty externalPassword next to a plain registration is no import
    r = await client.post(REGISTER, headers=app_headers, json={
        "account": {"emailAddress": EMAIL}, "password": PASSWORD, "externalPassword": ""})
    assert ok(r)["customerAccount"]["hasExternalPassword"] is False


async def test_import_with_a_cleartext_password(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    """Kibo lets an import carry the cleartext password: it is hashed with Argon2id at once (whether
    the strength rules apply depends on the caller: see test_secret_for_new_login)."""
    admin = await admin_headers(client)
    r = await client.post(REGISTER, headers=admin, json={
        "account": {"emailAddress": EMAIL}, "password": OLD_PASSWORD, "isImport": True})
    assert ok(r)["customerAccount"]["hasExternalPassword"] is False
    assert ok(await login(client, app_headers, EMAIL, OLD_PASSWORD))["customerAccount"]["emailAddress"] == EMAIL
    r = await client.post(REGISTER, headers=admin, json={
        "account": {"emailAddress": "x" + EMAIL}, "password": "y" * 200, "isImport": True})
    assert_error(r, 400, "ADD_CUSTOMER_FAILED")


async def test_create_login_imports_a_hash(core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    admin = await admin_headers(client)
    account = ok(await client.post(ACCOUNTS, headers=admin, json={"emailAddress": EMAIL}))
    external = django_hash(OLD_PASSWORD)
    r = await client.post(f"{ACCOUNTS}/{account['id']}/Create-Login", headers=admin,
                          json={"isImport": True, "externalPassword": external})
    assert ok(r)["customerAccount"]["hasExternalPassword"] is True
    assert await stored_hash(core, await _customer_set(core), EMAIL) == external
    t = ok(await login(client, app_headers, EMAIL, OLD_PASSWORD))
    assert t["customerAccount"]["hasExternalPassword"] is False
    assert (await stored_hash(core, await _customer_set(core), EMAIL) or "").startswith("$argon2id$")


async def test_change_password_proves_the_old_password_against_the_legacy_hash(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    admin = await admin_headers(client)
    t = ok(await _import(client, admin, bcrypt_hash(OLD_PASSWORD)))
    account_id = t["customerAccount"]["id"]
    assert_error(await client.post(change_path(account_id), headers=app_headers,
                                   json={"oldPassword": "wrong", "newPassword": NEW_PASSWORD}), 401, "INVALID_CREDENTIALS")
    done(await client.post(change_path(account_id), headers=app_headers,
                           json={"oldPassword": OLD_PASSWORD, "newPassword": NEW_PASSWORD}))
    assert (await stored_hash(core, await _customer_set(core), EMAIL) or "").startswith("$argon2id$")
    me = ok(await login(client, app_headers, EMAIL, NEW_PASSWORD))
    assert me["customerAccount"]["hasExternalPassword"] is False


async def test_a_password_change_meanwhile_wins_over_the_upgrade(core: Core, client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    external = bcrypt_hash(OLD_PASSWORD)
    account_id = ok(await _import(client, admin, external))["customerAccount"]["id"]
    done(await client.post(change_path(account_id), headers=admin, json={"newPassword": NEW_PASSWORD}))
    changed = await stored_hash(core, await _customer_set(core), EMAIL)
    assert await core.store.upgrade_password_hash(account_id, external, await core.hashing.hash(OLD_PASSWORD)) is False
    assert await stored_hash(core, await _customer_set(core), EMAIL) == changed


# -- the service entry point ---------------------------------------------------------------------------

async def _caller(core: Core, client_id: str) -> Caller:
    app, tenant = await core.directory.application(client_id), await core.directory.tenant(TENANT)
    assert app is not None and tenant is not None and tenant.default_site_id is not None
    site = await core.directory.site(tenant.default_site_id)
    assert site is not None
    return Caller(app=app, tenant=tenant, site=site, app_credential=True)  # as proven by its app token


async def test_secret_for_new_login(core: Core) -> None:
    admin, storefront = await _caller(core, ADMIN[0]), await _caller(core, STOREFRONT[0])
    external = passlib_hash(OLD_PASSWORD)

    imported = await secret_for_new_login(core, admin, None, f" {external} ", True)
    assert (imported.password_hash, imported.is_external) == (external, True)
    # importing is for the merchant's back office: a storefront may not slip past the policy with it
    with pytest.raises(Forbidden):
        await secret_for_new_login(core, storefront, None, external, True)
    with pytest.raises(Forbidden):
        await secret_for_new_login(core, storefront, "abc123", None, True)
    weak = await secret_for_new_login(core, admin, "abc123", None, True)
    assert weak.is_external is False and await core.hashing.verify(weak.password_hash, "abc123")
    with pytest.raises(AddCustomerFailed):  # not an import: the policy applies
        await secret_for_new_login(core, admin, "abc123")
    with pytest.raises(InvalidParameter) as caught:
        await secret_for_new_login(core, admin, PASSWORD, external, False)
    assert caught.value.name == "externalPassword"
    plain = await secret_for_new_login(core, storefront, PASSWORD)
    assert plain.is_external is False and plain.password_hash.startswith("$argon2id$")
