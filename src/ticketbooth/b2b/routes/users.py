"""/api/commerce/customer/b2baccounts: users of a B2B account and their roles, a user's behaviors, the accounts
of a user, Kibo's behavior catalog, and a user's priorities among their accounts (B2BAccountApi)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from ticketbooth.accounts.service import KEEP
from ticketbooth.b2b import users as b2b_users
from ticketbooth.b2b.routes import openapi as _documented  # noqa: F401  (describes these routes)
from ticketbooth.b2b.routes.bodies import AccountPriorityModelIn, B2BUserAndAuthInfo, B2BUserIn
from ticketbooth.b2b.routes.wire import b2b_user, behavior_categories, behaviors, priorities, user_role
from ticketbooth.b2b.users import NewUser, UserChanges
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.filters import FieldType, FilterField
from ticketbooth.domain.models import B2BUser
from ticketbooth.kibo import wire
from ticketbooth.kibo.context import Context, core_of, read_array, read_json, resolve
from ticketbooth.kibo.lists import Paging, PagingParams, by_kibo_name
from ticketbooth.kibo.wire import KiboJSON, respond

BASE = "/api/commerce/customer/b2baccounts"
router = APIRouter(prefix=BASE, tags=["B2BAccount"])

AccountId = Annotated[int, Path(ge=1, le=2**63 - 1)]
RoleId = Annotated[int, Path(ge=1, le=2**31 - 1)]
UserId = Annotated[str, Path(min_length=1, max_length=64)]

_T, _B, _D, _I = FieldType.TEXT, FieldType.BOOLEAN, FieldType.DATE, FieldType.INTEGER
USER_FIELDS = by_kibo_name({
    "userId": FilterField("user_id", _T), "emailAddress": FilterField("email", _T),
    "userName": FilterField("username", _T), "firstName": FilterField("first_name", _T),
    "lastName": FilterField("last_name", _T), "localeCode": FilterField("locale_code", _T),
    "isActive": FilterField("is_active", _B), "isRemoved": FilterField("is_removed", _B),
    "isLocked": FilterField("is_locked", _B), "acceptsMarketing": FilterField("accepts_marketing", _B),
    "hasExternalPassword": FilterField("has_external_password", _B), "priority": FilterField("priority", _I),
    "createDate": FilterField("created_at", _D), "updateDate": FilterField("updated_at", _D),
})


def new_user(user: B2BUserIn, auth: B2BUserAndAuthInfo | None) -> NewUser:
    """A user to add, from Kibo's B2BUser (and the B2BUserAndAuthInfo around it) (REST and GraphQL)."""
    return NewUser(
        email=user.emailAddress, username=user.userName, first_name=user.firstName, last_name=user.lastName,
        locale_code=user.localeCode, accepts_marketing=bool(user.acceptsMarketing),
        is_active=user.isActive is not False if "isActive" in user.model_fields_set else True,
        role_ids=tuple(r.roleId for r in user.roles or [] if r.roleId is not None),
        password=auth.password if auth else None, external_password=auth.externalPassword if auth else None,
        is_import=bool(auth.isImport) if auth else False,
    )


def user_changes(body: B2BUserIn) -> UserChanges:
    """An update from Kibo's B2BUser (REST and GraphQL): absent fields keep their value; roles, isRemoved and
    isLocked have operations of their own and are ignored."""
    given = body.model_fields_set
    profile: dict[str, Any] = {}
    for name, column in (("firstName", "first_name"), ("lastName", "last_name"), ("localeCode", "locale_code")):
        if name in given:
            profile[column] = getattr(body, name)
    if "acceptsMarketing" in given and body.acceptsMarketing is not None:
        profile["accepts_marketing"] = body.acceptsMarketing
    return UserChanges(
        email=body.emailAddress if "emailAddress" in given else KEEP,
        username=body.userName if "userName" in given else KEEP,
        is_active=body.isActive if body.isActive is not None else KEEP, profile=profile)


# -- named paths first (no account id) ---------------------------------------------------------------

@router.get("/behaviors", summary="Kibo's B2B behaviors")
async def get_behaviors(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    await resolve(request)
    return respond(behaviors(), responseFields)


@router.get("/behaviors/categories", summary="The categories of Kibo's B2B behaviors")
async def get_behavior_categories(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    await resolve(request)
    return respond(behavior_categories(), responseFields)


@router.get("/accountsbyuser", summary="The B2B accounts of a user")
async def accounts_by_user(request: Request, emailAddress: str | None = Query(None, max_length=320),
                           userName: str | None = Query(None, max_length=320),
                           getAllAccounts: bool | None = Query(None),
                           userId: str | None = Query(None, max_length=64),
                           responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    found = await b2b_users.accounts_by_user(core_of(request), ctx.caller, ctx.shopper, emailAddress, userName,
                                             bool(getAllAccounts), userId)
    return respond(found, responseFields)


@router.get("/priority/read", summary="The ticket's user's priorities among their accounts")
async def read_priorities(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="required")
    return respond(priorities(*await b2b_users.priorities(core_of(request), ctx.shopper)), responseFields)


@router.put("/priority/update", summary="Set the ticket's user's priorities among their accounts")
async def update_priorities(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="required")
    body = await read_json(request, AccountPriorityModelIn, required=True)
    wanted: dict[int, int | None] = {}
    for i, entry in enumerate(body.accountPriorities or []):
        if entry.priority is None:
            raise InvalidParameter(f"accountPriorities[{i}].priority",
                                   "Missing or invalid parameter: priority is required")
        for account_id in entry.accounts or []:
            wanted[account_id] = entry.priority
    found = await b2b_users.set_priorities(core_of(request), ctx.caller, ctx.shopper, wanted)
    return respond(priorities(*found), responseFields)


@router.put("/priority/delete", summary="Clear the ticket's user's priorities of some of their accounts")
async def delete_priorities(request: Request, responseFields: str | None = Query(None)) -> Response:
    ctx = await resolve(request, shopper="required")
    ids = await read_array(request, "body")
    if len(ids) > b2b_users.MAX_PRIORITIES or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise InvalidParameter("body", "Missing or invalid parameter: the body is an array of account ids")
    await b2b_users.set_priorities(core_of(request), ctx.caller, ctx.shopper, dict.fromkeys(ids))
    return wire.done()


# -- one account's users -------------------------------------------------------------------------------

@router.post("/{accountId:int}/user", summary="Add a user to a B2B account")
async def add_user(request: Request, accountId: AccountId, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    body = await read_json(request, B2BUserAndAuthInfo, required=True)
    return respond(b2b_user(await add_user_from(core_of(request), ctx, accountId, body)), responseFields)


async def add_user_from(core: Core, ctx: Context, account_id: int, body: B2BUserAndAuthInfo) -> B2BUser:
    """Add the user of Kibo's B2BUserAndAuthInfo (REST and GraphQL)."""
    if body.b2BUser is None:
        raise InvalidParameter("b2BUser", "Missing or invalid parameter: b2BUser is required")
    return await b2b_users.add_user(core, ctx.caller, ctx.shopper, account_id, new_user(body.b2BUser, body))


@router.get("/{accountId:int}/users", summary="The users of a B2B account")
async def list_users(request: Request, accountId: AccountId, paging: PagingParams, q: str | None = Query(None),
                     qLimit: str | None = Query(None), responseGroups: str | None = Query(None),
                     responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    return respond(await user_page(core_of(request), ctx, accountId, paging, q), responseFields)


async def user_page(core: Core, ctx: Context, account_id: int, paging: Paging, q: str | None) -> dict[str, Any]:
    query = paging.query(USER_FIELDS, q)
    found = await b2b_users.list_users(core, ctx.caller, ctx.shopper, account_id, query)
    return wire.collection([b2b_user(u) for u in found.items], found.start_index, found.page_size, found.total)


@router.put("/{accountId:int}/user/{userId}", summary="Change a user of a B2B account")
async def update_user(request: Request, accountId: AccountId, userId: UserId,
                      responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    body = await read_json(request, B2BUserIn, required=True)
    updated = await b2b_users.update_user(core_of(request), ctx.caller, ctx.shopper, accountId, userId,
                                          user_changes(body))
    return respond(b2b_user(updated), responseFields)


@router.put("/{accountId:int}/user/{userId}/remove", summary="Remove a user from a B2B account")
async def remove_user(request: Request, accountId: AccountId, userId: UserId,
                      responseFields: str | None = Query(None)) -> Response:
    ctx = await resolve(request, shopper="optional")
    await b2b_users.remove_user(core_of(request), ctx.caller, ctx.shopper, accountId, userId)
    return wire.done()


@router.get("/{accountId:int}/user/{userId}/roles", summary="A user's roles in a B2B account")
async def get_user_roles(request: Request, accountId: AccountId, userId: UserId,
                         responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    user, roles = await b2b_users.user_roles(core_of(request), ctx.caller, ctx.shopper, accountId, userId)
    return respond({"items": [user_role(r, user.user.user_id, accountId) for r in roles], "totalCount": len(roles)},
                   responseFields)


@router.post("/{accountId:int}/user/{userId}/roles/{roleId}", summary="Give a user a role in a B2B account")
async def add_user_role(request: Request, accountId: AccountId, userId: UserId, roleId: RoleId,
                        responseFields: str | None = Query(None)) -> Response:
    ctx = await resolve(request, shopper="optional")
    await b2b_users.add_role(core_of(request), ctx.caller, ctx.shopper, accountId, userId, roleId)
    return wire.done()


@router.delete("/{accountId:int}/user/{userId}/roles/{roleId}", summary="Take a role from a user of a B2B account")
async def remove_user_role(request: Request, accountId: AccountId, userId: UserId, roleId: RoleId) -> Response:
    ctx = await resolve(request, shopper="optional")
    await b2b_users.remove_role(core_of(request), ctx.caller, ctx.shopper, accountId, userId, roleId)
    return wire.done()


@router.get("/{accountId:int}/user/{userId}/behaviors", summary="A user's behaviors in a B2B account")
async def get_user_behaviors(request: Request, accountId: AccountId, userId: UserId,
                             responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    return respond(await b2b_users.user_behaviors(core_of(request), ctx.caller, ctx.shopper, accountId, userId),
                   responseFields)


@router.get("/{accountId:int}/roles/{roleId}/users", summary="The users of a B2B account who hold a role")
async def get_users_by_role(request: Request, accountId: AccountId, roleId: RoleId,
                            responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    found = await b2b_users.users_with_role(core_of(request), ctx.caller, ctx.shopper, accountId, roleId)
    return respond([b2b_user(u) for u in found], responseFields)
