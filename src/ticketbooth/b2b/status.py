"""A B2B account's approval status and activity: PUT /b2baccounts/{accountId}/status/{actionName}
(updateB2BAccountStatus).

Kibo's actions are approve, deny, enable and disable (activate and inactivate are taken for the last two):
a requested account (PendingApproval) is approved or denied; an approved account is disabled and enabled
again; a denied or disabled account is reinstated by approving or enabling it (b2b/rules.py `next_status`).
Any other action is a 400 naming actionName, and a transition Kibo does not make (deny an approved account,
enable one pending approval) a 400 too; both change nothing.

Approving or denying mails the account's active Admins (or, while it has none, the account's own address)
through the outbox, in the same transaction as the change and its audit entry. An account that ends up
unapproved or inactive has every live session for it ended at once (its users' token families for this
account; their refresh is refused from then on, and their login too). A parent's status leaves its child
accounts as they are: they are separate accounts a merchant disables one by one.

Only merchant applications (customer:admin) change a status.
"""

from __future__ import annotations

from ticketbooth.accounts.access import actor, require_admin
from ticketbooth.audit import service as audit
from ticketbooth.b2b.accounts import end_account_sessions
from ticketbooth.b2b.persistence import B2BPersistence
from ticketbooth.b2b.rules import (
    ACTION_APPROVE,
    ACTION_DENY,
    APPROVED,
    B2BStatus,
    Recipient,
    next_status,
    status_action,
)
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidParameter, NotFound
from ticketbooth.domain.models import MAIL_B2B_ACCOUNT_APPROVED, MAIL_B2B_ACCOUNT_DENIED, REVOKED_BY_DEACTIVATION
from ticketbooth.mail import service as mail


async def _recipients(tx: B2BPersistence, status: B2BStatus) -> list[Recipient]:
    admins = await tx.b2b_admin_recipients(status.account_id)
    if admins:
        return admins
    return [Recipient(status.email, status.first_name, status.locale_code)] if status.email else []


async def change_status(core: Core, caller: Caller, account_id: int, action_name: str) -> B2BStatus:
    """Apply the status action to the B2B account of the caller's customer set; its status after."""
    require_admin(caller, "changing a B2B account's status")
    action = status_action(action_name)
    if action is None:
        raise InvalidParameter("actionName", "Missing or invalid parameter: actionName must be approve, deny, enable "
                               "or disable", action_name[:50])
    now, by = core.clock.now(), actor(caller, None)
    mailed = False
    async with core.store.transaction() as tx:
        before = await tx.b2b_status(account_id, lock=True)
        if (before is None or before.tenant_id != caller.tenant.id
                or before.customer_set_id != caller.site.customer_set_id):
            raise NotFound(f"Item not found: B2B account {account_id} does not exist")
        after = next_status(action, before.approval_status, before.is_active)
        if isinstance(after, str):
            raise InvalidParameter("actionName", f"Missing or invalid parameter: {after}", action_name[:50])
        changed = (after.approval_status, after.is_active) != (before.approval_status, before.is_active)
        if changed:
            await tx.set_b2b_status(account_id, after.approval_status, after.is_active, now, by)
            ended = 0
            if not after.is_active or after.approval_status != APPROVED:
                ended = await end_account_sessions(tx, account_id, now, REVOKED_BY_DEACTIVATION)
            await audit.record(core, audit.Event.B2B_STATUS_CHANGED, caller=caller, account_id=account_id, actor=by,
                               store=tx, detail={"action": action, "approvalStatus": after.approval_status,
                                                 "isActive": after.is_active, "sessionsEnded": ended})
            newly = after.approval_status != before.approval_status
            kind = (MAIL_B2B_ACCOUNT_APPROVED if action == ACTION_APPROVE and newly
                    else MAIL_B2B_ACCOUNT_DENIED if action == ACTION_DENY and newly else None)
            if kind is not None:
                for r in await _recipients(tx, before):
                    await mail.enqueue(core, tx, caller.tenant, kind, r.email, r.locale_code,
                                       {"first_name": r.first_name, "company": before.company})
                    mailed = True
        status = await tx.b2b_status(account_id)
    if mailed:
        core.mail.wake()
    assert status is not None
    return status

