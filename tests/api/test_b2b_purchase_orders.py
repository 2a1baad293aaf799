"""A B2B account's purchase-order account as its users see it (purchase_orders/access.py): a user reads it with
behavior 1007 (view purchase-order credit limit) and its transactions with 1006 (view purchase-order
transaction history), only for the account of their ticket, and never changes either; without the behavior, or
for another account, 403 whether or not that account has one. On SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from tests.api.b2b_support import PURCHASER_ROLE, add_account, merchant_role, user_in
from tests.api.support import CUSTOMER, assert_error, ok
from ticketbooth.b2b.rules import PLACE_ORDERS, VIEW_PURCHASE_ORDER_CREDIT_LIMIT
from ticketbooth.core import Core

pytestmark = pytest.mark.usefixtures("seeded")


def po(account_id: int, path: str = "purchaseOrderAccount") -> str:
    return f"{CUSTOMER}/accounts/{account_id}/{path}"


async def test_a_b2b_user_reads_the_purchase_order_account_with_the_behaviors_it_takes(
        client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str], core: Core) -> None:
    acme = await add_account(client, admin, "Acme Corp")
    other = await add_account(client, admin, "Other Corp")
    for company in (acme, other):
        ok(await client.post(po(company["id"]), headers=admin, json={"creditLimit": 500}))
    ok(await client.post(po(acme["id"], "PurchaseOrderTransaction"), headers=admin,
                         json={"transactionTypeId": 2, "transactionAmount": 120}))

    buyer = await user_in(client, admin, app_headers, acme["id"], "pia.purchaser@example.com", (PURCHASER_ROLE,))
    seen = ok(await client.get(po(acme["id"]), headers=buyer.headers))
    assert (seen["accountId"], seen["availableBalance"]) == (acme["id"], 380)
    history = ok(await client.get(po(acme["id"], "PurchaseOrderTransaction"), headers=buyer.headers))
    assert [x["transactionAmount"] for x in history["items"]] == [120, 500]  # newest first: the order, the limit

    # never changes it, never posts to it, never reads another account's (which has one) or a missing one
    r = await client.put(po(acme["id"]), headers=buyer.headers, json={"creditLimit": 10_000})
    assert_error(r, 403, "FORBIDDEN")
    r = await client.post(po(acme["id"], "PurchaseOrderTransaction"), headers=buyer.headers,
                          json={"transactionTypeId": 5, "transactionAmount": 100})
    assert_error(r, 403, "FORBIDDEN")
    foreign = await client.get(po(other["id"]), headers=buyer.headers)
    missing = await client.get(po(other["id"] + 1000), headers=buyer.headers)
    assert_error(foreign, 403, "FORBIDDEN")
    assert (missing.status_code, missing.json()) == (foreign.status_code, foreign.json())

    # a role that may see the credit limit but not the history, and one that may only order
    viewer_role = await merchant_role(core, "Limit viewer", (VIEW_PURCHASE_ORDER_CREDIT_LIMIT,), (acme["id"],))
    orders_role = await merchant_role(core, "Orderer", (PLACE_ORDERS,), (acme["id"],))
    limited = await user_in(client, admin, app_headers, acme["id"], "lea.limits@example.com", (viewer_role,))
    assert ok(await client.get(po(acme["id"]), headers=limited.headers))["creditLimit"] == 500
    assert_error(await client.get(po(acme["id"], "PurchaseOrderTransaction"), headers=limited.headers), 403,
                 "FORBIDDEN")
    orderer = await user_in(client, admin, app_headers, acme["id"], "olli.orders@example.com", (orders_role,))
    assert_error(await client.get(po(acme["id"]), headers=orderer.headers), 403, "FORBIDDEN")
    assert ok(await client.get(po(acme["id"]), headers=admin))["availableBalance"] == 380
