"""Upgrading B2C accounts to B2B accounts (PUT /b2baccounts/upgradeaccounts, upgradeAccountsToB2B).

Each account named becomes a B2B account in its own transaction (one failing leaves the others done, as Kibo's
answer lists successes, skips and errors apart): the account row becomes account_type B2B at the top of its own
hierarchy, Approved (the merchant chose to upgrade a customer it already serves), and keeps its contacts, notes,
attributes, segments and cards; the shopper's login moves to a new B2BUser row with the same userId, email,
username, password hash, login names and lockout state, which becomes the account's Admin. The account gets a
new userId of its own (it never logs in). The shopper's live sessions are ended: their tickets name a B2C
account and carry no B2B behaviors, so the next login (same email and password) gives a B2B ticket for the
account. Pending reset codes and login challenges are dropped with them.

Skipped: an account that is a B2B account or user already. Errors: an id that is no account of the caller's
customer set. Only merchant applications (customer:admin) upgrade.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ticketbooth.accounts.access import actor, require_admin
from ticketbooth.audit import service as audit
from ticketbooth.b2b.rules import APPROVED
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.models import REVOKED_BY_ADMIN
from ticketbooth.infra.tokens import new_hex

MAX_UPGRADES = 100


@dataclass
class UpgradeResult:
    succeeded: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)


def _ids(given: Sequence[object]) -> list[int]:
    if len(given) > MAX_UPGRADES:
        raise InvalidParameter("body", f"Missing or invalid parameter: at most {MAX_UPGRADES} accounts at once")
    ids: list[int] = []
    for i, item in enumerate(given):
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item < 2**63:
            raise InvalidParameter(f"[{i}]", f"Missing or invalid parameter: [{i}] must be an account id")
        if item not in ids:
            ids.append(item)
    return ids


def require_merchant(caller: Caller) -> None:
    """Forbidden unless a merchant application calls (checked before a body is read)."""
    require_admin(caller, "upgrading accounts to B2B")


async def upgrade_accounts(core: Core, caller: Caller, given: Sequence[object]) -> UpgradeResult:
    require_admin(caller, "upgrading accounts to B2B")
    ids = _ids(given)
    result = UpgradeResult()
    found = await core.store.upgrade_candidates(ids)
    by = actor(caller, None)
    for account_id in ids:
        c = found.get(account_id)
        if c is None or c.tenant_id != caller.tenant.id or c.customer_set_id != caller.site.customer_set_id:
            result.errors.append((account_id, f"account {account_id} does not exist"))
            continue
        if c.is_b2b:
            result.skipped.append(account_id)
            continue
        now = core.clock.now()
        async with core.store.transaction() as tx:
            upgraded, user_account_id = await tx.upgrade_to_b2b(account_id, new_hex(16), APPROVED, now, by)
            if not upgraded:
                result.skipped.append(account_id)
                continue
            ended = await tx.revoke_account_families(account_id, now, REVOKED_BY_ADMIN)
            await audit.record(core, audit.Event.B2B_UPGRADED, caller=caller, account_id=account_id, actor=by, store=tx,
                               detail={"userAccountId": user_account_id, "hadLogin": c.has_login,
                                       "sessionsEnded": ended})
        result.succeeded.append(account_id)
    return result
