"""The B2B account API's answers in Kibo's JSON (the SDK's B2BAccount, B2BUser, UserRole, Behavior,
BehaviorCategory, AccountPriorityModel), built from the records as kibo/wire.py builds the customer account's.
Shared by the REST routes and the GraphQL resolvers."""

from __future__ import annotations

from typing import Any

from ticketbooth.b2b import rules
from ticketbooth.domain.models import B2BAccount, B2BUser, UserRoleRef
from ticketbooth.kibo import wire


def b2b_account(b: B2BAccount, priority: int | None = None) -> dict[str, Any]:
    """B2BAccount: the customer account's fields and what only a B2B account has."""
    return {
        **wire.account(b.account),
        "approvalStatus": b.approval_status,
        "isActive": b.account.is_active,
        "parentAccountId": b.parent_account_id,
        "priceList": b.price_list,
        "priority": priority,
        "rootAccountId": b.root_account_id,
        "salesReps": [{"accountId": b.account.id, "adminUserId": rep} for rep in b.sales_reps],
        "users": [b2b_user(u) for u in b.users],
    }


def user_role(r: UserRoleRef, user_id: str, account_id: int) -> dict[str, Any]:
    """UserRole: a role a user holds, in the scope of the account."""
    return {
        "assignedInScope": {"type": "Account", "id": account_id, "name": None},
        "auditInfo": wire.audit(r.created_at, r.created_by, r.created_at, r.created_by),
        "roleId": r.role_id, "roleName": r.name, "roleResources": [], "roleTags": [], "userId": user_id,
    }


def b2b_user(u: B2BUser) -> dict[str, Any]:
    """B2BUser: the user's login and profile, and their membership in the account (isActive: both the
    membership and the login are active; isRemoved: the membership's)."""
    a = u.user
    return {
        "acceptsMarketing": a.profile.accepts_marketing,
        "emailAddress": a.email,
        "firstName": a.profile.first_name,
        "hasExternalPassword": a.has_external_password,
        "isActive": u.is_active and a.is_active,
        "isLocked": a.is_locked,
        "isRemoved": u.is_removed,
        "last2FaDate": wire.date(a.last_2fa_at),
        "lastName": a.profile.last_name,
        "localeCode": a.profile.locale_code,
        "roles": [user_role(r, a.user_id, u.account_id) for r in u.roles],
        "userId": a.user_id,
        "userName": a.username,
    }


def behavior(b: rules.Behavior) -> dict[str, Any]:
    return {"categoryId": b.category_id, "id": b.id, "isPrivate": False, "name": b.name, "oAuthScopes": [],
            "requiresBehaviorIds": [],
            "systemRoles": [r.name for r in rules.BUILT_IN_ROLES if b.id in r.behaviors],
            "validUserTypes": ["Shopper"]}


def behaviors() -> dict[str, Any]:
    """BehaviorCollection: Kibo's B2B behaviors."""
    return {"items": [behavior(b) for b in rules.BEHAVIORS], "totalCount": len(rules.BEHAVIORS)}


def behavior_categories() -> dict[str, Any]:
    """BehaviorCategoryCollection."""
    return {"items": [{"id": c.id, "name": c.name} for c in rules.BEHAVIOR_CATEGORIES],
            "totalCount": len(rules.BEHAVIOR_CATEGORIES)}


def priorities(by_priority: dict[int, list[int]], unusable: list[int]) -> dict[str, Any]:
    """AccountPriorityModel."""
    return {"accountPriorities": [{"accounts": ids, "priority": p} for p, ids in sorted(by_priority.items())],
            "blackListedAccounts": unusable}
