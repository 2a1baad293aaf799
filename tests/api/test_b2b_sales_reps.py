"""Sales reps of B2B accounts: add several, replace, add one, remove one, and the accounts of a rep."""

from __future__ import annotations

import httpx
import pytest

from tests.api.b2b_more_support import B2B, audit_events, new_b2b_account
from tests.api.parts_support import Shopper, other_tenant_admin
from tests.api.support import assert_error, ok
from tests.conftest import SITE_OTHER_SET
from ticketbooth.core import Core

pytestmark = pytest.mark.usefixtures("seeded")


def _reps(account: dict[str, object]) -> list[str]:
    return [r["adminUserId"] for r in account["salesReps"]]  # type: ignore[attr-defined, index]


async def test_assigning_and_removing_sales_reps(client: httpx.AsyncClient, admin: dict[str, str], core: Core) -> None:
    acme = await new_b2b_account(core, "Acme")
    globex = await new_b2b_account(core, "Globex")
    account = ok(await client.post(f"{B2B}/{acme}/addsalesreps", headers=admin, json=["rep-1", " rep-2 ", "rep-1"]))
    assert account["id"] == acme and _reps(account) == ["rep-1", "rep-2"]
    assert account["salesReps"][0] == {"accountId": acme, "adminUserId": "rep-1"}
    again = ok(await client.post(f"{B2B}/{acme}/addsalesreps", headers=admin, json=["rep-2", "rep-3"]))
    assert sorted(_reps(again)) == ["rep-1", "rep-2", "rep-3"]
    assert _reps(ok(await client.post(f"{B2B}/{globex}/salesrep/rep-1", headers=admin))) == ["rep-1"]
    assert ok(await client.get(f"{B2B}/salesrep/rep-1", headers=admin)) == [acme, globex]
    assert ok(await client.get(f"{B2B}/salesrep/rep-3", headers=admin)) == [acme]
    assert ok(await client.get(f"{B2B}/salesrep/nobody", headers=admin)) == []

    replaced = ok(await client.put(f"{B2B}/{acme}/salesrep", headers=admin, json=["rep-3", "rep-4"]))
    assert sorted(_reps(replaced)) == ["rep-3", "rep-4"]
    assert ok(await client.get(f"{B2B}/salesrep/rep-1", headers=admin)) == [globex]
    assert _reps(ok(await client.delete(f"{B2B}/{acme}/salesrep/rep-3", headers=admin))) == ["rep-4"]
    assert_error(await client.delete(f"{B2B}/{acme}/salesrep/rep-3", headers=admin), 404, "ITEM_NOT_FOUND")
    assert _reps(ok(await client.put(f"{B2B}/{acme}/salesrep", headers=admin, json=[]))) == []
    details = [e["detail"] for e in await audit_events(core, "b2b.sales-reps-changed")]
    assert details[0] == {"added": ["rep-1", "rep-2"], "removed": []}
    assert {"added": ["rep-4"], "removed": ["rep-1", "rep-2"]} in details
    assert details[-1] == {"added": [], "removed": ["rep-4"]}


@pytest.mark.parametrize(("body", "parameter"), [
    ({"rep": 1}, "body"), ("rep-1", "body"), ([""], "body[0]"), ([None], "body[0]"), ([5], "body[0]"),
    (["x" * 201], "body[0]"), (["a\x00b"], "body[0]"), ([f"r{i}" for i in range(101)], "body"),
])
async def test_bad_lists_are_refused(client: httpx.AsyncClient, admin: dict[str, str], core: Core, body: object,
                                     parameter: str) -> None:
    acme = await new_b2b_account(core, "Acme")
    for method, path in (("POST", "addsalesreps"), ("PUT", "salesrep")):
        assert_error(await client.request(method, f"{B2B}/{acme}/{path}", headers=admin, json=body), 400,
                     "MISSING_OR_INVALID_PARAMETER", parameter)
    assert ok(await client.get(f"{B2B}/salesrep/rep-1", headers=admin)) == []
    assert await audit_events(core, "b2b.sales-reps-changed") == []


async def test_only_merchants_and_only_their_accounts(client: httpx.AsyncClient, admin: dict[str, str],
                                                      app_headers: dict[str, str], nina: Shopper, core: Core) -> None:
    acme = await new_b2b_account(core, "Acme")
    ok(await client.post(f"{B2B}/{acme}/salesrep/rep-1", headers=admin))
    for hdrs in (app_headers, nina.headers):
        for account in (acme, 999999):
            assert_error(await client.post(f"{B2B}/{account}/addsalesreps", headers=hdrs, json=["x"]), 403, "FORBIDDEN")
            assert_error(await client.post(f"{B2B}/{account}/addsalesreps", headers=hdrs, content=b"{"), 403)
            assert_error(await client.put(f"{B2B}/{account}/salesrep", headers=hdrs, json=[]), 403)
            assert_error(await client.post(f"{B2B}/{account}/salesrep/x", headers=hdrs), 403)
            assert_error(await client.delete(f"{B2B}/{account}/salesrep/rep-1", headers=hdrs), 403)
        assert_error(await client.get(f"{B2B}/salesrep/rep-1", headers=hdrs), 403)
    other = await other_tenant_admin(core, client)
    outlet_admin = {**admin, "x-vol-site": str(SITE_OTHER_SET)}
    for hdrs in (other, outlet_admin):
        assert_error(await client.post(f"{B2B}/{acme}/salesrep/x", headers=hdrs), 404, "ITEM_NOT_FOUND")
        assert_error(await client.put(f"{B2B}/{acme}/salesrep", headers=hdrs, json=[]), 404, "ITEM_NOT_FOUND")
        assert_error(await client.delete(f"{B2B}/{acme}/salesrep/rep-1", headers=hdrs), 404, "ITEM_NOT_FOUND")
        assert ok(await client.get(f"{B2B}/salesrep/rep-1", headers=hdrs)) == []
    assert_error(await client.post(f"{B2B}/{nina.account_id}/salesrep/x", headers=admin), 404, "ITEM_NOT_FOUND")
    assert ok(await client.get(f"{B2B}/salesrep/rep-1", headers=admin)) == [acme]
