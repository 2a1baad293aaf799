"""/b2baccounts/roles...: a merchant's B2B roles, their accounts and inheritance, and the roles usable in an account."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.b2b_more_support import B2B, ROLES, audit_events, count, create_role, new_b2b_account
from tests.api.b2b_support import add_account, add_user, user_in
from tests.api.parts_support import Shopper, other_tenant_admin, outlet_account
from tests.api.support import KIBO_DATE, assert_error, ok
from tests.conftest import SITE_OTHER_SET
from ticketbooth.b2b import roles
from ticketbooth.b2b.rules import ACCOUNT_TYPE_B2B_USER, ADMIN_ROLE, BEHAVIOR_IDS, BUILT_IN_ROLES, PURCHASER_ROLE
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.domain.models import NewAccount
from ticketbooth.infra.tokens import new_hex

pytestmark = pytest.mark.usefixtures("seeded")
ROLE_KEYS = {"accountIds", "auditInfo", "behaviors", "id", "isSystemRole", "name"}


async def _user_with_role(core: Core, account_id: int, role_id: int, email: str) -> int:
    """A B2B user of the account holding the role there (rows as the user flows write them)."""
    site = await core.store.get_site(200)
    assert site is not None
    user = await core.store.insert_account(NewAccount(
        tenant_id=100, customer_set_id=site.customer_set_id, user_id=new_hex(16), email=email, email_key=None,
        username=None, username_key=None, password_hash=None), core.clock.now())
    now = core.clock.now()
    async with core.store.engine.begin() as conn:
        await conn.execute(t.accounts.update().where(t.accounts.c.id == user).values(account_type=ACCOUNT_TYPE_B2B_USER))
        await conn.execute(t.b2b_users.insert().values(account_id=account_id, user_account_id=user, tenant_id=100,
                                                       is_active=True, is_removed=False, created_at=now, updated_at=now))
        for r in {ADMIN_ROLE, role_id}:
            await conn.execute(t.b2b_user_roles.insert().values(account_id=account_id, user_account_id=user,
                                                                role_id=r, created_at=now))
    return user


async def _user_roles(core: Core, role_id: int) -> int:
    return await count(core, t.b2b_user_roles, t.b2b_user_roles.c.role_id == role_id)


async def test_a_merchant_creates_reads_replaces_and_deletes_a_role(client: httpx.AsyncClient, admin: dict[str, str],
                                                                     core: Core) -> None:
    acme = await new_b2b_account(core, "Acme")
    branch = await new_b2b_account(core, "Acme North", acme)
    made = await create_role(client, admin, "  Buyer  ", [1008, 1005, 1008], [acme])
    assert set(made) == ROLE_KEYS
    assert made["id"] >= 1001 and made["name"] == "Buyer" and made["isSystemRole"] is False
    assert made["behaviors"] == [1005, 1008] and made["accountIds"] == [acme]
    assert made["auditInfo"]["createBy"] == "admin.app" and KIBO_DATE.match(made["auditInfo"]["createDate"])
    assert ok(await client.get(f"{ROLES}/{made['id']}", headers=admin)) == made
    [entry] = await audit_events(core, "b2b.role-created")
    assert entry["detail"] == {"roleId": made["id"], "behaviors": [1005, 1008], "accountIds": [acme]}
    assert entry["client_id"] == "admin.app"

    user = await _user_with_role(core, acme, made["id"], "pat@acme.example")
    replaced = ok(await client.put(f"{ROLES}/{made['id']}", headers=admin, json={
        "name": "Senior buyer", "behaviors": [1008, 1009], "accountIds": [branch]}))
    assert (replaced["name"], replaced["behaviors"], replaced["accountIds"]) == ("Senior buyer", [1008, 1009], [branch])
    assert await _user_roles(core, made["id"]) == 0  # acme lost the role, so did its user there
    assert await count(core, t.b2b_user_roles, t.b2b_user_roles.c.user_account_id == user) == 1  # Admin stays
    [entry] = await audit_events(core, "b2b.role-updated")
    assert entry["detail"]["accountsRemoved"] == [acme]

    await _user_with_role(core, branch, made["id"], "lee@acme.example")
    assert (await client.delete(f"{ROLES}/{made['id']}", headers=admin)).status_code == 204
    assert await _user_roles(core, made["id"]) == 0
    assert_error(await client.get(f"{ROLES}/{made['id']}", headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.delete(f"{ROLES}/{made['id']}", headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.put(f"{ROLES}/{made['id']}", headers=admin, json={
        "name": "x", "behaviors": [1000], "accountIds": [acme]}), 404, "ITEM_NOT_FOUND")
    [entry] = await audit_events(core, "b2b.role-deleted")
    assert entry["detail"] == {"roleId": made["id"], "userRolesRemoved": 1}
    # a new role never takes a deleted one's id
    again = await create_role(client, admin, "Buyer", [1008], [acme])
    assert again["id"] > made["id"]


async def test_built_in_roles_are_read_but_never_changed(client: httpx.AsyncClient, admin: dict[str, str],
                                                         core: Core) -> None:
    acme = await new_b2b_account(core, "Acme")
    for built_in in BUILT_IN_ROLES:
        r = ok(await client.get(f"{ROLES}/{built_in.id}", headers=admin))
        assert (r["id"], r["name"], r["isSystemRole"], r["accountIds"]) == (built_in.id, built_in.name, True, [])
        assert r["behaviors"] == sorted(built_in.behaviors)
        body = {"name": "Mine", "behaviors": [1000], "accountIds": [acme]}
        assert_error(await client.put(f"{ROLES}/{built_in.id}", headers=admin, json=body), 400, parameter="roleId")
        assert_error(await client.delete(f"{ROLES}/{built_in.id}", headers=admin), 400, parameter="roleId")
        assert_error(await client.put(f"{ROLES}/{built_in.id}/accounts/{acme}", headers=admin), 400, parameter="roleId")
        assert_error(await client.delete(f"{ROLES}/{built_in.id}/accounts/{acme}", headers=admin), 400)
        assert_error(await client.put(f"{ROLES}/{built_in.id}/accounts/{acme}/apply-to-future-children/true",
                                      headers=admin), 400)
    assert ok(await client.get(f"{ROLES}/1", headers=admin))["behaviors"] == sorted(BEHAVIOR_IDS)
    # a built-in role's name is taken too
    assert_error(await client.post(ROLES, headers=admin, json={"name": "ADMIN", "behaviors": [1000],
                                                               "accountIds": [acme]}), 409, "VALIDATION_CONFLICT")


@pytest.mark.parametrize(("body", "parameter"), [
    ({"behaviors": [1000]}, "name"),
    ({"name": " ", "behaviors": [1000]}, "name"),
    ({"name": "x" * 101, "behaviors": [1000]}, "name"),
    ({"name": "Bad\x00", "behaviors": [1000]}, "name"),
    ({"name": "R"}, "behaviors"),
    ({"name": "R", "behaviors": []}, "behaviors"),
    ({"name": "R", "behaviors": [1000, 999]}, "behaviors"),
    ({"name": "R", "behaviors": [1015]}, "behaviors"),
    ({"name": "R", "behaviors": ["x"]}, "behaviors.0"),
    ({"name": "R", "behaviors": [1000], "accountIds": [-5]}, "accountIds.0"),
    ({"name": "R", "behaviors": [1000], "accountIds": [0]}, "accountIds.0"),
])
async def test_a_bad_role_is_refused_and_nothing_is_made(client: httpx.AsyncClient, admin: dict[str, str], core: Core,
                                                         body: dict[str, Any], parameter: str) -> None:
    acme = await new_b2b_account(core, "Acme")
    sent = {"accountIds": [acme], **body}
    assert_error(await client.post(ROLES, headers=admin, json=sent), 400, "MISSING_OR_INVALID_PARAMETER", parameter)
    assert await count(core, t.b2b_roles) == 3


async def test_a_role_is_given_only_to_b2b_accounts_of_the_tenant(client: httpx.AsyncClient, admin: dict[str, str],
                                                                  core: Core, nina: Shopper) -> None:
    acme = await new_b2b_account(core, "Acme")
    other = await new_b2b_account(core, "Elsewhere", tenant_id=300)
    for account in (nina.account_id, other, 2**62):
        assert_error(await client.post(ROLES, headers=admin, json={
            "name": "R", "behaviors": [1000], "accountIds": [acme, account]}), 400, parameter="accountIds")
        role = await create_role(client, admin, f"R{account}", [1000], [acme])
        assert_error(await client.put(f"{ROLES}/{role['id']}/accounts/{account}", headers=admin), 404, "ITEM_NOT_FOUND")


async def test_role_names_are_unique_in_the_tenant(client: httpx.AsyncClient, admin: dict[str, str], core: Core) -> None:
    acme = await new_b2b_account(core, "Acme")
    first = await create_role(client, admin, "Approver", [1000], [acme])
    second = await create_role(client, admin, "Viewer", [1010], [acme])
    assert_error(await client.post(ROLES, headers=admin, json={"name": "approver", "behaviors": [1001],
                                                               "accountIds": [acme]}), 409, "VALIDATION_CONFLICT")
    assert_error(await client.put(f"{ROLES}/{second['id']}", headers=admin, json={
        "name": "APPROVER", "behaviors": [1010], "accountIds": [acme]}), 409, "VALIDATION_CONFLICT")
    # renaming a role to its own name (another case) is no conflict
    assert ok(await client.put(f"{ROLES}/{first['id']}", headers=admin, json={
        "name": "APPROVER", "behaviors": [1000], "accountIds": [acme]}))["name"] == "APPROVER"
    # another tenant may use the name
    other = await other_tenant_admin(core, client)
    theirs = await new_b2b_account(core, "Theirs", tenant_id=300, customer_set_id=await _other_set(core))
    assert ok(await client.post(ROLES, headers=other, json={"name": "Approver", "behaviors": [1000],
                                                            "accountIds": [theirs]}))["name"] == "Approver"
    # and never sees this tenant's roles
    assert_error(await client.get(f"{ROLES}/{first['id']}", headers=other), 404, "ITEM_NOT_FOUND")
    assert_error(await client.delete(f"{ROLES}/{first['id']}", headers=other), 404, "ITEM_NOT_FOUND")
    assert ok(await client.get(f"{ROLES}/{first['id']}", headers=admin))["name"] == "APPROVER"


async def _other_set(core: Core) -> int:
    site = await core.store.get_site(400)
    assert site is not None
    return site.customer_set_id


async def test_giving_and_taking_a_role(client: httpx.AsyncClient, admin: dict[str, str], core: Core) -> None:
    acme = await new_b2b_account(core, "Acme")
    branch = await new_b2b_account(core, "Acme North", acme)
    role = await create_role(client, admin, "Approver", [1000, 1001], [acme])
    assert (await client.put(f"{ROLES}/{role['id']}/accounts/{branch}", headers=admin)).status_code == 200
    assert (await client.put(f"{ROLES}/{role['id']}/accounts/{branch}", headers=admin)).status_code == 200  # again
    assert ok(await client.get(f"{ROLES}/{role['id']}", headers=admin))["accountIds"] == sorted([acme, branch])
    assert len(await audit_events(core, "b2b.role-given")) == 1

    listed = ok(await client.get(f"{B2B}/{branch}/roles", headers=admin))
    assert [r["id"] for r in listed["items"]] == [1, 2, 3, role["id"]] and listed["totalCount"] == 4
    assert [r["name"] for r in listed["items"][:3]] == ["Admin", "Purchaser", "Non-Purchaser"]

    await _user_with_role(core, branch, role["id"], "pat@acme.example")
    await _user_with_role(core, acme, role["id"], "lee@acme.example")
    assert (await client.delete(f"{ROLES}/{role['id']}/accounts/{branch}", headers=admin)).status_code == 204
    assert await _user_roles(core, role["id"]) == 1  # lee's, in acme, stays
    assert [r["id"] for r in ok(await client.get(f"{B2B}/{branch}/roles", headers=admin))["items"]] == [1, 2, 3]
    assert_error(await client.delete(f"{ROLES}/{role['id']}/accounts/{branch}", headers=admin), 404, "ITEM_NOT_FOUND")
    [entry] = await audit_events(core, "b2b.role-taken")
    assert entry["account_id"] == branch and entry["detail"] == {"roleId": role["id"], "userRolesRemoved": 1}
    assert_error(await client.put(f"{ROLES}/99999/accounts/{acme}", headers=admin), 404, "ITEM_NOT_FOUND")


async def test_roles_of_an_account_are_its_own(client: httpx.AsyncClient, admin: dict[str, str], core: Core,
                                               nina: Shopper) -> None:
    acme = await new_b2b_account(core, "Acme")
    globex = await new_b2b_account(core, "Globex")
    mine = await create_role(client, admin, "Acme buyer", [1008], [acme])
    await create_role(client, admin, "Globex buyer", [1008], [globex])
    assert [r["id"] for r in ok(await client.get(f"{B2B}/{acme}/roles", headers=admin))["items"]] == [1, 2, 3, mine["id"]]
    # taking a role from its last account would make it usable everywhere: refused, nothing changes
    assert_error(await client.delete(f"{ROLES}/{mine['id']}/accounts/{acme}", headers=admin), 400,
                 "MISSING_OR_INVALID_PARAMETER", "accountId")
    assert ok(await client.get(f"{ROLES}/{mine['id']}", headers=admin))["accountIds"] == [acme]
    assert mine["id"] not in [r["id"] for r in ok(await client.get(f"{B2B}/{globex}/roles", headers=admin))["items"]]
    # a role given to no account, by the merchant's choice, is usable in every B2B account of the tenant
    everywhere = ok(await client.post(ROLES, headers=admin, json={"name": "Everywhere", "behaviors": [1008]}))
    assert everywhere["accountIds"] == []
    for account in (acme, globex):
        ids = [r["id"] for r in ok(await client.get(f"{B2B}/{account}/roles", headers=admin))["items"]]
        assert everywhere["id"] in ids
    # and replacing its accounts scopes it again
    ok(await client.put(f"{ROLES}/{everywhere['id']}", headers=admin, json={
        "name": "Everywhere", "behaviors": [1008], "accountIds": [globex]}))
    assert everywhere["id"] not in [r["id"] for r in ok(await client.get(f"{B2B}/{acme}/roles", headers=admin))["items"]]
    # not a B2B account, or another customer set's: not found
    assert_error(await client.get(f"{B2B}/{nina.account_id}/roles", headers=admin), 404, "ITEM_NOT_FOUND")
    outlet = await outlet_account(client)
    assert_error(await client.get(f"{B2B}/{outlet}/roles", headers=admin), 404, "ITEM_NOT_FOUND")
    site = await core.store.get_site(SITE_OTHER_SET)
    assert site is not None
    other_set = await new_b2b_account(core, "Outlet Co", customer_set_id=site.customer_set_id)
    assert_error(await client.get(f"{B2B}/{other_set}/roles", headers=admin), 404, "ITEM_NOT_FOUND")


async def test_apply_to_future_children(client: httpx.AsyncClient, admin: dict[str, str], core: Core) -> None:
    acme = await new_b2b_account(core, "Acme")
    north = await new_b2b_account(core, "Acme North", acme)
    inherited = await create_role(client, admin, "Inherited", [1008], [acme])
    kept = await create_role(client, admin, "Kept", [1008], [acme])
    url = f"{ROLES}/{inherited['id']}/accounts/{acme}/apply-to-future-children"
    assert (await client.put(f"{url}/TRUE", headers=admin)).status_code == 200
    assert_error(await client.put(f"{url}/maybe", headers=admin), 400, parameter="enabled")
    assert_error(await client.put(f"{ROLES}/{inherited['id']}/accounts/{north}/apply-to-future-children/true",
                                  headers=admin), 404, "ITEM_NOT_FOUND")  # north does not have the role
    # an existing child is left as it is; accounts created below later, at any depth, get the role
    assert [r["id"] for r in ok(await client.get(f"{B2B}/{north}/roles", headers=admin))["items"]] == [1, 2, 3]
    grandchild = await new_b2b_account(core, "Acme North East", north)
    async with core.store.transaction() as tx:
        assert await roles.inherit_roles(tx, grandchild, north) == [inherited["id"]]
    ids = [r["id"] for r in ok(await client.get(f"{B2B}/{grandchild}/roles", headers=admin))["items"]]
    assert inherited["id"] in ids and kept["id"] not in ids
    # switched off: the next child does not get it
    assert (await client.put(f"{url}/false", headers=admin)).status_code == 200
    late = await new_b2b_account(core, "Acme South", acme)
    async with core.store.transaction() as tx:
        assert await roles.inherit_roles(tx, late, acme) == []
    assert [e["detail"]["enabled"] for e in await audit_events(core, "b2b.role-inheritance")] == [True, False]


async def test_only_merchants_manage_roles(client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str],
                                           nina: Shopper, core: Core) -> None:
    acme = await new_b2b_account(core, "Acme")
    role = await create_role(client, admin, "Approver", [1000], [acme])
    body = {"name": "Mine", "behaviors": [1000], "accountIds": [acme]}
    for hdrs in (app_headers, nina.headers):
        for rid in (role["id"], 424242):  # 403 before 404: a role id cannot be probed
            assert_error(await client.get(f"{ROLES}/{rid}", headers=hdrs), 403, "FORBIDDEN")
            assert_error(await client.put(f"{ROLES}/{rid}", headers=hdrs, json=body), 403)
            assert_error(await client.put(f"{ROLES}/{rid}", headers=hdrs, content=b"{bad"), 403)
            assert_error(await client.delete(f"{ROLES}/{rid}", headers=hdrs), 403)
            assert_error(await client.put(f"{ROLES}/{rid}/accounts/{acme}", headers=hdrs), 403)
            assert_error(await client.delete(f"{ROLES}/{rid}/accounts/{acme}", headers=hdrs), 403)
            assert_error(await client.put(f"{ROLES}/{rid}/accounts/{acme}/apply-to-future-children/x", headers=hdrs), 403)
        assert_error(await client.post(ROLES, headers=hdrs, json=body), 403)
        assert_error(await client.post(ROLES, headers=hdrs, content=b"not json"), 403)
        assert_error(await client.get(f"{B2B}/{acme}/roles", headers=hdrs), 403)
    assert ok(await client.get(f"{ROLES}/{role['id']}", headers=admin)) == role
    assert await count(core, t.b2b_roles) == 4


async def test_child_accounts_created_under_a_parent_inherit(client: httpx.AsyncClient, admin: dict[str, str],
                                                             core: Core) -> None:
    acme = (await add_account(client, admin, "Acme"))["id"]
    inherited = await create_role(client, admin, "Inherited", [1008], [acme])
    kept = await create_role(client, admin, "Kept", [1008], [acme])
    assert (await client.put(f"{ROLES}/{inherited['id']}/accounts/{acme}/apply-to-future-children/true",
                             headers=admin)).status_code == 200
    north = (await add_account(client, admin, "Acme North", parentAccountId=acme))["id"]
    east = (await add_account(client, admin, "Acme North East", parentAccountId=north))["id"]
    for account in (north, east):
        ids = [r["id"] for r in ok(await client.get(f"{B2B}/{account}/roles", headers=admin))["items"]]
        assert inherited["id"] in ids and kept["id"] not in ids
    # a role given with it can be given to the child's users
    assert (await add_user(client, admin, east, "pat@acme.example", (inherited["id"],))).status_code == 200
    assert (await add_user(client, admin, east, "lee@acme.example", (kept["id"],))).status_code == 404
    # switched off at the top: accounts created below from now on do not get it, at any depth
    assert (await client.put(f"{ROLES}/{inherited['id']}/accounts/{acme}/apply-to-future-children/false",
                             headers=admin)).status_code == 200
    for parent in (acme, east):
        later = (await add_account(client, admin, f"Later under {parent}", parentAccountId=parent))["id"]
        ids = [r["id"] for r in ok(await client.get(f"{B2B}/{later}/roles", headers=admin))["items"]]
        assert ids == [1, 2, 3]



async def test_users_who_manage_users_list_their_accounts_roles(client: httpx.AsyncClient, admin: dict[str, str],
                                                                app_headers: dict[str, str], core: Core) -> None:
    acme = (await add_account(client, admin, "Acme"))["id"]
    globex = (await add_account(client, admin, "Globex"))["id"]
    role = await create_role(client, admin, "Approver", [1000, 1001], [acme])
    boss = await user_in(client, admin, app_headers, acme, "boss@acme.example", (ADMIN_ROLE,))
    approver = await user_in(client, admin, app_headers, acme, "approver@acme.example", (role["id"],))
    buyer = await user_in(client, admin, app_headers, acme, "buyer@acme.example", (PURCHASER_ROLE,))
    for user in (boss, approver):
        listed = ok(await client.get(f"{B2B}/{acme}/roles", headers=user.headers))
        assert [r["id"] for r in listed["items"]] == [1, 2, 3, role["id"]]
        assert_error(await client.get(f"{B2B}/{globex}/roles", headers=user.headers), 403, "FORBIDDEN")
        # reading, never managing, roles
        assert_error(await client.get(f"{ROLES}/{role['id']}", headers=user.headers), 403, "FORBIDDEN")
        assert_error(await client.delete(f"{ROLES}/{role['id']}", headers=user.headers), 403, "FORBIDDEN")
        assert_error(await client.post(ROLES, headers=user.headers, json={
            "name": "Mine", "behaviors": [1000], "accountIds": [acme]}), 403, "FORBIDDEN")
    assert_error(await client.get(f"{B2B}/{acme}/roles", headers=buyer.headers), 403, "FORBIDDEN")
    assert ok(await client.get(f"{ROLES}/{role['id']}", headers=admin)) == role


async def test_two_takings_at_once_never_leave_a_role_tenant_wide(client: httpx.AsyncClient, admin: dict[str, str],
                                                                  core: Core) -> None:
    """The role's last two accounts taken at once, 10 times: one taking is done, the other refused."""
    import asyncio

    accounts = [await new_b2b_account(core, f"Co {i}") for i in range(2)]
    for round_ in range(10):
        role = await create_role(client, admin, f"Pair {round_}", [1008], accounts)
        answers = await asyncio.gather(*(client.delete(f"{ROLES}/{role['id']}/accounts/{a}", headers=admin)
                                         for a in accounts))
        assert sorted(r.status_code for r in answers) == [204, 400]
        assert len(ok(await client.get(f"{ROLES}/{role['id']}", headers=admin))["accountIds"]) == 1
