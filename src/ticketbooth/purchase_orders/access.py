"""Who may do what with an account's purchase-order account: the one place the rule is written, so that
B2B (issue 16) adds its behavior checks here (1005 use purchase order, 1006 view purchase-order
transaction history, 1007 view purchase-order credit limit) and every flow obeys them.

An application with the customer:admin behavior may do everything, on any account of its site's
customer set; a shopper may read their own account's purchase-order account and its transactions,
never change it or add a transaction. A B2B user reads those of the B2B account of their ticket with
the behavior each takes: 1007 (view purchase-order credit limit) for the account, 1006 (view
purchase-order transaction history) for its transactions. A shopper naming another account is refused
(403) the same whether that account exists or not; an admin naming an account outside its tenant or
customer set gets 404, as for one that does not exist (accounts/access.py, b2b/access.py)."""

from __future__ import annotations

from enum import Enum

from ticketbooth.accounts.access import account_for, require_admin
from ticketbooth.b2b import rules as b2b_rules
from ticketbooth.b2b.access import customer_account_for
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.models import Account, Shopper


class Need(Enum):
    READ = "reading the purchase-order account"  # B2B: behavior 1007 (view credit limit)
    HISTORY = "reading the purchase-order transactions"  # B2B: behavior 1006 (view transaction history)
    MANAGE = "creating or changing a purchase-order account"
    TRANSACT = "adding a purchase-order transaction"  # B2B: behavior 1005 (use purchase order) for orders


SHOPPER_MAY = frozenset({Need.READ, Need.HISTORY})


def require_need(caller: Caller, need: Need) -> None:
    """What can be told before the account is loaded: Forbidden when no account's `need` is for this
    caller (a shopper changing a purchase-order account). The routes call it before reading the body."""
    if need not in SHOPPER_MAY:
        require_admin(caller, need.value)


async def access(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, need: Need) -> Account:
    """The account `account_id`, if the caller may do `need` with its purchase-order account; Forbidden or
    NotFound otherwise (rights first, so that nobody without them learns which account ids exist)."""
    require_need(caller, need)
    if need not in SHOPPER_MAY:  # the merchant's alone (require_need refused everyone else)
        return await account_for(core, caller, shopper, account_id, owner_may=False, with_parts=False)
    return await customer_account_for(core, caller, shopper, account_id, B2B_BEHAVIOR[need], need.value)


B2B_BEHAVIOR = {Need.READ: b2b_rules.VIEW_PURCHASE_ORDER_CREDIT_LIMIT,
                Need.HISTORY: b2b_rules.VIEW_PURCHASE_ORDER_TRANSACTIONS}
"""The behavior a B2B user needs in the account of their ticket for what a shopper may do."""
