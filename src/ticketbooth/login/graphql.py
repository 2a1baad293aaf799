"""Resolvers of passwords and login flags: changing a password (one account, or many for an admin
application), the forgotten-password reset (request a code, spend it), and setting an account's login
locked or its password change required.

Each calls the service function (or the shared REST function) its REST twin calls (login/routes/logins.py,
login/routes/password_reset.py), with the same rights checks in the same order; Kibo answers all but the bulk change
with an empty 200, so they return True. The reset request answers True whether or not the user exists,
can be reset or is of another customer set, as REST answers 200 (login/reset.py).
"""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, QueryType

from ticketbooth.accounts import access
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.kibo.bodies import (
    AccountPasswordInfoCollection,
    ConfirmationInfo,
    CustomerPasswordInfo,
    CustomerResetPasswordInfo,
)
from ticketbooth.kibo.graphql.context import Info, caller, core, read_input
from ticketbooth.login import reset as password_reset
from ticketbooth.login import state as logins
from ticketbooth.login.routes.logins import FlagSetter, password_changes

query = QueryType()
mutation = MutationType()


@mutation.field("changeCustomerAccountPassword")
async def change_customer_account_password(_: Any, info: Info, accountId: int, unlockAccount: bool | None = None,
                                           userId: str | None = None,
                                           passwordInfoInput: dict[str, Any] | None = None) -> bool:
    # lenient, as REST: the shopper whose login waits for a password change may send an anonymous or
    # expired ticket; the old password proves who they are
    ctx = await caller(info, shopper="lenient")
    body = read_input(CustomerPasswordInfo, passwordInfoInput, "passwordInfoInput")
    await logins.change_password(core(info), ctx.caller, ctx.shopper, accountId, body.oldPassword, body.newPassword,
                                 unlock=bool(unlockAccount))
    return True


@mutation.field("updateCustomerAccountPasswords")
async def update_customer_account_passwords(
        _: Any, info: Info, accountPasswordInfoCollectionInput: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    access.require_admin(ctx.caller, "changing passwords in bulk")  # before the input: no hints without the right
    items = (accountPasswordInfoCollectionInput or {}).get("items") or []
    if any(item is None for item in items):  # REST answers it as a failed item; Kibo's result needs its accountId
        raise InvalidParameter("items", "Missing or invalid parameter: items may not hold null")
    body = read_input(AccountPasswordInfoCollection, accountPasswordInfoCollectionInput,
                      "accountPasswordInfoCollectionInput")
    return await password_changes(core(info), ctx.caller, ctx.shopper, body)


@mutation.field("resetCustomerAccountPassword")
async def reset_customer_account_password(_: Any, info: Info,
                                          resetPasswordInfoInput: dict[str, Any] | None = None) -> bool:
    ctx = await caller(info)
    body = read_input(CustomerResetPasswordInfo, resetPasswordInfoInput, "resetPasswordInfoInput")
    await password_reset.request_reset(core(info), ctx.caller, body.emailAddress, body.userName, body.customerSetCode)
    return True


@mutation.field("updateForgottenCustomerAccountPassword")
async def update_forgotten_customer_account_password(_: Any, info: Info,
                                                     confirmationInfoInput: dict[str, Any] | None = None) -> bool:
    ctx = await caller(info)
    body = read_input(ConfirmationInfo, confirmationInfoInput, "confirmationInfoInput")
    await password_reset.confirm_reset(core(info), ctx.caller, body.userName, body.confirmationCode, body.newPassword)
    return True


async def _set_flag(info: Info, account_id: int, value: bool | None, setter: FlagSetter) -> bool:
    """One login flag of the account set to `graphQLBoolean` (REST's body): true or false, never absent."""
    ctx = await caller(info, shopper="optional")
    if value is None:
        raise InvalidParameter("graphQLBoolean", "Missing or invalid parameter: graphQLBoolean must be true or false")
    await setter(core(info), ctx.caller, ctx.shopper, account_id, value)
    return True


@mutation.field("setCustomerAccountLoginLocked")
async def set_customer_account_login_locked(_: Any, info: Info, accountId: int, userId: str | None = None,
                                            graphQLBoolean: bool | None = None) -> bool:
    return await _set_flag(info, accountId, graphQLBoolean, logins.set_login_locked)


@mutation.field("setCustomerAccountPasswordChangeRequired")
async def set_customer_account_password_change_required(_: Any, info: Info, accountId: int, userId: str | None = None,
                                                        graphQLBoolean: bool | None = None) -> bool:
    return await _set_flag(info, accountId, graphQLBoolean, logins.set_password_change_required)
