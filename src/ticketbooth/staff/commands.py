"""The `ticketbooth staff ...` commands: JSON answers for the CLI (cli.py), over the staff flows."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from ticketbooth.core import Core
from ticketbooth.domain.errors import NotFound
from ticketbooth.staff import passkeys, service
from ticketbooth.staff.rules import Staff, StaffSession

CLI_ACTOR = "cli"


def _staff(s: Staff) -> dict[str, Any]:
    return {"id": s.id, "tenantId": s.tenant_id, "email": s.email, "role": s.role.value, "status": s.status,
            "createdAt": s.created_at.isoformat(), "lastSignInAt": s.last_sign_in_at.isoformat() if s.last_sign_in_at
            else None, "locked": s.is_locked, "recoveryCodesLeft": s.recovery_codes_left, "passkeys": s.passkeys}


def _session(s: StaffSession) -> dict[str, Any]:
    return {"id": s.id, "createdAt": s.created_at.isoformat(), "lastSeenAt": s.last_seen_at.isoformat(),
            "clientAddress": s.client_address, "userAgent": s.user_agent}


async def create(core: Core, email: str, role: str, tenant_id: int | None) -> dict[str, Any]:
    invitation = await service.create(core, email, role, tenant_id=tenant_id, by=CLI_ACTOR)
    return {**_staff(invitation.staff), "enrolmentLink": invitation.link,
            "enrolmentExpiresAt": invitation.expires_at.isoformat()}


async def list_all(core: Core, tenant_id: int | None) -> dict[str, Any]:
    tenant = await service.console_tenant(core, tenant_id)
    found, total = await service.list_staff(core, tenant, 0, 200)
    return {"tenantId": tenant, "totalCount": total, "items": [_staff(s) for s in found]}


async def reset(core: Core, email: str) -> dict[str, Any]:
    invitation = await service.reset_second_factor(core, email, by=CLI_ACTOR)
    return {**_staff(invitation.staff), "enrolmentLink": invitation.link,
            "enrolmentExpiresAt": invitation.expires_at.isoformat()}


async def sessions(core: Core, email: str) -> dict[str, Any]:
    staff = await service.find(core, email)
    return {"email": staff.email, "items": [_session(s) for s in await service.sessions_of(core, staff)]}


async def revoke(core: Core, email: str | None, session_id: int | None) -> dict[str, Any]:
    if email:
        staff = await service.find(core, email)
        return {"email": staff.email, "sessionsEnded": await service.revoke_sessions(core, staff, by=CLI_ACTOR)}
    assert session_id is not None
    session = await service.get_session(core, session_id)
    owner = await service.get_staff(core, session.staff_id) if session else None
    if owner is None:
        raise NotFound("no such staff session")
    ended = await service.revoke_session(core, owner.tenant_id, session_id, by=CLI_ACTOR)
    return {"sessionId": session_id, "sessionsEnded": int(ended)}


async def remove_passkeys(core: Core, email: str) -> dict[str, Any]:
    removed = await passkeys.remove_all(core, email, by=CLI_ACTOR)
    return {**_staff(await service.find(core, email)), "passkeysRemoved": removed}


async def enabled(core: Core, email: str, on: bool) -> dict[str, Any]:
    return _staff(await service.set_enabled(core, email, on, by=CLI_ACTOR))


def actions(args: argparse.Namespace) -> dict[tuple[str, str | None], Callable[[Core], Awaitable[dict[str, Any]]]]:
    """The `staff` actions of the CLI's table (command, action) -> coroutine over a core."""
    return {
        ("staff", "create"): lambda core: create(core, args.email, args.role, args.tenant_id),
        ("staff", "list"): lambda core: list_all(core, args.tenant_id),
        ("staff", "disable"): lambda core: enabled(core, args.email, False),
        ("staff", "enable"): lambda core: enabled(core, args.email, True),
        ("staff", "reset-2fa"): lambda core: reset(core, args.email),
        ("staff", "sessions"): lambda core: sessions(core, args.email),
        ("staff", "remove-passkeys"): lambda core: remove_passkeys(core, args.email),
        ("staff", "revoke"): lambda core: revoke(core, getattr(args, "email", None), getattr(args, "session_id", None)),
    }
