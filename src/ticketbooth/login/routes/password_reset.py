"""Forgotten passwords: Reset-Password emails a code, Update-Forgotten-Password spends it.

Both answer 200 with an empty body, as Kibo does; Reset-Password answers so whether or not the
account exists."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from ticketbooth.kibo import wire
from ticketbooth.kibo.bodies import ConfirmationInfo, CustomerResetPasswordInfo
from ticketbooth.kibo.context import core_of, resolve_and_read
from ticketbooth.login import reset as password_reset

router = APIRouter(prefix="/api/commerce/customer/accounts", tags=["CustomerAccount"])


@router.post("/reset-password", summary="Mail a password-reset code to a shopper")
async def reset_password(request: Request, responseFields: str | None = Query(None)) -> Response:
    ctx, body = await resolve_and_read(request, CustomerResetPasswordInfo)
    await password_reset.request_reset(core_of(request), ctx.caller, body.emailAddress, body.userName,
                                       body.customerSetCode)
    return wire.done()


@router.post("/update-forgotten-password", summary="Set a new password with a password-reset code")
async def update_forgotten_password(request: Request, responseFields: str | None = Query(None)) -> Response:
    ctx, body = await resolve_and_read(request, ConfirmationInfo)
    await password_reset.confirm_reset(core_of(request), ctx.caller, body.userName, body.confirmationCode,
                                       body.newPassword)
    return wire.done()
