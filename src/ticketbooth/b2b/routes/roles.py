"""/api/commerce/customer/b2baccounts/roles...: a merchant's B2B roles (create, read, replace, delete, give to and
take from accounts, apply to future child accounts) and /b2baccounts/{accountId}/roles, the roles usable in an
account. The flows are in b2b/roles.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field
from starlette.responses import Response

from ticketbooth.b2b import roles
from ticketbooth.b2b.roles import RoleInput
from ticketbooth.b2b.rules import Role
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.kibo import wire
from ticketbooth.kibo.bodies import KiboBody
from ticketbooth.kibo.context import Context, core_of, read_json, resolve
from ticketbooth.kibo.resource_routes import AccountId
from ticketbooth.kibo.wire import KiboJSON, respond

router = APIRouter(prefix="/api/commerce/customer/b2baccounts", tags=["B2BAccount roles"])

RoleId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class B2BRoleIn(KiboBody):
    """Kibo's B2BRole as a client sends it (id, isSystemRole and auditInfo are the server's: ignored)."""

    name: str | None = None
    behaviors: list[Annotated[int, Field(ge=-(2**31), le=2**31)]] | None = Field(default=None, max_length=100)
    accountIds: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(default=None, max_length=1000)


def role(r: Role) -> dict[str, Any]:
    """Kibo's B2BRole."""
    return {"accountIds": list(r.account_ids), "auditInfo": wire.audit(r.created_at, r.created_by, r.updated_at,
                                                                       r.updated_by),
            "behaviors": sorted(r.behaviors), "id": r.id, "isSystemRole": r.is_system, "name": r.name}


def role_input(body: B2BRoleIn) -> RoleInput:
    return RoleInput(body.name, body.behaviors, body.accountIds)


def parse_enabled(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise InvalidParameter("enabled", "Missing or invalid parameter: enabled must be true or false", raw[:10])
    return value == "true"


@router.post("/roles", summary="Create a B2B role and give it to accounts")
async def create_role(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    roles.require_merchant(ctx.caller, "creating a B2B role")
    body = await read_json(request, B2BRoleIn, required=True)
    return respond(role(await roles.create_role(core_of(request), ctx.caller, role_input(body))), responseFields)


@router.get("/roles/{roleId:int}", summary="A B2B role")
async def get_role(request: Request, roleId: RoleId, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    return respond(role(await roles.get_role(core_of(request), ctx.caller, roleId)), responseFields)


@router.put("/roles/{roleId:int}", summary="Replace a B2B role's name, behaviors and accounts")
async def update_role(request: Request, roleId: RoleId, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    roles.require_merchant(ctx.caller, "changing a B2B role")
    body = await read_json(request, B2BRoleIn, required=True)
    return respond(role(await roles.update_role(core_of(request), ctx.caller, roleId, role_input(body))),
                   responseFields)


@router.delete("/roles/{roleId:int}", status_code=204, summary="Delete a B2B role, taking it from every user")
async def delete_role(request: Request, roleId: RoleId) -> Response:
    ctx = await resolve(request)
    await roles.delete_role(core_of(request), ctx.caller, roleId)
    return Response(status_code=204)


@router.put("/roles/{roleId:int}/accounts/{accountId:int}", summary="Give a B2B role to an account")
async def give_role(request: Request, roleId: RoleId, accountId: AccountId) -> Response:
    ctx = await resolve(request)
    await roles.give_role(core_of(request), ctx.caller, roleId, accountId)
    return wire.done()


@router.delete("/roles/{roleId:int}/accounts/{accountId:int}", status_code=204,
               summary="Take a B2B role from an account and its users there")
async def take_role(request: Request, roleId: RoleId, accountId: AccountId) -> Response:
    ctx = await resolve(request)
    await roles.take_role(core_of(request), ctx.caller, roleId, accountId)
    return Response(status_code=204)


@router.put("/roles/{roleId:int}/accounts/{accountId:int}/apply-to-future-children/{enabled}",
            summary="Give (or stop giving) a B2B role to accounts created below an account")
async def apply_to_future_children(request: Request, roleId: RoleId, accountId: AccountId, enabled: str) -> Response:
    ctx = await resolve(request)
    roles.require_merchant(ctx.caller, "changing a B2B role's inheritance")
    await roles.set_inheritance(core_of(request), ctx.caller, roleId, accountId, parse_enabled(enabled))
    return wire.done()


@router.get("/{accountId:int}/roles", summary="The roles usable in a B2B account")
async def account_roles(request: Request, accountId: AccountId, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    return respond(await account_roles_of(core_of(request), ctx, accountId), responseFields)


async def account_roles_of(core: Core, ctx: Context, account_id: int) -> dict[str, Any]:
    """Kibo's B2BRoleCollection of the roles usable in the account (REST and GraphQL)."""
    found = await roles.account_roles(core, ctx.caller, ctx.shopper, account_id)
    return wire.collection([role(r) for r in found], 0, len(found), len(found))
