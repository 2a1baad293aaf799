"""A B2B user's login and tickets: which of their accounts a login (or a refresh, or the current-account read)
is for, and their behaviors there (the ticket JWT's `bv`). Called by the login, challenge and ticket flows
only for a B2B user's own row or a family with `user_account_id`: a B2C login or refresh never comes here.

A login may use an account when the user's membership is active and not removed, the account active and
approved, and the user's own row active and not locked by an administrator. Without `accountId` a login takes
the first such account by priority (b2b/rules.py `login_choice`). Anything else answers as a wrong password
would (the caller raises that refusal)."""

from __future__ import annotations

import dataclasses

from ticketbooth.b2b import rules
from ticketbooth.b2b.persistence import B2BPersistence
from ticketbooth.core import Core
from ticketbooth.domain.models import Account, B2BScope


def _store(core: Core) -> B2BPersistence:
    return core.store


def is_b2b_user(account: Account) -> bool:
    """The row is a B2B user's login (a pure check of the record: no query)."""
    return account.profile.account_type == rules.ACCOUNT_TYPE_B2B_USER


async def scope_for_login(core: Core, user: Account, wanted_account_id: int | None) -> B2BScope | None:
    """The account a login of `user` (their own row, whose password was right) is for, with their behaviors
    there; None when there is none it may use (or `wanted_account_id` is not one)."""
    chosen = rules.login_choice(await _store(core).memberships_of(user.id), wanted_account_id)
    return None if chosen is None else await scope_of(core, chosen.account_id, user.id)


async def scope_of(core: Core, account_id: int, user_account_id: int) -> B2BScope | None:
    """The ticket scope of the user in the account, read fresh from the database (a refresh of a B2B family
    comes here each time: a role change shows at the next refresh); None when the membership or the account
    is not usable, or the user's own row is gone, inactive or locked by an administrator."""
    store = _store(core)
    membership = next((m for m in await store.memberships_of(user_account_id) if m.account_id == account_id), None)
    if membership is None or not rules.usable(membership):
        return None
    user = await store.get_account(user_account_id, with_parts=False)
    now = core.clock.now()
    if user is None or not user.is_active or (user.settle_lock(now).is_locked and user.locked_by_admin):
        return None
    account = await store.get_account(account_id)
    if account is None:
        return None
    built_in, merchant = await store.role_grants(account_id, user_account_id)
    # the ticket's customerAccount is the B2B account, its userId the user's (as the ticket's userId)
    shown = dataclasses.replace(account, user_id=user.user_id)
    return B2BScope(shown, user_account_id, rules.behaviors_of_roles(built_in, merchant))
