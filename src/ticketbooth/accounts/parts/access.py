"""Who may read or change an account's contacts and saved cards: the account's own shopper or an admin
application (accounts/access.py), and a B2B user, for the B2B account of their ticket, with the behavior the
part takes (KIBO_COMPAT section 9): any active user reads the contacts, 1002 (manage contacts) changes them,
1003 (manage saved payments) reads and changes the cards. Kibo's B2B storefront's My Account sends
customerAccountContacts and customerAccountCards with the B2B account's id. 403 before 404, as both rules do."""

from __future__ import annotations

from ticketbooth.accounts.access import account_for, is_admin
from ticketbooth.b2b import access as b2b_access
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.models import Shopper


async def require_part_access(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                              b2b_behavior: int | None, doing: str) -> None:
    """Forbidden or NotFound unless the caller may do `doing` with a part of account `account_id`;
    `b2b_behavior` is what a B2B user needs in the account of their ticket (None: any active user)."""
    if shopper is not None and shopper.user_account_id is not None and not is_admin(caller):
        await b2b_access.account_for(core, caller, shopper, account_id, b2b_behavior, doing, children=False,
                                     with_users=False)
        return
    await account_for(core, caller, shopper, account_id, with_parts=False)
