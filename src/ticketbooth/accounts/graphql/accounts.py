"""Resolvers of customer accounts: the current account, one account, the list, login state, adding an
account, adding accounts with logins, changing and deleting an account, registration with login, and a
login for an existing account.

Each calls the service function (or the shared REST function) its REST twin calls, with the same rights
checks, and shapes the answer with the same wire function; see the package docstring for the pattern.
"""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, QueryType

from ticketbooth.accounts import access
from ticketbooth.accounts import service as accounts
from ticketbooth.accounts.routes import accounts as rest
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.kibo import wire
from ticketbooth.kibo.bodies import (
    CustomerAccountAndAuthInfo,
    CustomerAccountIn,
    CustomerAccountUpdate,
    CustomerLoginInfo,
)
from ticketbooth.kibo.graphql.context import Info, caller, core, read_input
from ticketbooth.kibo.lists import Paging
from ticketbooth.login import state as logins
from ticketbooth.tickets import service as tickets
from ticketbooth.tickets.graphql import ticket

query = QueryType()
mutation = MutationType()


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)


@query.field("getCurrentAccount")
async def get_current_account(_: Any, info: Info) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    return wire.account(await tickets.current_account(core(info), ctx.shopper))


@query.field("customerAccount")
async def customer_account(_: Any, info: Info, accountId: int, userId: str | None = None) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    return wire.account(await accounts.get_account(core(info), ctx.caller, ctx.shopper, accountId))


@query.field("customerAccounts")
async def customer_accounts(_: Any, info: Info, startIndex: int | None = None,
                            pageSize: int | None = None, sortBy: str | None = None, filter: str | None = None,
                            q: str | None = None, **_ignored: Any) -> dict[str, Any]:
    """`fields`, `qLimit` and `isAnonymous` are accepted and ignored (no anonymous accounts are stored)."""
    ctx = await caller(info)
    paging = Paging(_text(startIndex), _text(pageSize), sortBy, filter)
    return await rest.account_page(core(info), ctx.caller, paging, q)


@query.field("customerAccountLoginState")
async def customer_account_login_state(_: Any, info: Info, accountId: int,
                                       userId: str | None = None) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    return wire.login_state(await logins.login_state(core(info), ctx.caller, ctx.shopper, accountId))


@mutation.field("createCustomerAccount")
async def create_customer_account(_: Any, info: Info,
                                  customerAccountInput: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx = await caller(info)
    access.require_admin(ctx.caller, "adding an account")
    body = read_input(CustomerAccountIn, customerAccountInput, "customerAccountInput")
    return wire.account(await rest.add_account_from(core(info), ctx.caller, body))


@mutation.field("createCustomerAccountAndLogin")
async def create_customer_account_and_login(
        _: Any, info: Info, customerAccountAndAuthInfoInput: dict[str, Any] | None = None,
) -> dict[str, Any]:
    ctx = await caller(info, shopper="lenient", app_credential=True)
    body = read_input(CustomerAccountAndAuthInfo, customerAccountAndAuthInfoInput, "customerAccountAndAuthInfoInput")
    return ticket(await rest.register(core(info), ctx, body))


@mutation.field("createCustomerAccountLogin")
async def create_customer_account_login(_: Any, info: Info, accountId: int,
                                        customerLoginInfoInput: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx = await caller(info, app_credential=True)
    body = read_input(CustomerLoginInfo, customerLoginInfoInput, "customerLoginInfoInput")
    return ticket(await rest.create_login_for(core(info), ctx.caller, accountId, body))


@mutation.field("createCustomerAccounts")
async def create_customer_accounts(_: Any, info: Info,
                                   customerAccountAndAuthInfoInput: dict[str, Any] | None = None) -> dict[str, Any]:
    """REST's bulk add with one entry (Kibo's GraphQL takes one CustomerAccountAndAuthInfo here): errors name
    it as entry `[0]`, as REST's do."""
    ctx = await caller(info)
    access.require_admin(ctx.caller, "adding accounts in bulk")
    body = read_input(CustomerAccountAndAuthInfo, customerAccountAndAuthInfoInput, "customerAccountAndAuthInfoInput")
    return await rest.add_accounts_from(core(info), ctx.caller, [body])


@mutation.field("updateCustomerAccount")
async def update_customer_account(_: Any, info: Info, accountId: int,
                                  customerAccountInput: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    rest.require_may_change(ctx, accountId)
    if customerAccountInput is None:  # as REST's required body
        raise InvalidParameter("customerAccountInput", "Missing or invalid parameter: customerAccountInput is required")
    body = read_input(CustomerAccountUpdate, customerAccountInput, "customerAccountInput")
    return wire.account(await rest.update_account_from(core(info), ctx, accountId, body))


@mutation.field("deleteCustomerAccount")
async def delete_customer_account(_: Any, info: Info, accountId: int) -> bool:
    ctx = await caller(info)
    await accounts.delete_account(core(info), ctx.caller, accountId)
    return True
