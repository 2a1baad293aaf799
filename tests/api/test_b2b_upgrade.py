"""PUT /b2baccounts/upgradeaccounts: B2C accounts become B2B accounts; the shopper's login becomes the account's Admin
user with the same userId, email, username, password and login names; their sessions end."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from tests.api.b2b_more_support import B2B, audit_events, count, new_b2b_account
from tests.api.parts_support import ACCOUNTS, other_tenant_admin, outlet_account
from tests.api.support import assert_error, login, ok, refresh, register
from ticketbooth.b2b.rules import ACCOUNT_TYPE_B2B, ACCOUNT_TYPE_B2B_USER, ADMIN_ROLE, APPROVED
from ticketbooth.core import Core
from ticketbooth.db import tables as t

pytestmark = pytest.mark.usefixtures("seeded")
UPGRADE = f"{B2B}/upgradeaccounts"


async def _row(core: Core, **where: object) -> dict[str, object]:
    async with core.store.engine.connect() as conn:
        row = (await conn.execute(select(t.accounts).where(*(t.accounts.c[k] == v for k, v in where.items())))).one()
    return dict(row._mapping)


async def test_a_shopper_becomes_the_admin_of_their_b2b_account(client: httpx.AsyncClient, admin: dict[str, str],
                                                                 app_headers: dict[str, str], core: Core) -> None:
    ticket = await register(client, app_headers, "nina@example.com", userName="nina", firstName="Nina",
                            companyOrOrganization="Nina's Bakery")
    account_id, user_id = ticket["customerAccount"]["id"], ticket["userId"]
    ok(await client.post(f"{ACCOUNTS}/{account_id}/contacts", headers=admin, json={"email": "shop@nina.example"}))
    before = await _row(core, id=account_id)

    answer = ok(await client.put(UPGRADE, headers=admin, json=[account_id]))
    assert answer == {"successAccountIds": [account_id], "skippedAccountIds": [], "errorAccountIds": []}

    account = await _row(core, id=account_id)
    assert account["account_type"] == ACCOUNT_TYPE_B2B and account["user_id"] != user_id
    assert account["password_hash"] is None and account["username"] is None and account["email_key"] is None
    assert account["company_or_organization"] == "Nina's Bakery"
    user = await _row(core, user_id=user_id)
    assert user["account_type"] == ACCOUNT_TYPE_B2B_USER and user["id"] != account_id
    for kept in ("email", "email_key", "username", "username_key", "password_hash", "first_name"):
        assert user[kept] == before[kept], kept
    assert await count(core, t.login_names, t.login_names.c.account_id == user["id"]) == 2
    assert await count(core, t.login_names, t.login_names.c.account_id == account_id) == 0
    assert await count(core, t.b2b_users, t.b2b_users.c.account_id == account_id,
                       t.b2b_users.c.user_account_id == user["id"], t.b2b_users.c.is_active.is_(True)) == 1
    assert await count(core, t.b2b_user_roles, t.b2b_user_roles.c.account_id == account_id,
                       t.b2b_user_roles.c.user_account_id == user["id"], t.b2b_user_roles.c.role_id == ADMIN_ROLE) == 1
    # a B2B account at the top of its own tree, approved, with its parts
    tree = ok(await client.get(f"{B2B}/{account_id}/hierarchy", headers=admin))
    [shown] = tree["accounts"]
    assert (shown["approvalStatus"], shown["rootAccountId"], shown["parentAccountId"]) == (APPROVED, account_id, None)
    assert [c["email"] for c in shown["contacts"]] == ["shop@nina.example"]
    # the shopper's B2C session is over
    assert_error(await refresh(client, app_headers, ticket["refreshToken"]), 401)
    [entry] = await audit_events(core, "b2b.upgraded")
    assert entry["account_id"] == account_id and entry["detail"] == {
        "userAccountId": user["id"], "hadLogin": True, "sessionsEnded": 1}
    # the same login still logs in (with the same password)
    assert (await login(client, app_headers, "nina@example.com")).status_code == 200
    # upgrading again skips it
    assert ok(await client.put(UPGRADE, headers=admin, json=[account_id]))["skippedAccountIds"] == [account_id]


async def test_skips_errors_and_accounts_without_a_login(client: httpx.AsyncClient, admin: dict[str, str],
                                                         core: Core) -> None:
    plain = ok(await client.post(ACCOUNTS, headers=admin, json={"companyOrOrganization": "No login"}))["id"]
    b2b = await new_b2b_account(core, "Acme")
    outlet = await outlet_account(client)
    answer = ok(await client.put(UPGRADE, headers=admin, json=[plain, b2b, outlet, 987654, plain]))
    assert answer["successAccountIds"] == [plain] and answer["skippedAccountIds"] == [b2b]
    assert [e["accountID"] for e in answer["errorAccountIds"]] == [outlet, 987654]
    assert all(e["errorMessage"] for e in answer["errorAccountIds"])
    assert (await _row(core, id=plain))["account_type"] == ACCOUNT_TYPE_B2B
    assert await count(core, t.b2b_users, t.b2b_users.c.account_id == plain) == 0  # no login, no user
    assert (await _row(core, id=outlet))["account_type"] is None


@pytest.mark.parametrize(("body", "parameter"), [
    ({"ids": [1]}, "body"), ([True], "[0]"), (["1"], "[0]"), ([0], "[0]"), ([1.5], "[0]"), ([2**63], "[0]"),
    (list(range(1, 102)), "body"),
])
async def test_bad_bodies_are_refused(client: httpx.AsyncClient, admin: dict[str, str], body: object,
                                      parameter: str, core: Core) -> None:
    assert_error(await client.put(UPGRADE, headers=admin, json=body), 400, "MISSING_OR_INVALID_PARAMETER", parameter)
    assert await count(core, t.b2b_accounts) == 0


async def test_only_merchants_upgrade(client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    ticket = await register(client, app_headers, "nina@example.com")
    shopper = {**app_headers, "x-vol-user-claims": ticket["accessToken"]}
    for hdrs in (app_headers, shopper):
        assert_error(await client.put(UPGRADE, headers=hdrs, json=[ticket["customerAccount"]["id"]]), 403, "FORBIDDEN")
        assert_error(await client.put(UPGRADE, headers=hdrs, content=b"nope"), 403, "FORBIDDEN")
    other = await other_tenant_admin(core, client)
    answer = ok(await client.put(UPGRADE, headers=other, json=[ticket["customerAccount"]["id"]]))
    assert answer["successAccountIds"] == [] and len(answer["errorAccountIds"]) == 1
    assert await count(core, t.b2b_accounts) == 0


async def test_an_inactive_shopper_stays_inactive(client: httpx.AsyncClient, admin: dict[str, str],
                                                  app_headers: dict[str, str], core: Core) -> None:
    ticket = await register(client, app_headers, "gone@example.com")
    account_id, user_id = ticket["customerAccount"]["id"], ticket["userId"]
    ok(await client.put(f"{ACCOUNTS}/{account_id}", headers=admin, json={"isActive": False}))
    assert ok(await client.put(UPGRADE, headers=admin, json=[account_id]))["successAccountIds"] == [account_id]
    assert (await _row(core, user_id=user_id))["is_active"] is False
    # enabling the B2B account does not bring the disabled login back
    ok(await client.put(f"{B2B}/{account_id}/status/enable", headers=admin))
    assert (await login(client, app_headers, "gone@example.com")).status_code == 401
