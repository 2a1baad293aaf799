"""Sales reps of B2B accounts: the merchant's admin users (Kibo's `adminUserId`, an id of the merchant's own user
directory, kept as given) assigned to accounts (addSalesRepsToB2BAccount, updateSalesRepsOnB2BAccount,
addSalesRepToB2BAccount, removeSalesRepFromB2BAccount, getAccountsForSalesRep).

Adding a rep an account has already changes nothing; removing one it does not have is a 404; replacing the list
sets exactly the reps given (none clears it). Only merchant applications (customer:admin) read or change reps.
"""

from __future__ import annotations

from collections.abc import Sequence

from ticketbooth.accounts.access import actor, require_admin
from ticketbooth.audit import service as audit
from ticketbooth.b2b.hierarchy import node_of
from ticketbooth.b2b.persistence import B2BPersistence
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidParameter, NotFound
from ticketbooth.domain.text import clean_text

MAX_SALES_REP_ID = 200
MAX_SALES_REPS = 100
"""The most reps one request names (and one account has)."""


def require_merchant(caller: Caller) -> None:
    """Forbidden unless a merchant application calls (checked before a body is read)."""
    require_admin(caller, "assigning sales reps")


def clean_rep_ids(given: Sequence[object], name: str = "body") -> list[str]:
    """Admin user ids as a client sends them: trimmed strings, each once."""
    if len(given) > MAX_SALES_REPS:
        raise InvalidParameter(name, f"Missing or invalid parameter: at most {MAX_SALES_REPS} sales reps at once")
    cleaned: list[str] = []
    for i, item in enumerate(given):
        text = clean_text(item, f"{name}[{i}]" if name == "body" else name, MAX_SALES_REP_ID, required=True)
        assert text is not None
        if text not in cleaned:
            cleaned.append(text)
    return cleaned


async def _record(core: Core, tx: B2BPersistence, caller: Caller, account_id: int, added: Sequence[str],
                  removed: Sequence[str]) -> None:
    if added or removed:
        await audit.record(core, audit.Event.B2B_SALES_REPS_CHANGED, caller=caller, account_id=account_id,
                           actor=actor(caller, None), store=tx, detail={"added": list(added), "removed": list(removed)})


async def _check_total(tx: B2BPersistence, account_id: int, adding: Sequence[str]) -> None:
    if len(set(await tx.sales_reps_of(account_id)) | set(adding)) > MAX_SALES_REPS:
        raise InvalidParameter("body", f"Missing or invalid parameter: an account has at most {MAX_SALES_REPS} "
                               "sales reps")


async def add_sales_reps(core: Core, caller: Caller, account_id: int, given: Sequence[object]) -> None:
    require_admin(caller, "assigning sales reps")
    async with core.store.transaction() as tx:
        await node_of(tx, caller, account_id)
        reps = clean_rep_ids(given)
        await _check_total(tx, account_id, reps)
        added = await tx.add_sales_reps(account_id, reps, core.clock.now())
        await _record(core, tx, caller, account_id, added, [])


async def replace_sales_reps(core: Core, caller: Caller, account_id: int, given: Sequence[object]) -> None:
    require_admin(caller, "assigning sales reps")
    async with core.store.transaction() as tx:
        await node_of(tx, caller, account_id)
        reps = clean_rep_ids(given)
        removed = await tx.remove_sales_reps(account_id, set(await tx.sales_reps_of(account_id)) - set(reps))
        added = await tx.add_sales_reps(account_id, reps, core.clock.now())
        await _record(core, tx, caller, account_id, added, removed)


async def add_sales_rep(core: Core, caller: Caller, account_id: int, user_id: str) -> None:
    await add_sales_reps(core, caller, account_id, [user_id])


async def remove_sales_rep(core: Core, caller: Caller, account_id: int, user_id: str) -> None:
    require_admin(caller, "removing a sales rep")
    async with core.store.transaction() as tx:
        await node_of(tx, caller, account_id)
        rep = clean_rep_ids([user_id], "userId")[0]
        removed = await tx.remove_sales_reps(account_id, [rep])
        if not removed:
            raise NotFound(f"Item not found: {rep} is not a sales rep of account {account_id}")
        await _record(core, tx, caller, account_id, [], removed)


async def sales_reps(core: Core, caller: Caller, account_id: int) -> list[str]:
    """The sales reps of an account (for the account's wire shape)."""
    return await core.store.sales_reps_of(account_id)


async def accounts_of_sales_rep(core: Core, caller: Caller, user_id: str) -> list[int]:
    require_admin(caller, "listing a sales rep's accounts")
    rep = clean_rep_ids([user_id], "userId")[0]
    return await core.store.accounts_of_sales_rep(caller.tenant.id, caller.site.customer_set_id, rep)
