"""Sessions: a session is one token family (one login, its refreshed tickets, or one impersonation).

- logout ends the family a refresh token belongs to, and never tells whether the token was valid;
- an account's shopper, or an administrator, ends all of its sessions at once, or one by id;
- administrators list an account's live sessions (created, last used, client address, user agent).

Ending a family takes effect at once for its refresh tokens and opaque access tokens (both are
looked up with their family on every use). A ticket JWT is checked without the database, so it
stays valid until it expires: at most the access-token lifetime (15 minutes by default).
"""

from __future__ import annotations

from ticketbooth.accounts.access import account_for, actor, require_admin
from ticketbooth.audit import service as audit
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidParameter, NotFound
from ticketbooth.domain.models import REVOKED_BY_ADMIN, REVOKED_BY_LOGOUT, REVOKED_BY_OWNER, Page, Session, Shopper
from ticketbooth.infra.tokens import at_rest

MAX_TOKEN_LENGTH = 256


async def logout(core: Core, caller: Caller, refresh_token: str | None) -> None:
    """End the family of `refresh_token` (any token of it, used or not). The answer is the same
    whether the token was live, spent, expired, unknown or another tenant's: logging out must not
    tell which. Only a missing or oversized token is a 400."""
    token = (refresh_token or "").strip().lower()
    if not token:
        raise InvalidParameter("refreshToken", "Missing or invalid parameter: refreshToken is required")
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidParameter("refreshToken", "Missing or invalid parameter: refreshToken is too long")
    found = await core.store.ticket_by_refresh(at_rest(token))
    if found is None:
        return
    _, family = found
    if family.tenant_id != caller.tenant.id or family.customer_set_id != caller.site.customer_set_id:
        return
    now = core.clock.now()
    async with core.store.transaction() as tx:
        if await tx.revoke_family(family.id, now, REVOKED_BY_LOGOUT) and family.account_id is not None:
            await audit.record(core, audit.Event.SESSION_ENDED, caller=caller, account_id=family.account_id,
                               detail={"sessionId": family.id, "reason": REVOKED_BY_LOGOUT}, store=tx)


async def revoke_all(core: Core, caller: Caller, shopper: Shopper | None, account_id: int) -> int:
    """End every session of the account, the caller's own included ("log out everywhere"): for the
    account's own shopper or an application with customer:admin. The number ended."""
    account = await account_for(core, caller, shopper, account_id, with_parts=False, sensitive=True)
    now = core.clock.now()
    reason = REVOKED_BY_OWNER if _by_owner(shopper, account_id) else REVOKED_BY_ADMIN
    async with core.store.transaction() as tx:
        count = await tx.revoke_account_families(account.id, now, reason)
        await audit.record(core, audit.Event.SESSIONS_REVOKED, caller=caller, account_id=account.id,
                           actor=actor(caller, shopper), detail={"count": count, "reason": reason}, store=tx)
    return count


async def end_session(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, session_id: str) -> None:
    """End one live session of the account: for its own shopper or an application with customer:admin.
    NotFound when it is not a live session of that account."""
    account = await account_for(core, caller, shopper, account_id, with_parts=False, sensitive=True)
    session_id = session_id.strip().lower()
    reason = REVOKED_BY_OWNER if _by_owner(shopper, account_id) else REVOKED_BY_ADMIN
    now = core.clock.now()
    async with core.store.transaction() as tx:
        if len(session_id) > 64 or not await tx.end_account_session(account.id, session_id, now, reason):
            raise NotFound(f"Item not found: account {account_id} has no live session {session_id[:64]}")
        await audit.record(core, audit.Event.SESSION_ENDED, caller=caller, account_id=account.id,
                           actor=actor(caller, shopper), detail={"sessionId": session_id, "reason": reason}, store=tx)


async def list_sessions(core: Core, caller: Caller, account_id: int, start: int, size: int) -> Page[Session]:
    """One page of the account's live sessions, newest first (customer:admin only)."""
    require_admin(caller, "listing an account's sessions")
    account = await account_for(core, caller, None, account_id, owner_may=False, with_parts=False)
    items, total = await core.store.account_sessions(account.id, core.clock.now(), start, size)
    return Page(items=items, total=total, start_index=start, page_size=size)


def _by_owner(shopper: Shopper | None, account_id: int) -> bool:
    return shopper is not None and not shopper.is_anonymous and shopper.account_id == account_id
