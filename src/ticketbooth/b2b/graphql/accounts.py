"""Resolvers of B2B accounts, their users and the users' roles: `b2bAccount`, `b2bAccounts`,
`createCustomerB2bAccount`, `updateCustomerB2bAccount`, `b2bAccountUsers`, `b2bAccountUserRoles`,
`createCustomerB2bAccountUser`, `updateCustomerB2bAccountUser`, `removeCustomerB2bAccountUser`,
`addRoleToCustomerB2bAccount` and `deleteB2bAccountRole`: the twins of b2b/routes/accounts.py and
b2b/routes/users.py (see the package docstring for the pattern)."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, QueryType

from ticketbooth.b2b import accounts as b2b_accounts
from ticketbooth.b2b import users as b2b_users
from ticketbooth.b2b.graphql import paths
from ticketbooth.b2b.routes import accounts as rest_accounts
from ticketbooth.b2b.routes import users as rest_users
from ticketbooth.b2b.routes.bodies import B2BAccountIn, B2BUserAndAuthInfo, B2BUserIn
from ticketbooth.b2b.routes.wire import b2b_user, user_role
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.kibo.graphql.context import Info, caller, core, read_input
from ticketbooth.kibo.lists import Paging

query = QueryType()
mutation = MutationType()


def _required(value: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """An input object the REST twin requires as its body: absent is the REST 400 naming the argument."""
    if value is None:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} is required")
    return value


# -- accounts ----------------------------------------------------------------------------------------------

@query.field("b2bAccount")
async def b2b_account(_: Any, info: Info, accountId: int) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    found = await b2b_accounts.get_account(core(info), ctx.caller, ctx.shopper, paths.account_id(accountId))
    return rest_accounts.shaped(found, ctx.shopper)


@query.field("b2bAccounts")
async def b2b_accounts_page(_: Any, info: Info, startIndex: int | None = None, pageSize: int | None = None,
                            sortBy: str | None = None, filter: str | None = None, q: str | None = None,
                            **_ignored: Any) -> dict[str, Any]:
    """`fields` and `qLimit` are accepted and ignored, as REST ignores them."""
    ctx = await caller(info, shopper="optional")
    paging = Paging(paths.text(startIndex), paths.text(pageSize), sortBy, filter)
    return await rest_accounts.account_page(core(info), ctx, paging, q)


@mutation.field("createCustomerB2bAccount")
async def create_customer_b2b_account(_: Any, info: Info,
                                      b2BAccountInput: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    body = read_input(B2BAccountIn, b2BAccountInput, "b2BAccountInput")
    return rest_accounts.shaped(await rest_accounts.add_from(core(info), ctx, body), ctx.shopper)


@mutation.field("updateCustomerB2bAccount")
async def update_customer_b2b_account(_: Any, info: Info, accountId: int,
                                      b2BAccountInput: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    account_id = paths.account_id(accountId)
    body = read_input(B2BAccountIn, _required(b2BAccountInput, "b2BAccountInput"), "b2BAccountInput")
    updated = await rest_accounts.update_from(core(info), ctx.caller, ctx.shopper, account_id, body)
    return rest_accounts.shaped(updated, ctx.shopper)


# -- users -------------------------------------------------------------------------------------------------

@query.field("b2bAccountUsers")
async def b2b_account_users(_: Any, info: Info, accountId: int, startIndex: int | None = None,
                            pageSize: int | None = None, sortBy: str | None = None, filter: str | None = None,
                            q: str | None = None, **_ignored: Any) -> dict[str, Any]:
    """`qLimit` is accepted and ignored, as REST ignores it."""
    ctx = await caller(info, shopper="optional")
    account_id = paths.account_id(accountId)
    paging = Paging(paths.text(startIndex), paths.text(pageSize), sortBy, filter)
    return await rest_users.user_page(core(info), ctx, account_id, paging, q)


@query.field("b2bAccountUserRoles")
async def b2b_account_user_roles(_: Any, info: Info, accountId: int, userId: str) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    account_id, user_id = paths.account_id(accountId), paths.user_id(userId)
    user, roles = await b2b_users.user_roles(core(info), ctx.caller, ctx.shopper, account_id, user_id)
    return {"items": [user_role(r, user.user.user_id, account_id) for r in roles], "totalCount": len(roles)}


@mutation.field("createCustomerB2bAccountUser")
async def create_customer_b2b_account_user(_: Any, info: Info, accountId: int,
                                           b2BUserAndAuthInfoInput: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    account_id = paths.account_id(accountId)
    body = read_input(B2BUserAndAuthInfo, _required(b2BUserAndAuthInfoInput, "b2BUserAndAuthInfoInput"),
                      "b2BUserAndAuthInfoInput")
    return b2b_user(await rest_users.add_user_from(core(info), ctx, account_id, body))


@mutation.field("updateCustomerB2bAccountUser")
async def update_customer_b2b_account_user(_: Any, info: Info, accountId: int, userId: str,
                                           b2BUserInput: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    account_id, user_id = paths.account_id(accountId), paths.user_id(userId)
    body = read_input(B2BUserIn, _required(b2BUserInput, "b2BUserInput"), "b2BUserInput")
    updated = await b2b_users.update_user(core(info), ctx.caller, ctx.shopper, account_id, user_id,
                                          rest_users.user_changes(body))
    return b2b_user(updated)


@mutation.field("removeCustomerB2bAccountUser")
async def remove_customer_b2b_account_user(_: Any, info: Info, accountId: int, userId: str) -> bool:
    ctx = await caller(info, shopper="optional")
    account_id, user_id = paths.account_id(accountId), paths.user_id(userId)
    await b2b_users.remove_user(core(info), ctx.caller, ctx.shopper, account_id, user_id)
    return True


@mutation.field("addRoleToCustomerB2bAccount")
async def add_role_to_customer_b2b_account(_: Any, info: Info, accountId: int, userId: str, roleId: int) -> bool:
    ctx = await caller(info, shopper="optional")
    account_id, user_id, role_id = paths.account_id(accountId), paths.user_id(userId), paths.role_id(roleId)
    await b2b_users.add_role(core(info), ctx.caller, ctx.shopper, account_id, user_id, role_id)
    return True


@mutation.field("deleteB2bAccountRole")
async def delete_b2b_account_role(_: Any, info: Info, accountId: int, userId: str, roleId: int) -> bool:
    ctx = await caller(info, shopper="optional")
    account_id, user_id, role_id = paths.account_id(accountId), paths.user_id(userId), paths.role_id(roleId)
    await b2b_users.remove_role(core(info), ctx.caller, ctx.shopper, account_id, user_id, role_id)
    return True
