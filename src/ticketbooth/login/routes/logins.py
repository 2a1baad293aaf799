"""/api/commerce/customer/accounts: login state, locking and password changes of accounts.

The operations Kibo answers with an empty 200 (Set-Login-Locked, Set-Password-Change-Required,
Change-Password) answer the same here. Query names these routes add to Kibo's usual ones
(emailAddress, userName, customerSetCode, unlockAccount) are read case-insensitively here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from ticketbooth.accounts.access import require_admin
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.models import Shopper
from ticketbooth.kibo import wire
from ticketbooth.kibo.bodies import AccountPasswordInfo, AccountPasswordInfoCollection, CustomerPasswordInfo
from ticketbooth.kibo.context import core_of, invalid, lower_keys, read_body, read_json, resolve
from ticketbooth.kibo.wire import KiboJSON, respond
from ticketbooth.login import state as logins
from ticketbooth.login.state import PasswordChange, PasswordChangeResult

router = APIRouter(prefix="/api/commerce/customer/accounts", tags=["CustomerAccount"])

AccountId = Path(..., ge=1, le=2**63 - 1)
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


def _query(request: Request, name: str) -> str | None:
    """The query parameter `name`, whatever the case of its name."""
    wanted = name.lower()
    return next((value for key, value in request.query_params.multi_items() if key.lower() == wanted), None)


def _query_flag(request: Request, name: str) -> bool:
    raw = _query(request, name)
    value = (raw or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be true or false", (raw or "")[:50])


async def _body_flag(request: Request, name: str) -> bool:
    """A body that is a JSON boolean (`true`/`false`; the strings "true"/"false" are accepted too)."""
    raw = (await read_body(request)).strip()
    try:
        value = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        value = None
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        value = value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise InvalidParameter(name, f"Missing or invalid parameter: the body must be the JSON value true or false ({name})")
    return value


async def _name_from(request: Request, parameter: str) -> str | None:
    """The email address or username looked up: from the query (as Kibo's SDKs send it), else from
    the body, as a JSON string or an object with that field."""
    value = _query(request, parameter)
    if value is not None and value.strip():
        return value
    raw = (await read_body(request)).strip()
    if not raw:
        return value
    try:
        data = lower_keys(orjson.loads(raw), name=parameter)
    except orjson.JSONDecodeError:
        raise InvalidParameter("body", "Missing or invalid parameter: the body is not valid JSON") from None
    if isinstance(data, dict):
        data = data.get(parameter.lower())
    if data is not None and not isinstance(data, str):
        raise InvalidParameter(parameter, f"Missing or invalid parameter: {parameter} must be a string")
    return data


# -- login state -----------------------------------------------------------------------------------

@router.get("/{accountId}/loginstate", summary="Get Login State")
async def get_login_state(request: Request, accountId: int = AccountId, responseFields: str | None = Query(None),
                          userId: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    state = await logins.login_state(core_of(request), ctx.caller, ctx.shopper, accountId)
    return respond(wire.login_state(state), responseFields)


async def _state_by_name(request: Request, name: Literal["email", "username"], parameter: str,
                         response_fields: str | None) -> KiboJSON:
    ctx = await resolve(request)
    value = await _name_from(request, parameter)
    state = await logins.login_state_by_name(core_of(request), ctx.caller, name, value,
                                             _query(request, "customerSetCode"))
    return respond(wire.login_state(state), response_fields)


@router.post("/loginstatebyemailaddress", summary="Get Login State By Email Address")
async def login_state_by_email(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    return await _state_by_name(request, "email", "emailAddress", responseFields)


@router.post("/loginstatebyusername", summary="Get Login State By UserName")
async def login_state_by_username(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    return await _state_by_name(request, "username", "userName", responseFields)


# -- lock and password-change-required ----------------------------------------------------------------

FlagSetter = Callable[[Core, Caller, Shopper | None, int, bool], Awaitable[None]]


async def _set_flag(request: Request, account_id: int, name: str, setter: FlagSetter) -> Response:
    """Set one flag of the account's login from a body that is true or false (`name` in errors)."""
    ctx = await resolve(request, shopper="optional")
    value = await _body_flag(request, name)
    await setter(core_of(request), ctx.caller, ctx.shopper, account_id, value)
    return wire.done()


@router.post("/{accountId}/set-login-locked", summary="Set Login Locked")
async def set_login_locked(request: Request, accountId: int = AccountId, userId: str | None = Query(None),
                           responseFields: str | None = Query(None)) -> Response:
    return await _set_flag(request, accountId, "isLocked", logins.set_login_locked)


@router.post("/{accountId}/set-password-change-required", summary="Set Password Change Required")
async def set_password_change_required(request: Request, accountId: int = AccountId, userId: str | None = Query(None),
                                       responseFields: str | None = Query(None)) -> Response:
    return await _set_flag(request, accountId, "isPasswordChangeRequired", logins.set_password_change_required)


# -- changing passwords ----------------------------------------------------------------------------

@router.post("/{accountId}/change-password", summary="Change Password")
async def change_password(request: Request, accountId: int = AccountId, userId: str | None = Query(None),
                          responseFields: str | None = Query(None)) -> Response:
    # lenient: a storefront may send the anonymous (or expired) ticket of a shopper whose login is
    # refused until the password is changed; the old password proves who they are.
    ctx = await resolve(request, shopper="lenient")
    unlock = _query_flag(request, "unlockAccount")
    body = await read_json(request, CustomerPasswordInfo)
    await logins.change_password(core_of(request), ctx.caller, ctx.shopper, accountId, body.oldPassword,
                                 body.newPassword, unlock=unlock)
    return wire.done()


def _password_change(raw: Any) -> PasswordChange:
    raw_id = raw.get("accountid") if isinstance(raw, dict) else None
    account_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
    try:
        item = AccountPasswordInfo.model_validate(raw)
    except ValidationError as exc:
        return PasswordChange(account_id, problem=invalid(exc).message)
    info = item.passwordInfo or CustomerPasswordInfo()
    return PasswordChange(item.accountId, new_password=info.newPassword, old_password=info.oldPassword,
                          unlock=bool(item.unlockAccount))


def _result(r: PasswordChangeResult) -> dict[str, Any]:
    return {"accountId": r.account_id, "succeeded": r.succeeded, "errorMessage": r.error_message}


@router.post("/change-passwords", summary="Change Passwords")
async def change_passwords(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    require_admin(ctx.caller, "changing passwords in bulk")  # before the body: no hints without the right
    body = await read_json(request, AccountPasswordInfoCollection, required=True)
    return respond(await password_changes(core_of(request), ctx.caller, ctx.shopper, body), responseFields)


async def password_changes(core: Core, caller: Caller, shopper: Shopper | None,
                           body: AccountPasswordInfoCollection) -> dict[str, Any]:
    """Kibo's AccountPasswordInfoCollection applied, as a ChangePasswordResultCollection (REST and GraphQL;
    the caller checked the admin right before reading the body). Each item is checked alone: a malformed
    one fails with its message, the others go on."""
    if body.items is None:
        raise InvalidParameter("items", "Missing or invalid parameter: items is required")
    items = [_password_change(raw) for raw in body.items]
    results = await logins.change_passwords(core, caller, shopper, items)
    return {"totalCount": len(results), "items": [_result(r) for r in results]}
