"""Users of B2B accounts over REST: adding (with a password, or invited to choose one), listing, changing and
removing them, their roles and behaviors, the users of a role, the accounts of a user, Kibo's behavior catalog,
and the rules: managing users takes 1001; nobody gives a role granting what they lack; a merchant's role must
be the tenant's and tenant-wide or given to the account; the last active Admin stays; 403 before 404. Every
change is audited, invitations and role changes mailed, in the change's transaction."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select

from tests.api.b2b_support import (
    ADMIN_ROLE,
    B2B,
    B2B_USER_KEYS,
    NON_PURCHASER_ROLE,
    PURCHASER_ROLE,
    add_account,
    add_user,
    merchant_role,
    row_id,
    user_in,
    user_path,
)
from tests.api.code_support import Mailbox, events
from tests.api.support import (
    CURRENT,
    UPDATE_FORGOTTEN_PASSWORD,
    assert_error,
    login,
    ok,
    refresh,
    register,
)
from ticketbooth.b2b.rules import BEHAVIORS, BUILT_IN_ROLE_BY_ID, MANAGE_USERS, PLACE_ORDERS
from ticketbooth.b2b.users import keep_an_admin
from ticketbooth.core import Core
from ticketbooth.db import tables as t

pytestmark = pytest.mark.usefixtures("seeded")


async def _outbox_kinds(core: Core) -> list[str]:
    async with core.store.engine.connect() as conn:
        return [str(k) for k in (await conn.execute(select(t.outbox.c.kind).order_by(t.outbox.c.id))).scalars()]


async def test_the_merchant_adds_lists_and_changes_users(client: httpx.AsyncClient, admin: dict[str, str],
                                                         core: Core) -> None:
    acme = await add_account(client, admin, "Acme")
    boss = ok(await add_user(client, admin, acme["id"], "boss@acme.example", (ADMIN_ROLE,), lastName="Boss"))
    assert set(boss) == B2B_USER_KEYS
    assert (boss["emailAddress"], boss["userName"], boss["isActive"], boss["isRemoved"]) == (
        "boss@acme.example", "boss@acme.example", True, False)
    (role,) = boss["roles"]
    assert (role["roleId"], role["roleName"], role["userId"]) == (ADMIN_ROLE, "Admin", boss["userId"])
    assert role["assignedInScope"]["id"] == acme["id"]
    for i, email in enumerate(("c@acme.example", "a@acme.example", "b@acme.example")):
        ok(await add_user(client, admin, acme["id"], email, (PURCHASER_ROLE,), firstName=f"N{i}"))
    page = ok(await client.get(f"{B2B}/{acme['id']}/users", headers=admin,
                               params={"sortBy": "emailAddress asc", "pageSize": 2, "startIndex": 1}))
    assert (page["totalCount"], page["startIndex"]) == (4, 1)
    assert [u["emailAddress"] for u in page["items"]] == ["b@acme.example", "boss@acme.example"]
    only = ok(await client.get(f"{B2B}/{acme['id']}/users", headers=admin, params={"filter": "lastName eq 'Boss'"}))
    assert [u["userId"] for u in only["items"]] == [boss["userId"]]
    got = ok(await client.get(f"{B2B}/{acme['id']}", headers=admin))
    assert len(got["users"]) == 4
    changed = ok(await client.put(user_path(acme["id"], boss["userId"]), headers=admin,
                                  json={"firstName": "Bea", "emailAddress": "bea@acme.example"}))
    assert (changed["firstName"], changed["emailAddress"], changed["lastName"]) == ("Bea", "bea@acme.example", "Boss")
    assert changed["userName"] == "boss@acme.example"
    trail = await events(core, acme["id"])
    assert trail.count("b2b.user-added") == 4 and "b2b.user-updated" in trail


async def test_invited_users_choose_their_password_with_the_mailed_code(
        client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str], mailbox: Mailbox) -> None:
    acme = await add_account(client, admin, "Acme Corp")
    invited = ok(await add_user(client, admin, acme["id"], "new@acme.example", (PURCHASER_ROLE,), password=None))
    message = await mailbox.one("new@acme.example")
    assert "Acme Corp" in message.text
    code = message.code()
    assert_error(await login(client, app_headers, "new@acme.example", ""), 400, "MISSING_OR_INVALID_PARAMETER")
    new = "my own chosen passphrase"
    r = await client.post(UPDATE_FORGOTTEN_PASSWORD, headers=app_headers, json={
        "userName": "new@acme.example", "confirmationCode": code, "newPassword": new})
    assert r.status_code == 200, r.text
    t2 = ok(await login(client, app_headers, "new@acme.example", new))
    assert (t2["userId"], t2["customerAccount"]["id"]) == (invited["userId"], acme["id"])
    r = await client.post(UPDATE_FORGOTTEN_PASSWORD, headers=app_headers, json={
        "userName": "new@acme.example", "confirmationCode": code, "newPassword": "yet another passphrase"})
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "confirmationCode")  # single use


async def test_an_existing_login_joins_a_second_account_and_a_shopper_is_a_conflict(
        client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str], core: Core) -> None:
    first = await add_account(client, admin, "First")
    second = await add_account(client, admin, "Second")
    one = ok(await add_user(client, admin, first["id"], "multi@example.com"))
    two = ok(await add_user(client, admin, second["id"], "MULTI@example.com", (PURCHASER_ROLE,), password=None))
    assert two["userId"] == one["userId"] and [r["roleId"] for r in two["roles"]] == [PURCHASER_ROLE]
    assert "b2b-user-invited" not in await _outbox_kinds(core)  # the login has a password: no invitation
    assert_error(await add_user(client, admin, second["id"], "multi@example.com"), 409, "VALIDATION_CONFLICT")
    await register(client, app_headers, "retail@example.com")
    assert_error(await add_user(client, admin, first["id"], "retail@example.com"), 409, "VALIDATION_CONFLICT")
    byuser = ok(await client.get(f"{B2B}/accountsbyuser", headers=admin, params={"emailAddress": "multi@example.com"}))
    assert byuser == [first["id"], second["id"]]
    assert ok(await client.get(f"{B2B}/accountsbyuser", headers=admin, params={"userName": "nobody@x.example"})) == []
    assert ok(await client.get(f"{B2B}/accountsbyuser", headers=admin, params={"userId": one["userId"]})) == [
        first["id"], second["id"]]


async def test_what_a_manager_and_a_purchaser_may_do(client: httpx.AsyncClient, admin: dict[str, str],
                                                      app_headers: dict[str, str], core: Core) -> None:
    acme = await add_account(client, admin, "Acme")
    other = await add_account(client, admin, "Other")
    boss = await user_in(client, admin, app_headers, acme["id"], "boss@acme.example", (ADMIN_ROLE,))
    buyer = await user_in(client, admin, app_headers, acme["id"], "buyer@acme.example", (PURCHASER_ROLE,))
    # an Admin adds users and gives roles
    added = ok(await add_user(client, boss.headers, acme["id"], "third@acme.example", (NON_PURCHASER_ROLE,)))
    assert (await client.post(user_path(acme["id"], added["userId"], "roles", PURCHASER_ROLE),
                              headers=boss.headers)).status_code == 200
    listed = ok(await client.get(f"{B2B}/{acme['id']}/users", headers=boss.headers))
    assert listed["totalCount"] == 3
    # a purchaser may not add users, list them, give roles or remove anyone
    for r in (await add_user(client, buyer.headers, acme["id"], "sneaky@acme.example"),
              await client.get(f"{B2B}/{acme['id']}/users", headers=buyer.headers),
              await client.post(user_path(acme["id"], buyer.user_id, "roles", ADMIN_ROLE), headers=buyer.headers),
              await client.put(user_path(acme["id"], added["userId"], "remove"), headers=buyer.headers),
              await client.get(user_path(acme["id"], added["userId"], "roles"), headers=buyer.headers)):
        assert_error(r, 403, "FORBIDDEN")
    # ... but reads their own roles and behaviors, and changes their own name (not their email)
    mine = ok(await client.get(user_path(acme["id"], buyer.user_id, "roles"), headers=buyer.headers))
    assert [r["roleId"] for r in mine["items"]] == [PURCHASER_ROLE] and mine["totalCount"] == 1
    assert ok(await client.get(user_path(acme["id"], buyer.user_id, "behaviors"), headers=buyer.headers)) == sorted(
        BUILT_IN_ROLE_BY_ID[PURCHASER_ROLE].behaviors)
    assert ok(await client.put(user_path(acme["id"], buyer.user_id), headers=buyer.headers,
                               json={"lastName": "Buyer"}))["lastName"] == "Buyer"
    for body in ({"emailAddress": "mine@evil.example"}, {"isActive": False}):
        assert_error(await client.put(user_path(acme["id"], buyer.user_id), headers=buyer.headers, json=body), 403,
                     "FORBIDDEN")
    # a manager may not change a user's login names (they may be the user's in other accounts too)
    assert_error(await client.put(user_path(acme["id"], buyer.user_id), headers=boss.headers,
                                  json={"emailAddress": "taken@evil.example"}), 403, "FORBIDDEN")
    # account B: the same 403 as for an account that does not exist (403 before 404)
    stranger = ok(await add_user(client, admin, other["id"], "stranger@other.example"))
    for target in (other["id"], 987654):
        for r in (await add_user(client, boss.headers, target, "x@x.example"),
                  await client.get(f"{B2B}/{target}/users", headers=boss.headers),
                  await client.put(user_path(target, stranger["userId"], "remove"), headers=boss.headers),
                  await client.post(user_path(target, stranger["userId"], "roles", ADMIN_ROLE), headers=boss.headers)):
            assert_error(r, 403, "FORBIDDEN")
    # a user of another account, named in this one: 404 for the manager (they may manage users here)
    assert_error(await client.get(user_path(acme["id"], stranger["userId"], "roles"), headers=boss.headers), 404,
                 "ITEM_NOT_FOUND")
    assert_error(await client.put(user_path(acme["id"], stranger["userId"], "remove"), headers=boss.headers), 404,
                 "ITEM_NOT_FOUND")
    # a B2C shopper's ticket: nothing
    shopper = await register(client, app_headers, "retail@example.com")
    shopper_headers = {**app_headers, "x-vol-user-claims": shopper["accessToken"]}
    assert_error(await add_user(client, shopper_headers, acme["id"], "x@x.example"), 403, "FORBIDDEN")
    assert "b2b-role-added" in await _outbox_kinds(core)


async def test_nobody_gives_a_behavior_they_lack(client: httpx.AsyncClient, admin: dict[str, str],
                                                 app_headers: dict[str, str], core: Core) -> None:
    acme = await add_account(client, admin, "Acme")
    other = await add_account(client, admin, "Other")
    hr = await merchant_role(core, "User manager", (MANAGE_USERS,))
    orders = await merchant_role(core, "Orders only", (PLACE_ORDERS,))
    elsewhere = await merchant_role(core, "Other's role", (MANAGE_USERS,), accounts=(other["id"],))
    foreign = await merchant_role(core, "Another tenant's", (MANAGE_USERS,), tenant_id=300)
    await user_in(client, admin, app_headers, acme["id"], "boss@acme.example", (ADMIN_ROLE,))
    manager = await user_in(client, admin, app_headers, acme["id"], "hr@acme.example", (hr,))
    # the manager adds a user with their own role, but not with one granting what they lack
    plain = ok(await add_user(client, manager.headers, acme["id"], "plain@acme.example", (hr,)))
    for role in (ADMIN_ROLE, PURCHASER_ROLE, orders):
        assert_error(await add_user(client, manager.headers, acme["id"], f"r{role}@acme.example", (role,)), 403,
                     "FORBIDDEN")
        assert_error(await client.post(user_path(acme["id"], plain["userId"], "roles", role), headers=manager.headers),
                     403, "FORBIDDEN")
        assert_error(await client.post(user_path(acme["id"], manager.user_id, "roles", role), headers=manager.headers),
                     403, "FORBIDDEN")  # nor to themselves
    # nor take one they could not give
    boss_id = ok(await client.get(f"{B2B}/{acme['id']}/users", headers=admin,
                                  params={"filter": "emailAddress eq 'boss@acme.example'"}))["items"][0]["userId"]
    assert_error(await client.delete(user_path(acme["id"], boss_id, "roles", ADMIN_ROLE), headers=manager.headers),
                 403, "FORBIDDEN")
    assert_error(await client.put(user_path(acme["id"], boss_id, "remove"), headers=manager.headers), 403, "FORBIDDEN")
    assert_error(await client.put(user_path(acme["id"], boss_id), headers=manager.headers, json={"isActive": False}),
                 403, "FORBIDDEN")
    # a merchant role given to another account, another tenant's, or none at all: not a role of this account
    for role in (elsewhere, foreign, 4242):
        assert_error(await client.post(user_path(acme["id"], plain["userId"], "roles", role), headers=admin), 404,
                     "ITEM_NOT_FOUND")
    ok(await add_user(client, admin, other["id"], "o@other.example", (elsewhere,)))
    # the merchant gives anything the account may have
    assert (await client.post(user_path(acme["id"], plain["userId"], "roles", orders), headers=admin)).status_code == 200
    behaviors = ok(await client.get(user_path(acme["id"], plain["userId"], "behaviors"), headers=admin))
    assert behaviors == [MANAGE_USERS, PLACE_ORDERS]
    holders = ok(await client.get(f"{B2B}/{acme['id']}/roles/{hr}/users", headers=admin))
    assert sorted(u["emailAddress"] for u in holders) == ["hr@acme.example", "plain@acme.example"]


async def test_the_last_active_admin_stays(client: httpx.AsyncClient, admin: dict[str, str],
                                           app_headers: dict[str, str], core: Core) -> None:
    acme = await add_account(client, admin, "Acme")
    boss = await user_in(client, admin, app_headers, acme["id"], "boss@acme.example", (ADMIN_ROLE,))
    for r in (await client.put(user_path(acme["id"], boss.user_id, "remove"), headers=admin),
              await client.put(user_path(acme["id"], boss.user_id), headers=admin, json={"isActive": False}),
              await client.delete(user_path(acme["id"], boss.user_id, "roles", ADMIN_ROLE), headers=admin),
              await client.put(user_path(acme["id"], boss.user_id, "remove"), headers=boss.headers)):
        assert_error(r, 409, "VALIDATION_CONFLICT")
    assert ok(await refresh(client, app_headers, boss.ticket["refreshToken"]))  # nothing changed
    # with a second Admin the first may go, and their session ends with it
    second = ok(await add_user(client, admin, acme["id"], "second@acme.example", (ADMIN_ROLE,)))
    inactive = ok(await add_user(client, admin, acme["id"], "idle@acme.example", (ADMIN_ROLE,)))
    ok(await client.put(user_path(acme["id"], inactive["userId"]), headers=admin, json={"isActive": False}))
    assert (await client.put(user_path(acme["id"], boss.user_id, "remove"), headers=boss.headers)).status_code == 200
    assert_error(await client.get(CURRENT, headers=boss.headers), 401, "INVALID_ACCESS_TOKEN")
    # the remaining active Admin is the last one: an inactive Admin does not count
    assert_error(await client.delete(user_path(acme["id"], second["userId"], "roles", ADMIN_ROLE), headers=admin), 409,
                 "VALIDATION_CONFLICT")
    listed = ok(await client.get(f"{B2B}/{acme['id']}/users", headers=admin))
    assert boss.user_id not in {u["userId"] for u in listed["items"]}
    assert "b2b.user-removed" in await events(core, acme["id"])
    # a removed user is added again: a new membership, without the old roles
    back = ok(await add_user(client, admin, acme["id"], "boss@acme.example", ()))
    assert (back["userId"], back["roles"], back["isRemoved"]) == (boss.user_id, [], False)


async def test_role_changes_are_mailed_and_audited(client: httpx.AsyncClient, admin: dict[str, str],
                                                   core: Core) -> None:
    acme = await add_account(client, admin, "Acme")
    ok(await add_user(client, admin, acme["id"], "boss@acme.example", (ADMIN_ROLE,)))
    user = ok(await add_user(client, admin, acme["id"], "u@acme.example", ()))
    path = user_path(acme["id"], user["userId"], "roles", PURCHASER_ROLE)
    assert (await client.post(path, headers=admin)).status_code == 200
    assert (await client.post(path, headers=admin)).status_code == 200  # held already: nothing more
    assert (await client.delete(path, headers=admin)).status_code == 200
    assert_error(await client.delete(path, headers=admin), 404, "ITEM_NOT_FOUND")
    assert [k for k in await _outbox_kinds(core) if k.startswith("b2b-role")] == ["b2b-role-added", "b2b-role-removed"]
    trail = await events(core, acme["id"])
    assert (trail.count("b2b.user-role-added"), trail.count("b2b.user-role-removed")) == (1, 1)


async def test_the_behavior_catalog(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    behaviors = ok(await client.get(f"{B2B}/behaviors", headers=app_headers))
    assert behaviors["totalCount"] == len(BEHAVIORS) == 15
    first = behaviors["items"][0]
    assert (first["id"], first["name"], first["categoryId"]) == (1000, "Manage Account Information", 1)
    assert first["systemRoles"] == ["Admin"]
    categories = ok(await client.get(f"{B2B}/behaviors/categories", headers=app_headers))
    assert [c["name"] for c in categories["items"]] == ["Account", "Purchasing", "Child Accounts"]


async def test_accounts_by_user_and_priorities_are_the_users_own(client: httpx.AsyncClient, admin: dict[str, str],
                                                                 app_headers: dict[str, str]) -> None:
    first = await add_account(client, admin, "First")
    pending = await add_account(client, admin, "Pending", approved=False)
    other = await add_account(client, admin, "Other")
    user = await user_in(client, admin, app_headers, first["id"], "multi@example.com", (PURCHASER_ROLE,))
    ok(await add_user(client, admin, pending["id"], "multi@example.com"))
    ok(await add_user(client, admin, other["id"], "else@example.com"))
    assert ok(await client.get(f"{B2B}/accountsbyuser", headers=user.headers)) == [first["id"]]
    assert ok(await client.get(f"{B2B}/accountsbyuser", headers=user.headers,
                               params={"getAllAccounts": "true"})) == [first["id"], pending["id"]]
    assert_error(await client.get(f"{B2B}/accountsbyuser", headers=user.headers,
                                  params={"emailAddress": "else@example.com"}), 403, "FORBIDDEN")
    assert_error(await client.get(f"{B2B}/accountsbyuser", headers=app_headers), 403, "FORBIDDEN")
    read = ok(await client.get(f"{B2B}/priority/read", headers=user.headers))
    assert read == {"accountPriorities": [], "blackListedAccounts": [pending["id"]]}
    r = await client.put(f"{B2B}/priority/update", headers=user.headers,
                         json={"accountPriorities": [{"priority": 1, "accounts": [other["id"]]}]})
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "accounts")
    assert_error(await client.get(f"{B2B}/priority/read", headers=app_headers), 401, "INVALID_ACCESS_TOKEN")
    assert_error(await client.put(f"{B2B}/priority/delete", headers=user.headers, json=["x"]), 400,
                 "MISSING_OR_INVALID_PARAMETER")


async def test_bad_input_is_a_400(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    acme = await add_account(client, admin, "Acme")
    for body, name in (({}, "b2BUser"), ({"b2BUser": {}}, "emailAddress"),
                       ({"b2BUser": {"emailAddress": "not an email"}}, "emailAddress"),
                       ({"b2BUser": {"emailAddress": "a@b.example", "firstName": "x" * 300}}, "firstName"),
                       ({"b2BUser": {"emailAddress": "a@b.example"}, "password": "short"}, None)):
        r = await client.post(user_path(acme["id"]), headers=admin, json=body)
        assert r.status_code == 400, (body, r.text)
        if name is not None:
            assert_error(r, 400, None, name)
    assert_error(await client.post(user_path(acme["id"], "u", "roles", 0), headers=admin), 400,
                 "MISSING_OR_INVALID_PARAMETER")


async def test_two_admins_removed_at_once_leave_one(client: httpx.AsyncClient, admin: dict[str, str],
                                                    core: Core) -> None:
    """Each removal checks the Admins left under the account's row lock: while one removal's transaction is
    open, another waits for it, then finds the last Admin and is refused."""
    acme = await add_account(client, admin, "Acme")
    a = ok(await add_user(client, admin, acme["id"], "a@acme.example", (ADMIN_ROLE,)))
    b = ok(await add_user(client, admin, acme["id"], "b@acme.example", (ADMIN_ROLE,)))
    rows = {u["userId"]: u for u in (a, b)}
    assert len(rows) == 2
    a_row = await row_id(core, "a@acme.example")
    async with core.store.transaction() as tx:
        await keep_an_admin(tx, acme["id"], a_row)  # takes the lock, finds two Admins
        other = asyncio.create_task(client.delete(user_path(acme["id"], b["userId"], "roles", ADMIN_ROLE),
                                                  headers=admin))
        await asyncio.sleep(0.5)
        assert not other.done()  # waiting for the lock
        await tx.update_membership(acme["id"], a_row, {"is_removed": True}, core.clock.now(), "test")
    assert_error(await other, 409, "VALIDATION_CONFLICT")
    left = ok(await client.get(f"{B2B}/{acme['id']}/roles/{ADMIN_ROLE}/users", headers=admin))
    assert [u["userId"] for u in left] == [b["userId"]]
