"""B2B rules without I/O: Kibo's behavior catalog, the built-in roles, approval statuses and actions,
and the hierarchy's limits (KIBO_COMPAT section 9)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ticketbooth.domain.models import Contact, Membership

ACCOUNT_TYPE_B2B: Final = "B2B"
"""The account_type of a B2B account (an `accounts` row that never logs in itself)."""
ACCOUNT_TYPE_B2B_USER: Final = "B2BUser"
"""The account_type of a B2B user's own row: their login. Never listed or served as a customer account."""


@dataclass(frozen=True, slots=True)
class Behavior:
    id: int
    name: str
    category_id: int


@dataclass(frozen=True, slots=True)
class BehaviorCategory:
    id: int
    name: str


MANAGE_ACCOUNT_INFORMATION: Final = 1000
MANAGE_USERS: Final = 1001
MANAGE_CONTACTS: Final = 1002
MANAGE_SAVED_PAYMENTS: Final = 1003
MANAGE_ACCOUNT_ATTRIBUTES: Final = 1004
USE_PURCHASE_ORDER: Final = 1005
VIEW_PURCHASE_ORDER_TRANSACTIONS: Final = 1006
VIEW_PURCHASE_ORDER_CREDIT_LIMIT: Final = 1007
PLACE_ORDERS: Final = 1008
INITIATE_RETURNS: Final = 1009
VIEW_CHILD_ACCOUNTS: Final = 1010
VIEW_CHILD_ACCOUNT_QUOTES: Final = 1011
VIEW_CHILD_ACCOUNT_ORDERS: Final = 1012
VIEW_CHILD_ACCOUNT_RETURNS: Final = 1013
FULL_ACCESS: Final = 1014

CATEGORY_ACCOUNT: Final = 1
CATEGORY_PURCHASING: Final = 2
CATEGORY_CHILD_ACCOUNTS: Final = 3

BEHAVIOR_CATEGORIES: Final = (
    BehaviorCategory(CATEGORY_ACCOUNT, "Account"),
    BehaviorCategory(CATEGORY_PURCHASING, "Purchasing"),
    BehaviorCategory(CATEGORY_CHILD_ACCOUNTS, "Child Accounts"),
)

BEHAVIORS: Final = (
    Behavior(MANAGE_ACCOUNT_INFORMATION, "Manage Account Information", CATEGORY_ACCOUNT),
    Behavior(MANAGE_USERS, "Manage Users", CATEGORY_ACCOUNT),
    Behavior(MANAGE_CONTACTS, "Manage Contacts", CATEGORY_ACCOUNT),
    Behavior(MANAGE_SAVED_PAYMENTS, "Manage Saved Payments", CATEGORY_ACCOUNT),
    Behavior(MANAGE_ACCOUNT_ATTRIBUTES, "Manage Account Attributes", CATEGORY_ACCOUNT),
    Behavior(USE_PURCHASE_ORDER, "Use Purchase Order", CATEGORY_PURCHASING),
    Behavior(VIEW_PURCHASE_ORDER_TRANSACTIONS, "View Purchase Order Transaction History", CATEGORY_PURCHASING),
    Behavior(VIEW_PURCHASE_ORDER_CREDIT_LIMIT, "View Purchase Order Credit Limit", CATEGORY_PURCHASING),
    Behavior(PLACE_ORDERS, "Place Orders", CATEGORY_PURCHASING),
    Behavior(INITIATE_RETURNS, "Initiate Returns", CATEGORY_PURCHASING),
    Behavior(VIEW_CHILD_ACCOUNTS, "View Lists of Child Accounts", CATEGORY_CHILD_ACCOUNTS),
    Behavior(VIEW_CHILD_ACCOUNT_QUOTES, "View Quotes of Child Accounts", CATEGORY_CHILD_ACCOUNTS),
    Behavior(VIEW_CHILD_ACCOUNT_ORDERS, "View Orders of Child Accounts", CATEGORY_CHILD_ACCOUNTS),
    Behavior(VIEW_CHILD_ACCOUNT_RETURNS, "View Returns of Child Accounts", CATEGORY_CHILD_ACCOUNTS),
    Behavior(FULL_ACCESS, "Full Access to Account", CATEGORY_ACCOUNT),
)
BEHAVIOR_IDS: Final = frozenset(b.id for b in BEHAVIORS)

ADMIN_ROLE: Final = 1
PURCHASER_ROLE: Final = 2
NON_PURCHASER_ROLE: Final = 3
FIRST_MERCHANT_ROLE: Final = 1001
"""A merchant's roles are numbered from here on (migration 0007_b2b)."""


@dataclass(frozen=True, slots=True)
class BuiltInRole:
    id: int
    name: str
    behaviors: frozenset[int]


BUILT_IN_ROLES: Final = (
    # everything, including full access to the account
    BuiltInRole(ADMIN_ROLE, "Admin", BEHAVIOR_IDS),
    # buys and keeps what buying needs; sees nothing of other users or child accounts
    BuiltInRole(PURCHASER_ROLE, "Purchaser", frozenset({
        MANAGE_CONTACTS, MANAGE_SAVED_PAYMENTS, USE_PURCHASE_ORDER, VIEW_PURCHASE_ORDER_TRANSACTIONS,
        VIEW_PURCHASE_ORDER_CREDIT_LIMIT, PLACE_ORDERS, INITIATE_RETURNS})),
    # may look at the account's purchase-order standing, never buy
    BuiltInRole(NON_PURCHASER_ROLE, "Non-Purchaser", frozenset({
        VIEW_PURCHASE_ORDER_TRANSACTIONS, VIEW_PURCHASE_ORDER_CREDIT_LIMIT})),
)
BUILT_IN_ROLE_BY_ID: Final = {role.id: role for role in BUILT_IN_ROLES}


def is_built_in_role(role_id: int) -> bool:
    return role_id in BUILT_IN_ROLE_BY_ID


def behaviors_of_roles(built_in_ids: Iterable[int], merchant_role_behaviors: Iterable[int]) -> frozenset[int]:
    """A user's behaviors in an account: the union of their roles' there (built-in ones from code, a merchant's
    from its stored behaviors)."""
    found: set[int] = set(merchant_role_behaviors)
    for role_id in built_in_ids:
        role = BUILT_IN_ROLE_BY_ID.get(role_id)
        if role is not None:
            found |= role.behaviors
    return frozenset(found)


def unknown_behaviors(ids: Iterable[int]) -> list[int]:
    """The ids among `ids` that are not Kibo B2B behaviors (a role may hold only those)."""
    return sorted({i for i in ids if i not in BEHAVIOR_IDS})


# Kibo's approval statuses and the status actions (PUT /b2baccounts/{id}/status/{actionName})
PENDING_APPROVAL: Final = "PendingApproval"
APPROVED: Final = "Approved"
DENIED: Final = "Denied"
APPROVAL_STATUSES: Final = frozenset({PENDING_APPROVAL, APPROVED, DENIED})

MAX_DEPTH: Final = 10
"""The deepest a hierarchy goes: a top account is at depth 0, so at most 11 levels."""


def usable(membership: Membership) -> bool:
    """Whether a login (or a refresh) into the membership's account may use it: the membership active
    and not removed, the account active and approved."""
    return (membership.is_active and not membership.is_removed and membership.account_is_active
            and membership.approval_status == APPROVED)


def login_choice(memberships: Iterable[Membership], wanted_account_id: int | None) -> Membership | None:
    """The membership a login uses: the one of `wanted_account_id` when given (None unless usable),
    else the first usable one by priority (a number before none, the lowest first), then the oldest
    membership, then the lowest account id."""
    usable_ones = [m for m in memberships if usable(m)]
    if wanted_account_id is not None:
        return next((m for m in usable_ones if m.account_id == wanted_account_id), None)
    usable_ones.sort(key=lambda m: (m.priority is None, m.priority or 0, m.created_at, m.account_id))
    return usable_ones[0] if usable_ones else None


def holds(behaviors: frozenset[int], needed: int) -> bool:
    """Whether a user with `behaviors` may do what needs behavior `needed` (full access implies every one)."""
    return needed in behaviors or FULL_ACCESS in behaviors


def grantable(granter: frozenset[int], role_behaviors: frozenset[int]) -> bool:
    """A user may give a role only if they hold every behavior it grants (full access counts as all)."""
    return FULL_ACCESS in granter or role_behaviors <= granter


# -- merchant roles, hierarchy and status (b2b-more) ------------------------------------------------------

MAX_ROLE_NAME = 100
MAX_ROLE_ACCOUNTS = 500
"""The most accounts one request may give a role (create, replace)."""


@dataclass(frozen=True, slots=True)
class Role:
    """A role as stored: a built-in one (ids 1-3, behaviors from code, no accounts) or a merchant's (its
    behaviors and the accounts it is given to)."""

    id: int
    name: str
    is_system: bool
    behaviors: frozenset[int]
    account_ids: tuple[int, ...]
    created_at: datetime | None = None
    created_by: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None


@dataclass(frozen=True, slots=True)
class HierarchyNode:
    """One B2B account in a hierarchy: its parent, the top of its tree and its distance from it."""

    account_id: int
    parent_account_id: int | None
    root_account_id: int
    depth: int


def subtree_height(nodes: Iterable[HierarchyNode], top: HierarchyNode) -> int:
    """How many levels below `top` its subtree `nodes` reaches (0 for a leaf)."""
    return max((n.depth - top.depth for n in nodes), default=0)


def may_move(moved: HierarchyNode, ancestors_of_parent: Iterable[int], parent: HierarchyNode, height: int) -> str | None:
    """Why `moved` may not go under `parent` (None if it may): not under itself or one of its descendants
    (`ancestors_of_parent`: the parent and every account above it, read from the parent links), and no
    deeper than MAX_DEPTH with the subtree it carries (`height` levels below it)."""
    if moved.account_id == parent.account_id or moved.account_id in set(ancestors_of_parent):
        return "an account cannot be moved under itself or one of its child accounts"
    if parent.depth + 1 + height > MAX_DEPTH:
        return f"the hierarchy would be deeper than {MAX_DEPTH} levels below its top account"
    return None


# the status actions of PUT /b2baccounts/{accountId}/status/{actionName} (the SDK's: approve, deny, enable,
# disable; activate and inactivate are taken as enable and disable)
ACTION_APPROVE: Final = "approve"
ACTION_DENY: Final = "deny"
ACTION_ENABLE: Final = "enable"
ACTION_DISABLE: Final = "disable"
_ACTION_ALIASES: Final = {"activate": ACTION_ENABLE, "inactivate": ACTION_DISABLE, "deactivate": ACTION_DISABLE}
STATUS_ACTIONS: Final = frozenset({ACTION_APPROVE, ACTION_DENY, ACTION_ENABLE, ACTION_DISABLE})


def status_action(name: str) -> str | None:
    """The status action `name` names (case-insensitive, aliases taken), or None."""
    key = name.strip().lower()
    key = _ACTION_ALIASES.get(key, key)
    return key if key in STATUS_ACTIONS else None


@dataclass(frozen=True, slots=True)
class StatusChange:
    approval_status: str
    is_active: bool


def next_status(action: str, approval_status: str, is_active: bool) -> StatusChange | str:
    """The state an account reaches by `action`, or why it may not (Kibo: a requested account is approved or
    denied; an approved one is disabled and enabled; a denied or disabled one is reinstated by enabling or
    approving it). An approved account is active unless disabled; a denied one is never active."""
    if action == ACTION_APPROVE:
        return StatusChange(APPROVED, True)
    if action == ACTION_DENY:
        if approval_status == APPROVED:
            return "an approved account cannot be denied; disable it instead"
        return StatusChange(DENIED, False)
    if action == ACTION_ENABLE:
        if approval_status == PENDING_APPROVAL:
            return "an account pending approval is approved or denied, not enabled"
        return StatusChange(APPROVED, True)
    if action == ACTION_DISABLE:
        return StatusChange(approval_status, False)
    return f"unknown action {action}"


@dataclass(frozen=True, slots=True)
class B2BStatus:
    """A B2B account's approval status and activity, and what its mail needs."""

    account_id: int
    tenant_id: int
    customer_set_id: int
    approval_status: str
    is_active: bool
    email: str | None
    first_name: str | None
    company: str | None
    locale_code: str | None


@dataclass(frozen=True, slots=True)
class Recipient:
    email: str
    first_name: str | None
    locale_code: str | None


@dataclass(frozen=True, slots=True)
class ExtendedContact:
    """A contact of a B2B account, with the account's id and name (Kibo's ExtendedCustomerContact)."""

    contact: Contact
    account_name: str | None


@dataclass(frozen=True, slots=True)
class UpgradeCandidate:
    """An account asked to become a B2B account: what decides whether it may."""

    account_id: int
    tenant_id: int
    customer_set_id: int
    account_type: str | None
    is_b2b: bool
    has_login: bool
