"""/b2baccounts/{accountId}/hierarchy and /changeparent: the tree, moves with their subtree, no loops, the depth limit,
and opposite moves at once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.api.b2b_more_support import B2B, audit_events, new_b2b_account, nodes
from tests.api.b2b_support import add_account
from tests.api.parts_support import Shopper, other_tenant_admin
from tests.api.support import assert_error, ok
from ticketbooth.b2b.rules import MAX_DEPTH
from ticketbooth.core import Core

pytestmark = pytest.mark.usefixtures("seeded")


def _consistent(found: dict[int, tuple[int | None, int, int]]) -> None:
    """Every account reaches a top account by its parent links, without a loop, and its root and depth say so."""
    for account_id, (_, root, depth) in found.items():
        seen, current, steps = [account_id], account_id, 0
        while found[current][0] is not None:
            current = found[current][0]  # type: ignore[assignment]
            assert current not in seen, f"loop: {[*seen, current]}"
            seen.append(current)
            steps += 1
        assert (root, depth) == (current, steps), (account_id, found[account_id], current, steps)
        assert depth <= MAX_DEPTH


def _move(client: httpx.AsyncClient, admin: dict[str, str], account: int, parent: int) -> Any:
    return client.post(f"{B2B}/{account}/changeparent/{parent}", headers=admin)


async def test_the_hierarchy_of_an_account(client: httpx.AsyncClient, admin: dict[str, str], core: Core) -> None:
    acme = await new_b2b_account(core, "Acme")
    north = await new_b2b_account(core, "Acme North", acme)
    south = await new_b2b_account(core, "Acme South", acme)
    east = await new_b2b_account(core, "Acme North East", north)
    await new_b2b_account(core, "Globex")
    for asked in (acme, east):  # from any account of it, the whole tree
        result = ok(await client.get(f"{B2B}/{asked}/hierarchy", headers=admin))
        assert set(result) == {"accounts", "hierarchy"}
        assert [a["id"] for a in result["accounts"]] == [acme, north, south, east]
        by_id = {a["id"]: a for a in result["accounts"]}
        assert (by_id[east]["parentAccountId"], by_id[east]["rootAccountId"]) == (north, acme)
        assert by_id[acme]["parentAccountId"] is None and by_id[acme]["companyOrOrganization"] == "Acme"
        assert result["hierarchy"] == {"id": acme, "children": [
            {"id": north, "children": [{"id": east, "children": []}]}, {"id": south, "children": []}]}
    assert ok(await client.get(f"{B2B}/{acme}/hierarchy", headers=admin, params={"responseFields": "hierarchy(id)"})) \
        == {"hierarchy": {"id": acme}}


async def test_moving_an_account_moves_its_subtree(client: httpx.AsyncClient, admin: dict[str, str], core: Core) -> None:
    acme = await new_b2b_account(core, "Acme")
    north = await new_b2b_account(core, "Acme North", acme)
    east = await new_b2b_account(core, "Acme North East", north)
    east2 = await new_b2b_account(core, "Acme North East 2", east)
    globex = await new_b2b_account(core, "Globex")
    moved = ok(await _move(client, admin, north, globex))
    assert (moved["id"], moved["parentAccountId"], moved["rootAccountId"]) == (north, globex, globex)
    found = await nodes(core)
    assert found[north] == (globex, globex, 1) and found[east] == (north, globex, 2) and found[east2] == (east, globex, 3)
    assert found[acme] == (None, acme, 0)
    _consistent(found)
    [entry] = await audit_events(core, "b2b.parent-changed")
    assert entry["account_id"] == north and entry["detail"] == {"previousParentAccountId": acme, "parentAccountId": globex,
                                                                "moved": 3}
    # within its own tree, up a level
    assert ok(await _move(client, admin, east2, north))["parentAccountId"] == north
    assert (await nodes(core))[east2] == (north, globex, 2)
    # to where it is already: nothing changes, nothing is recorded
    assert ok(await _move(client, admin, east2, north))["parentAccountId"] == north
    assert len(await audit_events(core, "b2b.parent-changed")) == 2


async def test_no_loops(client: httpx.AsyncClient, admin: dict[str, str], core: Core) -> None:
    acme = await new_b2b_account(core, "Acme")
    north = await new_b2b_account(core, "Acme North", acme)
    east = await new_b2b_account(core, "Acme North East", north)
    before = await nodes(core)
    for account, parent in ((acme, acme), (acme, north), (acme, east), (north, east), (north, north)):
        assert_error(await _move(client, admin, account, parent), 400, "MISSING_OR_INVALID_PARAMETER", "parentAccountId")
    assert await nodes(core) == before
    assert await audit_events(core, "b2b.parent-changed") == []


async def test_the_depth_limit(client: httpx.AsyncClient, admin: dict[str, str], core: Core) -> None:
    chain = [await new_b2b_account(core, "Top")]
    for level in range(MAX_DEPTH):
        chain.append(await new_b2b_account(core, f"Level {level + 1}", chain[-1]))
    other = await new_b2b_account(core, "Other")
    leaf = await new_b2b_account(core, "Leaf", other)
    before = await nodes(core)
    # under the deepest account: one level too deep, alone or with its subtree
    assert_error(await _move(client, admin, other, chain[-1]), 400, parameter="parentAccountId")
    assert_error(await _move(client, admin, other, chain[-2]), 400, parameter="parentAccountId")
    assert await nodes(core) == before
    # a leaf alone still fits under the last-but-one
    assert ok(await _move(client, admin, leaf, chain[-2]))["rootAccountId"] == chain[0]
    assert (await nodes(core))[leaf][2] == MAX_DEPTH
    _consistent(await nodes(core))


async def test_opposite_moves_at_once_never_make_a_loop(client: httpx.AsyncClient, admin: dict[str, str],
                                                        core: Core) -> None:
    """A under B and B under A, sent at once, 25 times in one tree and 25 times across two trees: one of each pair
    is done, the other refused, and the hierarchy stays a forest whose roots and depths are right."""
    top = await new_b2b_account(core, "Top")
    a = await new_b2b_account(core, "A", top)
    b = await new_b2b_account(core, "B", top)
    a_child = await new_b2b_account(core, "A child", a)
    b_child = await new_b2b_account(core, "B child", b)
    for round_ in range(50):
        if round_ == 25:  # now A and B at the top of two trees
            for account in (a, b):
                assert ok(await _move(client, admin, account, top))
            await _detach(core, a)
            await _detach(core, b)
        answers = await asyncio.gather(_move(client, admin, a, b), _move(client, admin, b, a))
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [200, 400], [r.text for r in answers]
        found = await nodes(core)
        _consistent(found)
        assert found[a_child][0] == a and found[b_child][0] == b
        # put them back side by side
        under = a if found[b][0] == a else b
        if round_ < 25:
            assert ok(await _move(client, admin, under, top))
        else:
            await _detach(core, under)
    _consistent(await nodes(core))


async def _detach(core: Core, account_id: int) -> None:
    """Make the account the top of its own tree again (its subtree with it)."""
    from sqlalchemy import update

    from ticketbooth.db import tables as t

    found = await nodes(core)
    below = [a for a in found if _is_under(found, a, account_id)]
    depth = found[account_id][2]
    async with core.store.engine.begin() as conn:
        await conn.execute(update(t.b2b_accounts).where(t.b2b_accounts.c.account_id == account_id).values(
            parent_account_id=None))
        await conn.execute(update(t.b2b_accounts).where(t.b2b_accounts.c.account_id.in_(below)).values(
            root_account_id=account_id, depth=t.b2b_accounts.c.depth - depth))


def _is_under(found: dict[int, tuple[int | None, int, int]], account: int, top: int) -> bool:
    current: int | None = account
    while current is not None:
        if current == top:
            return True
        current = found[current][0]
    return False


async def test_only_merchants_read_and_move(client: httpx.AsyncClient, admin: dict[str, str],
                                            app_headers: dict[str, str], nina: Shopper, core: Core) -> None:
    acme = await new_b2b_account(core, "Acme")
    north = await new_b2b_account(core, "Acme North", acme)
    globex = await new_b2b_account(core, "Globex")
    before = await nodes(core)
    for hdrs in (app_headers, nina.headers):
        for account in (north, 987654):
            assert_error(await client.get(f"{B2B}/{account}/hierarchy", headers=hdrs), 403, "FORBIDDEN")
            assert_error(await _move(client, hdrs, account, globex), 403, "FORBIDDEN")
    other = await other_tenant_admin(core, client)
    assert_error(await client.get(f"{B2B}/{north}/hierarchy", headers=other), 404, "ITEM_NOT_FOUND")
    assert_error(await _move(client, other, north, globex), 404, "ITEM_NOT_FOUND")
    # a shopper's own (B2C) account is no B2B account, nor is an unknown id
    for account, parent in ((north, nina.account_id), (nina.account_id, acme), (north, 987654), (987654, acme)):
        assert_error(await _move(client, admin, account, parent), 404, "ITEM_NOT_FOUND")
    assert_error(await client.get(f"{B2B}/{nina.account_id}/hierarchy", headers=admin), 404, "ITEM_NOT_FOUND")
    assert await nodes(core) == before


async def test_a_child_created_while_its_parent_moves_gets_the_right_root(client: httpx.AsyncClient,
                                                                          admin: dict[str, str], core: Core) -> None:
    """Creating an account under X while X moves between two trees, 20 times: every new account's root and depth
    are those of X after the move or before it, never a mix (creation reads X's place under the hierarchy lock)."""
    first = (await add_account(client, admin, "First"))["id"]
    second = (await add_account(client, admin, "Second"))["id"]
    x = (await add_account(client, admin, "X", parentAccountId=first))["id"]
    for round_ in range(20):
        target = second if round_ % 2 == 0 else first
        created, moved = await asyncio.gather(
            client.post(B2B, headers=admin, json={"companyOrOrganization": f"Child {round_}", "parentAccountId": x}),
            _move(client, admin, x, target))
        assert created.status_code == 200 and moved.status_code == 200, (created.text, moved.text)
        found = await nodes(core)
        _consistent(found)
        assert found[created.json()["id"]][:2] == (x, target)


async def test_an_account_with_child_accounts_is_not_deleted(client: httpx.AsyncClient, admin: dict[str, str],
                                                             core: Core) -> None:
    acme = (await add_account(client, admin, "Acme"))["id"]
    north = (await add_account(client, admin, "Acme North", parentAccountId=acme))["id"]
    accounts = "/api/commerce/customer/accounts"
    before = await nodes(core)
    assert_error(await client.delete(f"{accounts}/{acme}", headers=admin), 409, "VALIDATION_CONFLICT")
    assert await nodes(core) == before
    assert (await client.delete(f"{accounts}/{north}", headers=admin)).status_code == 204
    assert (await client.delete(f"{accounts}/{acme}", headers=admin)).status_code == 204
    assert await nodes(core) == {}


async def test_a_b2b_admin_manages_the_tree_below_their_account(client: httpx.AsyncClient, admin: dict[str, str],
                                                                app_headers: dict[str, str], core: Core) -> None:
    """Kibo's B2B storefront's hierarchy page: a user with 1000 (manage account information) and 1010 (view child
    accounts) adds child accounts below the account of their ticket and moves accounts within that part of the
    tree; never above it, into it from outside, out of it, or their own account; a purchaser does neither."""
    from tests.api.b2b_support import PURCHASER_ROLE, user_in
    from ticketbooth.b2b.rules import APPROVED

    acme = await new_b2b_account(core, "Acme", status=APPROVED)
    north = await new_b2b_account(core, "Acme North", acme, status=APPROVED)
    south = await new_b2b_account(core, "Acme South", acme, status=APPROVED)
    globex = await new_b2b_account(core, "Globex", status=APPROVED)
    boss = await user_in(client, admin, app_headers, north, "nora.north@example.com")  # Admin of Acme North
    buyer = await user_in(client, admin, app_headers, north, "pete.north@example.com", (PURCHASER_ROLE,))

    # a child account of their own account, then one below it: pending approval, in the right place
    shop = ok(await client.post(B2B, headers=boss.headers, json={"companyOrOrganization": "North Shop",
                                                                 "parentAccountId": north}))
    assert (shop["parentAccountId"], shop["rootAccountId"], shop["approvalStatus"]) == (north, acme, "PendingApproval")
    kiosk = ok(await client.post(B2B, headers=boss.headers, json={"companyOrOrganization": "North Kiosk",
                                                                  "parentAccountId": shop["id"]}))
    assert kiosk["parentAccountId"] == shop["id"]
    # moving within their part of the tree
    ok(await _move(client, boss.headers, kiosk["id"], north))
    assert ok(await client.get(f"{B2B}/{kiosk['id']}", headers=admin))["parentAccountId"] == north

    before = await nodes(core)
    refusals = [
        (boss.headers, north, shop["id"]),  # their own account (the top of what is theirs)
        (boss.headers, kiosk["id"], south),  # out of their part of the tree
        (boss.headers, south, north),  # into it, from outside
        (boss.headers, kiosk["id"], acme),  # above their account
        (boss.headers, kiosk["id"], 987654),  # no such account: the same answer
        (buyer.headers, kiosk["id"], shop["id"]),  # a purchaser
    ]
    for hdrs, account, parent in refusals:
        assert_error(await _move(client, hdrs, account, parent), 403, "FORBIDDEN")
    for hdrs, parent in ((boss.headers, south), (boss.headers, globex), (boss.headers, 987654),
                         (buyer.headers, north)):
        r = await client.post(B2B, headers=hdrs, json={"companyOrOrganization": "Elsewhere", "parentAccountId": parent})
        assert_error(r, 403, "FORBIDDEN")
    assert await nodes(core) == before
