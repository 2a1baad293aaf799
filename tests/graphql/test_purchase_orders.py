"""Purchase-order accounts over GraphQL (purchase_orders/graphql.py): each twin answers what its REST twin
answers (compared with REST reads of the same account), and refuses what it refuses, with the REST status and
envelope in errors[0].extensions.response; a refused write changes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.parts_support import ACCOUNTS, Shopper
from tests.api.support import ok
from tests.graphql.support import data, gql, refused, storefront

pytestmark = pytest.mark.usefixtures("seeded")

PO = ("id accountId isEnabled creditLimit availableBalance totalAvailableBalance overdraftAllowance "
      "overdraftAllowanceType customerPurchaseOrderPaymentTerms { siteId code description } "
      "auditInfo { createDate createBy updateDate updateBy }")
TX = ("customerPurchaseOrderAccountId transactionDate transactionAmount creditLimit availableBalance "
      "transactionTypeId transactionDescription author orderId purchaseOrderNumber")
PAGE = "startIndex pageSize pageCount totalCount"

READ = f"query q($a: Int!) {{ customerPurchaseOrderAccount(accountId: $a) {{ {PO} }} }}"
CREATE = f"""mutation q($a: Int!, $i: CustomerPurchaseOrderAccountInput) {{
  createCustomerAccountPurchaseOrderAccount(accountId: $a, customerPurchaseOrderAccountInput: $i) {{ {PO} }}
}}"""
UPDATE = f"""mutation q($a: Int!, $i: CustomerPurchaseOrderAccountInput) {{
  updateCustomerPurchaseOrderAccount(accountId: $a, customerPurchaseOrderAccountInput: $i) {{ {PO} }}
}}"""
ADD = f"""mutation q($a: Int!, $i: PurchaseOrderTransactionInput) {{
  createCustomerAccountPurchaseOrderAccountTransaction(accountId: $a, purchaseOrderTransactionInput: $i) {{ {TX} }}
}}"""
HISTORY = f"""query q($a: Int!, $s: Int, $p: Int, $sort: String, $f: String) {{
  customerPurchaseOrderAccountTransaction(accountId: $a, startIndex: $s, pageSize: $p, sortBy: $sort, filter: $f) {{
    {PAGE} items {{ {TX} }}
  }}
}}"""
ALL = f"""mutation q($s: Int, $p: Int, $sort: String, $t: String) {{
  createPurchaseOrderAccount(startIndex: $s, pageSize: $p, sortBy: $sort, accountType: $t) {{
    {PAGE} items {{ accountId creditLimit availableBalance }}
  }}
}}"""


def _input(account_id: int, **fields: Any) -> dict[str, Any]:
    """A CustomerPurchaseOrderAccountInput: Kibo's schema makes id, accountId and both balances required, so
    clients send them (the balances are not the client's to set: the service ignores them)."""
    return {"id": 0, "accountId": account_id, "availableBalance": 0, "totalAvailableBalance": 0, **fields}


def _tx(**fields: Any) -> dict[str, Any]:
    """A PurchaseOrderTransactionInput with the fields Kibo's schema makes required (the service sets them)."""
    return {"customerPurchaseOrderAccountId": 0, "siteId": 0, "tenantId": 0,
            "transactionDate": "2026-11-27T12:00:00.000Z", "creditLimit": 0, "availableBalance": 0, **fields}


def _rest(account_id: int, path: str = "purchaseOrderAccount") -> str:
    return f"{ACCOUNTS}/{account_id}/{path}"


def _same(gql_item: dict[str, Any], rest_item: dict[str, Any]) -> None:
    """The GraphQL answer holds exactly the REST answer's values for the fields it selected."""
    for key, value in gql_item.items():
        if isinstance(value, dict):
            _same(value, rest_item[key])
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            assert len(value) == len(rest_item[key]), key
            for mine, theirs in zip(value, rest_item[key], strict=True):
                _same(mine, theirs)
        else:
            assert value == rest_item[key], key


async def test_a_merchant_manages_a_purchase_order_account_and_its_transactions(
        client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper) -> None:
    merchant = storefront(admin)
    created = data(await gql(client, merchant, CREATE, {"a": nina.account_id, "i": _input(
        nina.account_id, creditLimit=500, isEnabled=True, overdraftAllowance=50, overdraftAllowanceType="Amount",
        customerPurchaseOrderPaymentTerms=[{"siteId": 200, "code": "NET30", "description": "30 days"}])}))
    created = created["createCustomerAccountPurchaseOrderAccount"]
    assert (created["creditLimit"], created["availableBalance"], created["totalAvailableBalance"]) == (500, 500, 550)
    _same(created, ok(await client.get(_rest(nina.account_id), headers=admin)))

    added = data(await gql(client, merchant, ADD, {"a": nina.account_id, "i": _tx(
        transactionTypeId=2, transactionAmount=120.25, orderId="o-1", purchaseOrderNumber="PO-7")}))
    added = added["createCustomerAccountPurchaseOrderAccountTransaction"]
    assert (added["transactionAmount"], added["availableBalance"], added["orderId"]) == (120.25, 379.75, "o-1")

    changed = data(await gql(client, merchant, UPDATE, {"a": nina.account_id, "i": _input(nina.account_id, creditLimit=600)}))
    assert changed["updateCustomerPurchaseOrderAccount"]["availableBalance"] == 479.75

    history = data(await gql(client, merchant, HISTORY, {"a": nina.account_id, "p": 1}))
    page = history["customerPurchaseOrderAccountTransaction"]
    assert (page["totalCount"], page["pageSize"], page["pageCount"]) == (3, 1, 3)
    rest_page = ok(await client.get(_rest(nina.account_id, "PurchaseOrderTransaction"), headers=admin,
                                    params={"pageSize": "1"}))
    _same(page["items"][0], rest_page["items"][0])  # newest first, as REST: the limit change

    listed = data(await gql(client, merchant, ALL, {"p": 10}))["createPurchaseOrderAccount"]
    assert [(i["accountId"], i["availableBalance"]) for i in listed["items"]] == [(nina.account_id, 479.75)]


async def test_the_shopper_reads_their_own_and_changes_nothing(
        client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper, app_headers: dict[str, str]) -> None:
    ok(await client.post(_rest(nina.account_id), headers=admin, json={"creditLimit": 100}))
    mine = storefront(app_headers, nina.headers["x-vol-user-claims"])
    read = data(await gql(client, mine, READ, {"a": nina.account_id}))["customerPurchaseOrderAccount"]
    assert (read["accountId"], read["availableBalance"]) == (nina.account_id, 100)
    assert data(await gql(client, mine, HISTORY, {"a": nina.account_id}))[
        "customerPurchaseOrderAccountTransaction"]["totalCount"] == 1

    # a shopper neither raises their limit, nor posts a refund to themselves, nor lists the customer set's
    refused(await gql(client, mine, UPDATE, {"a": nina.account_id, "i": _input(nina.account_id, creditLimit=10_000)}), 403,
            "FORBIDDEN", "updateCustomerPurchaseOrderAccount")
    refused(await gql(client, mine, ADD, {"a": nina.account_id, "i": _tx(transactionTypeId=5, transactionAmount=50)}),
            403, "FORBIDDEN", "createCustomerAccountPurchaseOrderAccountTransaction")
    refused(await gql(client, mine, ALL, {}), 403, "FORBIDDEN", "createPurchaseOrderAccount")
    after = ok(await client.get(_rest(nina.account_id), headers=admin))
    assert (after["creditLimit"], after["availableBalance"]) == (100, 100)


async def test_another_shoppers_account_is_refused_alike_whether_it_has_one_or_not(
        client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper, app_headers: dict[str, str]) -> None:
    from tests.api.parts_support import shopper

    otto = await shopper(client, app_headers, "otto@example.com")
    ok(await client.post(_rest(otto.account_id), headers=admin, json={"creditLimit": 100}))
    mine = storefront(app_headers, nina.headers["x-vol-user-claims"])
    with_one = refused(await gql(client, mine, READ, {"a": otto.account_id}), 403, "FORBIDDEN",
                       "customerPurchaseOrderAccount")
    without = refused(await gql(client, mine, READ, {"a": otto.account_id + 1000}), 403, "FORBIDDEN",
                      "customerPurchaseOrderAccount")
    assert with_one == without


async def test_a_bad_amount_is_the_rest_400_and_changes_nothing(
        client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper) -> None:
    ok(await client.post(_rest(nina.account_id), headers=admin, json={"creditLimit": 100}))
    merchant = storefront(admin)
    body = refused(await gql(client, merchant, ADD, {"a": nina.account_id, "i": _tx(
        transactionTypeId=2, transactionAmount=1.001)}), 400, "MISSING_OR_INVALID_PARAMETER",
        "createCustomerAccountPurchaseOrderAccountTransaction")
    rest = await client.post(_rest(nina.account_id, "PurchaseOrderTransaction"), headers=admin,
                             json={"transactionTypeId": 2, "transactionAmount": 1.001})
    assert rest.status_code == 400 and rest.json()["message"] == body["message"]
    # past the floor: the REST 409
    refused(await gql(client, merchant, ADD, {"a": nina.account_id, "i": _tx(
        transactionTypeId=2, transactionAmount=100.01)}), 409, "VALIDATION_CONFLICT",
        "createCustomerAccountPurchaseOrderAccountTransaction")
    assert ok(await client.get(_rest(nina.account_id), headers=admin))["availableBalance"] == 100
