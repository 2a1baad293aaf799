"""The audit trail over HTTP: the events that logins, locks, password changes and resets and admin actions
write, GET .../accounts/{id}/AuditLog/Entries (Kibo's CustomerAuditEntryCollection, paging, who may read
it), no secret in any entry, and retention."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, update

from tests.api.login_support import (
    NEW_PASSWORD,
    admin_headers,
    as_shopper,
    change_path,
    change_required_path,
    done,
    lock_path,
)
from tests.api.support import CUSTOMER, assert_error, kibo_date, login, ok, register
from tests.conftest import ADMIN, PASSWORD, SITE, STOREFRONT, TENANT
from tests.smtp import SmtpServer
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.mail import SmtpTransport
from ticketbooth.mail.service import MailSender

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "audited@example.com"
WRONG = "a wrong guess of a password"
ENTRY_KEYS = {"customerAccountId", "customerAuditEntryId", "entryDate", "entryUser", "application", "site",
              "description", "fieldPath", "oldValue", "newValue", "eventType", "clientAddress"}
COLLECTION_KEYS = {"startIndex", "pageSize", "pageCount", "totalCount", "items"}


def entries_path(account_id: int) -> str:
    return f"{CUSTOMER}/accounts/{account_id}/AuditLog/Entries"


async def entries(client: httpx.AsyncClient, hdrs: dict[str, str], account_id: int, **params: Any) -> dict[str, Any]:
    return ok(await client.get(entries_path(account_id), headers=hdrs, params=params))


async def events(client: httpx.AsyncClient, hdrs: dict[str, str], account_id: int) -> list[str]:
    """The account's event types, oldest first."""
    body = await entries(client, hdrs, account_id, pageSize=200)
    return [e["eventType"] for e in reversed(body["items"])]


async def set_tenant(core: Core, **sections: dict[str, Any]) -> None:
    async with core.store.engine.begin() as conn:
        settings = (await conn.execute(select(t.tenants.c.settings).where(t.tenants.c.id == TENANT))).scalar_one()
        await conn.execute(update(t.tenants).where(t.tenants.c.id == TENANT).values(settings={**settings, **sections}))
    core.directory.forget()


async def all_rows(core: Core) -> list[Any]:
    async with core.store.engine.connect() as conn:
        return list((await conn.execute(select(t.audit_entries).order_by(t.audit_entries.c.id))).all())


# -- what is recorded -------------------------------------------------------------------------------

async def test_logins_and_the_owners_view_of_them(
        client: httpx.AsyncClient, app_headers: dict[str, str], clock: ManualClock) -> None:
    ticket = await register(client, app_headers, EMAIL)
    account_id = int(ticket["customerAccount"]["id"])
    clock.advance(timedelta(seconds=5))
    assert_error(await login(client, app_headers, EMAIL, WRONG), 401, "INVALID_CREDENTIALS")
    clock.advance(timedelta(seconds=5))
    me = as_shopper(app_headers, ok(await login(client, app_headers, EMAIL)))

    body = await entries(client, me, account_id)
    assert set(body) == COLLECTION_KEYS
    assert (body["startIndex"], body["pageSize"], body["totalCount"], body["pageCount"]) == (0, 20, 3, 1)
    newest, failed, created = body["items"]
    assert [e["eventType"] for e in body["items"]] == ["login.succeeded", "login.failed", "account.created"]
    for e in body["items"]:
        assert set(e) == ENTRY_KEYS
        assert e["customerAccountId"] == account_id
        assert e["application"] == STOREFRONT[0]
        assert e["site"] == str(SITE)
        assert e["entryUser"] == ticket["userId"]  # the shopper acted
        assert e["clientAddress"] == "127.0.0.1"
    assert kibo_date(newest["entryDate"]) == clock.now()
    assert newest["description"] == "Logged in."
    assert failed["description"] == "Login failed: wrong password."
    assert created["description"] == "Account created."
    assert newest["customerAuditEntryId"] > failed["customerAuditEntryId"] > created["customerAuditEntryId"]


async def test_admin_actions_name_the_application(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    ticket = await register(client, app_headers, EMAIL)
    account_id = int(ticket["customerAccount"]["id"])
    admin = await admin_headers(client)
    done(await client.post(lock_path(account_id), headers=admin, json=True))
    done(await client.post(lock_path(account_id), headers=admin, json=False))
    done(await client.post(change_required_path(account_id), headers=admin, json=True))
    done(await client.post(change_path(account_id), headers=admin, params={"unlockAccount": "false"},
                           json={"newPassword": NEW_PASSWORD}))
    r = await client.put(f"{CUSTOMER}/accounts/{account_id}", headers=admin,
                         json={"id": account_id, "firstName": "Ada", "isActive": False})
    assert r.status_code == 200, r.text

    body = await entries(client, admin, account_id, pageSize=200)
    got = [(e["eventType"], e["entryUser"], e["fieldPath"], e["oldValue"], e["newValue"]) for e in reversed(body["items"])]
    assert got == [
        ("account.created", ticket["userId"], None, None, None),
        ("account.locked", ADMIN[0], "isLocked", "false", "true"),
        ("account.unlocked", ADMIN[0], "isLocked", "true", "false"),
        ("password.change-required", ADMIN[0], "isPasswordChangeRequired", None, "true"),
        ("password.changed", ADMIN[0], None, None, None),
        ("account.updated", ADMIN[0], "first_name,is_active", None, None),
        ("account.disabled", ADMIN[0], "isActive", "true", "false"),
    ]
    descriptions = [e["description"] for e in reversed(body["items"])]
    assert descriptions[1] == "Account locked by an administrator."
    assert descriptions[4] == "Password changed by an administrator."
    assert all(e["application"] == ADMIN[0] for e in body["items"][:-1])

    # deleting keeps the trail (the account is gone, so it is read from the store here)
    assert (await client.delete(f"{CUSTOMER}/accounts/{account_id}", headers=admin)).status_code in (200, 204)
    assert [r.event for r in await all_rows(core) if r.account_id == account_id][-1] == "account.deleted"
    assert_error(await client.get(entries_path(account_id), headers=admin), 404, "ITEM_NOT_FOUND")


async def test_a_lock_by_failures_and_a_reset(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, smtp_server: SmtpServer) -> None:
    await set_tenant(core, lockout={"max_failed_logins": 2, "max_failed_logins_per_address": 100},
                     rate_limits={"login": {"enabled": False}})
    account_id = int((await register(client, app_headers, EMAIL))["customerAccount"]["id"])
    for _ in range(3):
        assert_error(await login(client, app_headers, EMAIL, WRONG), 401, "INVALID_CREDENTIALS")
    assert (await client.post(f"{CUSTOMER}/accounts/Reset-Password", headers=app_headers,
                              json={"emailAddress": EMAIL})).status_code == 200
    sender = MailSender(core, SmtpTransport(smtp_server.host, smtp_server.port, starttls=False, timeout=5))
    await sender.run_until_idle()
    reset = next(m for m in smtp_server.wait_for(2) if "reset" in str(m.message["Subject"]).lower())
    r = await client.post(f"{CUSTOMER}/accounts/Update-Forgotten-Password", headers=app_headers,
                          json={"userName": EMAIL, "confirmationCode": reset.code(), "newPassword": NEW_PASSWORD})
    assert r.status_code == 200, r.text

    admin = await admin_headers(client)
    body = await entries(client, admin, account_id, pageSize=200)
    items = list(reversed(body["items"]))
    assert [e["eventType"] for e in items] == [
        "account.created", "login.failed", "login.failed", "account.locked", "login.failed",
        "password.reset-requested", "password.reset", "account.unlocked",
    ]
    assert items[3]["description"].startswith("Account locked after too many failed logins until ")
    assert items[4]["description"] == "Login failed: the account is locked."
    assert items[7]["description"] == "Account unlocked by a password reset."


async def test_no_secret_is_ever_written(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    ticket = await register(client, app_headers, EMAIL)
    account_id = int(ticket["customerAccount"]["id"])
    assert_error(await login(client, app_headers, EMAIL, WRONG), 401)
    assert_error(await login(client, app_headers, "typo.in.the.name@example.com", WRONG), 401)
    ok(await login(client, app_headers, EMAIL))
    done(await client.post(change_path(account_id), headers=as_shopper(app_headers, ticket),
                           json={"oldPassword": PASSWORD, "newPassword": NEW_PASSWORD}))
    rows = await all_rows(core)
    assert len(rows) >= 5
    dumped = json.dumps([[str(v) for v in row] for row in rows])
    for secret in (PASSWORD, WRONG, NEW_PASSWORD, ticket["accessToken"], ticket["refreshToken"],
                   "typo.in.the.name@example.com"):
        assert secret not in dumped
    unknown = [r for r in rows if r.account_id is None]
    assert [(r.event, r.detail) for r in unknown] == [("login.failed", {"reason": "unknown"})]


# -- reading it -------------------------------------------------------------------------------------

async def test_paging(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id = int((await register(client, app_headers, EMAIL))["customerAccount"]["id"])
    for _ in range(4):
        assert_error(await login(client, app_headers, EMAIL, WRONG), 401)
    admin = await admin_headers(client)
    everything = (await entries(client, admin, account_id))["items"]
    assert len(everything) == 5
    page = await entries(client, admin, account_id, startIndex=2, pageSize=2)
    assert (page["startIndex"], page["pageSize"], page["pageCount"], page["totalCount"]) == (2, 2, 3, 5)
    assert [e["customerAuditEntryId"] for e in page["items"]] == [e["customerAuditEntryId"] for e in everything[2:4]]
    assert (await entries(client, admin, account_id, startIndex=10))["items"] == []
    assert_error(await client.get(entries_path(account_id), headers=admin, params={"pageSize": 0}), 400,
                 "MISSING_OR_INVALID_PARAMETER")
    assert_error(await client.get(entries_path(account_id), headers=admin, params={"startIndex": "x"}), 400,
                 "MISSING_OR_INVALID_PARAMETER")
    # responseFields and the case of the path, as everywhere
    r = await client.get(f"{CUSTOMER}/accounts/{account_id}/auditlog/entries/", headers=admin,
                         params={"responseFields": "totalCount"})
    assert ok(r) == {"totalCount": 5}


async def test_who_may_read(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    ticket = await register(client, app_headers, EMAIL)
    account_id = int(ticket["customerAccount"]["id"])
    other = await register(client, app_headers, "someone.else@example.com")
    assert_error(await client.get(entries_path(account_id), headers=as_shopper(app_headers, other)), 403, "FORBIDDEN")
    assert_error(await client.get(entries_path(account_id), headers=app_headers), 403, "FORBIDDEN")
    assert_error(await client.get(entries_path(999_999), headers=as_shopper(app_headers, other)), 403, "FORBIDDEN")
    assert_error(await client.get(entries_path(999_999), headers=await admin_headers(client)), 404, "ITEM_NOT_FOUND")
    assert_error(await client.get(entries_path(account_id)), 401, "UNAUTHORIZED")
    assert (await entries(client, as_shopper(app_headers, ticket), account_id))["totalCount"] == 1


# -- retention ---------------------------------------------------------------------------------------

async def test_old_entries_are_purged_after_the_tenants_period(core: Core, clock: ManualClock) -> None:
    await set_tenant(core, audit={"keep_days": 30})
    now = clock.now()
    async with core.store.engine.begin() as conn:
        await conn.execute(insert(t.audit_entries), [
            {"tenant_id": TENANT, "account_id": 1, "event": "login.failed", "at": now - timedelta(days=31)},
            {"tenant_id": TENANT, "account_id": 1, "event": "login.failed", "at": now - timedelta(days=29)},
            {"tenant_id": 300, "account_id": 2, "event": "login.failed", "at": now - timedelta(days=200)},  # keeps 365
        ])
    sender = MailSender(core, SmtpTransport("127.0.0.1", 1, starttls=False, timeout=1))
    await sender.housekeeping()
    left = sorted((r.tenant_id, (now - r.at).days) for r in await all_rows(core))
    assert left == [(TENANT, 29), (300, 200)]


def test_passkey_and_provider_entries_read_as_sentences() -> None:
    """The trail's descriptions of issue 19's entries name what happened and why, from the detail (no secrets)."""
    from datetime import UTC, datetime

    from ticketbooth.audit.routes import description
    from ticketbooth.domain.models import AuditEntry

    def said(event: str, detail: dict[str, object]) -> str:
        return description(AuditEntry(id=1, tenant_id=1, site_id=1, account_id=1, event=event, at=datetime.now(UTC),
                                      client_address=None, client_id=None, actor=None, detail=detail))

    assert said("passkey.refused", {"reason": "counter", "stage": "sign-in"}) == \
        "Passkey refused at sign-in: its sign counter did not grow (a cloned authenticator?)."
    assert said("passkey.used", {"passkeyId": "7"}) == "Logged in with a passkey: 7."
    assert said("account.unlocked", {"by": "passkey-login"}) == "Account unlocked by a passkey sign-in."
    assert said("identity.used", {"identityId": 3, "mfa": False}) == "Logged in with a provider."
