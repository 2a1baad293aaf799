"""Users of B2B accounts and their roles: adding a user with a login (or inviting them to choose a password),
listing, changing and removing users, giving and taking roles, a user's behaviors, the accounts of a user,
and a user's priorities among their accounts.

A user is a login of their own (an `accounts` row of type "B2BUser": email, username, password, lock, 2FA as
any login) and a membership in each account they belong to (`b2b_users`). Adding a user whose email is
already a B2B user's login of the customer set adds a membership to that login; an email that is a B2C
shopper's login is a 409 (`upgradeaccounts` turns a shopper into a B2B user).

The rules (b2b/access.py for who may act on the account at all):
- managing users takes 1001 (manage users); a user of an account above this one needs 1010 besides;
- nobody gives (or takes) a role granting a behavior they do not hold themselves (the merchant holds all);
- a merchant's role must be tenant-wide or given to this account; a built-in role always fits;
- the last active Admin of an account is never removed, made inactive or stripped of the Admin role (409),
  checked under the account's row lock so that two requests at once cannot both pass;
- email and userName, the login names, are changed by the merchant only: a manager could otherwise take over
  the login of a user who belongs to other accounts too (a password reset to the new address).
Removing a user, or making their membership inactive, ends their sessions for the account at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ticketbooth.accounts.access import actor, is_admin
from ticketbooth.accounts.service import KEEP, check_profile_values
from ticketbooth.audit import service as audit
from ticketbooth.b2b import access as b2b_access
from ticketbooth.b2b import rules
from ticketbooth.b2b.access import Access
from ticketbooth.b2b.persistence import B2BPersistence
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import Conflict, Forbidden, InvalidParameter, NotFound
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import (
    MAIL_B2B_ROLE_ADDED,
    MAIL_B2B_ROLE_REMOVED,
    MAIL_B2B_USER_INVITED,
    PURPOSE_RESET,
    REVOKED_BY_B2B_REMOVAL,
    Account,
    B2BUser,
    Membership,
    NewAccount,
    Page,
    Profile,
    RoleInfo,
    Shopper,
    UserRoleRef,
)
from ticketbooth.domain.policies import login_key, reset_link, user_inputs
from ticketbooth.domain.text import clean_email, clean_username
from ticketbooth.infra.tokens import at_rest, new_hex
from ticketbooth.login.passwords import LoginSecret, secret_for_new_login
from ticketbooth.mail import service as mail

CODE_BYTES = 16
"""An invitation's code: a reset code, as Reset-Password's (login/reset.py)."""
MAX_ROLES_AT_ONCE = 20
MAX_PRIORITIES = 200


@dataclass(frozen=True, slots=True)
class NewUser:
    """A user to add (Kibo's B2BUserAndAuthInfo): their login and profile, their roles, and their secret (a
    password, or an imported hash; neither: they are invited to choose one)."""

    email: str | None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    locale_code: str | None = None
    accepts_marketing: bool = False
    is_active: bool = True
    role_ids: tuple[int, ...] = ()
    password: str | None = field(default=None, repr=False)
    external_password: str | None = field(default=None, repr=False)
    is_import: bool = False


@dataclass(frozen=True, slots=True)
class Prepared:
    """A new user checked, with their secret hashed (or None: to invite), before any transaction."""

    email: str
    username: str
    profile: Profile
    is_active: bool
    role_ids: tuple[int, ...]
    secret: LoginSecret | None


@dataclass(frozen=True, slots=True)
class Added:
    user: B2BUser
    invited: bool


@dataclass(frozen=True, slots=True)
class UserChanges:
    """An update of a user (Kibo's B2BUser): KEEP leaves a field as it is."""

    email: Any = KEEP
    username: Any = KEEP
    is_active: Any = KEEP
    profile: dict[str, Any] = field(default_factory=dict)


def _store(core: Core) -> B2BPersistence:
    return core.store


async def prepare(core: Core, caller: Caller, user: NewUser, prefix: str = "") -> Prepared:
    """Check a new user and hash their password (or imported hash) outside any transaction."""
    email = clean_email(user.email, required=True, name=f"{prefix}emailAddress")
    assert email is not None
    username = clean_username(user.username, email, name=f"{prefix}userName")
    profile = Profile(first_name=user.first_name, last_name=user.last_name, locale_code=user.locale_code,
                      accepts_marketing=user.accepts_marketing, account_type=rules.ACCOUNT_TYPE_B2B_USER)
    check_profile_values({"first_name": profile.first_name, "last_name": profile.last_name,
                          "locale_code": profile.locale_code})
    if len(user.role_ids) > MAX_ROLES_AT_ONCE:
        raise InvalidParameter(f"{prefix}roles", f"Missing or invalid parameter: at most {MAX_ROLES_AT_ONCE} roles")
    secret = None
    if user.password or user.external_password:
        secret = await secret_for_new_login(core, caller, user.password, user.external_password, user.is_import,
                                            user_inputs(email, username, user.first_name, user.last_name))
    return Prepared(email, username, profile, user.is_active, tuple(dict.fromkeys(user.role_ids)), secret)


def role_behaviors(role: RoleInfo) -> frozenset[int]:
    built_in = rules.BUILT_IN_ROLE_BY_ID.get(role.id) if role.is_system else None
    return built_in.behaviors if built_in is not None else role.behaviors


async def role_for(store: B2BPersistence, caller: Caller, access: Access, account_id: int, role_id: int,
                   name: str = "roleId") -> RoleInfo:
    """The role `role_id` as one that may be given in (or taken from a user of) the account by the caller:
    404 for a role that is not the tenant's or not given to this account; 403 when it grants a behavior the
    caller does not hold."""
    role = await store.role_info(role_id)
    if (role is None or (role.tenant_id is not None and role.tenant_id != caller.tenant.id)
            or (not role.is_system and role.account_ids and account_id not in role.account_ids)
            or (role.is_system and role.id not in rules.BUILT_IN_ROLE_BY_ID)):
        raise NotFound(f"Item not found: role {role_id} is not a role of this account")
    if not access.admin and not rules.grantable(access.behaviors, role_behaviors(role)):
        raise Forbidden("Forbidden: a user may not give or take a role granting a behavior they do not hold")
    return role


async def add_in(core: Core, tx: B2BPersistence, caller: Caller, access: Access, account_id: int, user: Prepared,
                 role_ids: tuple[int, ...], by: str, *, prefix: str = "") -> Added:
    """Add the prepared user to the account inside the caller's transaction `tx`: a new login (invited when
    it has no secret) or a membership of an existing B2B user's login; their roles; the audit entry and the
    invitation mail. The caller wakes the mail sender after the commit when `invited`."""
    now = core.clock.now()
    roles = [await role_for(tx, caller, access, account_id, r, f"{prefix}roles") for r in role_ids]
    found = await tx.find_login(caller.site.customer_set_id, login_key(user.email))
    if found is None and user.username != user.email:
        found = await tx.find_login(caller.site.customer_set_id, login_key(user.username))
    if found is not None and found[0].profile.account_type != rules.ACCOUNT_TYPE_B2B_USER:
        raise Conflict("Validation conflict: the email address or username belongs to a customer account that is not "
                       "a B2B user; upgrade it (upgradeaccounts) to add it to a B2B account")
    if found is not None:
        row, has_secret = found[0], found[1] is not None or found[0].has_external_password
    else:
        row_id = await tx.insert_account(NewAccount(
            tenant_id=caller.tenant.id, customer_set_id=caller.site.customer_set_id, user_id=new_hex(16),
            email=user.email, email_key=login_key(user.email), username=user.username,
            username_key=login_key(user.username), password_hash=user.secret.password_hash if user.secret else None,
            profile=user.profile, has_external_password=user.secret.is_external if user.secret else False,
            created_by=caller.app.client_id), now)
        loaded = await tx.get_account(row_id, with_parts=False)
        assert loaded is not None
        row, has_secret = loaded, user.secret is not None
    if not await tx.insert_membership(account_id, row.id, caller.tenant.id, now, by):
        raise Conflict("Validation conflict: the user is a user of this account already")
    if not user.is_active:
        await tx.update_membership(account_id, row.id, {"is_active": False}, now, by)
    for role in roles:
        await tx.add_user_role(account_id, row.id, role.id, now, by)
    invited = not has_secret and bool(row.email)
    if invited:
        await _invite(core, tx, caller, account_id, row, now)
    await audit.record(core, audit.Event.B2B_USER_ADDED, caller=caller, account_id=account_id, actor=by,
                       detail={"userId": row.user_id, "roles": [r.id for r in roles], "invited": invited,
                               "newLogin": found is None}, store=tx)
    added = await tx.get_b2b_user(account_id, row.id)
    assert added is not None
    return Added(added, invited)


async def _invite(core: Core, tx: B2BPersistence, caller: Caller, account_id: int, row: Account, now: datetime) -> None:
    """A single-use set-password code (a reset code: Update-Forgotten-Password sets the password with it) and
    its mail, in the transaction that adds the user."""
    assert row.email is not None
    tenant = caller.tenant
    code = new_hex(CODE_BYTES)
    await tx.issue_code(row.id, PURPOSE_RESET, at_rest(code), now,
                        now + timedelta(hours=tenant.settings.codes.reset_code_hours))
    company = await tx.get_account(account_id, with_parts=False)
    user_name = row.username or row.email
    await mail.enqueue(core, tx, tenant, MAIL_B2B_USER_INVITED, row.email, row.profile.locale_code, {
        "code": code, "user_name": user_name, "first_name": row.profile.first_name,
        "company": company.profile.company_or_organization if company else None,
        "reset_url": reset_link(tenant.settings.mail.reset_url, {"code": code, "userName": user_name}),
        "expires_hours": tenant.settings.codes.reset_code_hours,
    })


# -- the flows -----------------------------------------------------------------------------------------

async def add_user(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, new: NewUser) -> B2BUser:
    """Add a user to the account (1001, manage users)."""
    _, access = await b2b_access.account_for(core, caller, shopper, account_id, rules.MANAGE_USERS,
                                             "adding a user to a B2B account", with_users=False)
    prepared = await prepare(core, caller, new)
    async with _store(core).transaction() as tx:
        added = await add_in(core, tx, caller, access, account_id, prepared, prepared.role_ids,
                             actor(caller, shopper))
    if added.invited:
        core.mail.wake()
    return added.user


async def list_users(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                     query: ListQuery) -> Page[B2BUser]:
    """A page of the account's users (1001, manage users)."""
    await b2b_access.account_for(core, caller, shopper, account_id, rules.MANAGE_USERS, "listing the users of a B2B "
                                 "account", with_users=False)
    return await _store(core).page_b2b_users(account_id, query)


async def _member(core: Core, caller: Caller, account_id: int, user_id: str) -> B2BUser:
    """The account's user `user_id` (not a removed one): 404 otherwise."""
    store = _store(core)
    row = await store.user_row_by_user_id(caller.tenant.id, caller.site.customer_set_id, user_id.strip()[:64])
    user = await store.get_b2b_user(account_id, row.id) if row is not None else None
    if user is None or user.is_removed:
        raise NotFound(f"Item not found: user {user_id[:64]} is not a user of B2B account {account_id}")
    return user


def _is_self(shopper: Shopper | None, user: B2BUser) -> bool:
    return shopper is not None and shopper.user_account_id == user.user.id


async def _self_or(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, user_id: str,
                   doing: str) -> B2BUser:
    """The account's user `user_id`, for the merchant, a user with 1001 there, or the user themselves."""
    try:
        await b2b_access.account_for(core, caller, shopper, account_id, rules.MANAGE_USERS, doing, with_users=False)
    except Forbidden:
        # the user themselves, in the account of their ticket
        if (shopper is None or shopper.user_id != user_id.strip().lower() or shopper.account_id != account_id
                or await b2b_access.user_access(core, shopper) is None):
            raise
    return await _member(core, caller, account_id, user_id)


async def update_user(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, user_id: str,
                      changes: UserChanges) -> B2BUser:
    """Change a user: their names, locale and marketing choice (1001, or the user themselves), whether their
    membership is active (1001; never the last active Admin; inactive ends their sessions for the account),
    their email and username (the merchant only: the login is the user's in every account they belong to)."""
    user = await _self_or(core, caller, shopper, account_id, user_id, "changing a user of a B2B account")
    access = await b2b_access.require(core, caller, shopper, account_id, None, "changing a user")
    manages = access.holds(rules.MANAGE_USERS)
    values: dict[str, Any] = {}
    membership: dict[str, Any] = {}
    if changes.email is not KEEP or changes.username is not KEEP:
        new_email = clean_email(changes.email, required=True) if changes.email is not KEEP else user.user.email
        new_username = (clean_username(changes.username, new_email) if changes.username is not KEEP
                        else user.user.username)
        if (new_email, new_username) != (user.user.email, user.user.username):
            if not access.admin:
                raise Forbidden("Forbidden: only an application with the customer:admin behavior may change a B2B "
                                "user's emailAddress or userName")
            values.update(email=new_email, email_key=login_key(new_email) if new_email else None,
                          username=new_username, username_key=login_key(new_username) if new_username else None)
    if changes.is_active is not KEEP and changes.is_active != user.is_active:
        if not manages:
            raise b2b_access.forbidden("changing whether a user is active")
        if not changes.is_active:  # as removing them: only by someone who could give each of their roles
            for role in user.roles:
                await role_for(_store(core), caller, access, account_id, role.role_id)
        membership["is_active"] = bool(changes.is_active)
    profile = {k: v for k, v in changes.profile.items() if k in ("first_name", "last_name", "locale_code",
                                                                  "accepts_marketing")}
    check_profile_values(profile)
    values.update(profile)
    now, by = core.clock.now(), actor(caller, shopper)
    async with _store(core).transaction() as tx:
        if membership.get("is_active") is False:
            await keep_an_admin(tx, account_id, user.user.id)
        if values:
            await tx.update_account(user.user.id, values, login_names="email" in values, now=now, by=by)
        if membership:
            await tx.update_membership(account_id, user.user.id, membership, now, by)
            if membership["is_active"] is False:
                await end_user_sessions(tx, account_id, user.user.id, now)
        if values or membership:
            await audit.record(core, audit.Event.B2B_USER_UPDATED, caller=caller, account_id=account_id, actor=by,
                               detail={"userId": user.user.user_id,
                                       "fields": sorted(k for k in [*values, *membership] if not k.endswith("_key"))},
                               store=tx)
        updated = await tx.get_b2b_user(account_id, user.user.id)
    assert updated is not None
    return updated


async def keep_an_admin(tx: B2BPersistence, account_id: int, user_account_id: int) -> None:
    """409 when the user is the account's last active Admin (under the account's row lock: the check and the
    change commit together, one request after the other)."""
    await tx.lock_b2b_account(account_id)
    admins = await tx.active_admins(account_id)
    if admins == {user_account_id}:
        raise Conflict("Validation conflict: the last active Admin of the account cannot be removed, made inactive or "
                       "lose the Admin role; make another user Admin first")


async def remove_user(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, user_id: str) -> None:
    """Remove a user from the account (1001): their membership is kept, marked removed, without its roles;
    their sessions for the account end. Never the last active Admin."""
    _, access = await b2b_access.account_for(core, caller, shopper, account_id, rules.MANAGE_USERS,
                                             "removing a user from a B2B account", with_users=False)
    user = await _member(core, caller, account_id, user_id)
    for role in user.roles:  # taking a role the remover could not give is a demotion they may not make
        await role_for(_store(core), caller, access, account_id, role.role_id)
    now, by = core.clock.now(), actor(caller, shopper)
    async with _store(core).transaction() as tx:
        await keep_an_admin(tx, account_id, user.user.id)
        await tx.update_membership(account_id, user.user.id, {"is_removed": True}, now, by)
        for role in user.roles:
            await tx.remove_user_role(account_id, user.user.id, role.role_id)
        ended = await end_user_sessions(tx, account_id, user.user.id, now)
        await audit.record(core, audit.Event.B2B_USER_REMOVED, caller=caller, account_id=account_id, actor=by,
                           detail={"userId": user.user.user_id, "sessionsEnded": ended}, store=tx)


async def end_user_sessions(tx: B2BPersistence, account_id: int, user_account_id: int, now: datetime) -> int:
    """End the user's live sessions for the account, in the caller's transaction: the number ended."""
    return await tx.revoke_membership_families(account_id, user_account_id, now, REVOKED_BY_B2B_REMOVAL)


async def user_roles(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                     user_id: str) -> tuple[B2BUser, list[UserRoleRef]]:
    """The user's roles in the account (1001, or the user themselves)."""
    user = await _self_or(core, caller, shopper, account_id, user_id, "reading a user's roles")
    return user, user.roles


async def user_behaviors(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, user_id: str) -> list[int]:
    """The user's behaviors in the account, the union of their roles' (1001, or the user themselves)."""
    user = await _self_or(core, caller, shopper, account_id, user_id, "reading a user's behaviors")
    built_in, merchant = await _store(core).role_grants(account_id, user.user.id)
    return sorted(rules.behaviors_of_roles(built_in, merchant))


async def add_role(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, user_id: str,
                   role_id: int) -> None:
    """Give the user a role in the account (1001; only a role whose behaviors the giver holds). Giving a role
    the user holds already changes nothing."""
    _, access = await b2b_access.account_for(core, caller, shopper, account_id, rules.MANAGE_USERS,
                                             "giving a role to a user of a B2B account", with_users=False)
    user = await _member(core, caller, account_id, user_id)
    store = _store(core)
    role = await role_for(store, caller, access, account_id, role_id)
    now, by = core.clock.now(), actor(caller, shopper)
    async with store.transaction() as tx:
        if not await tx.add_user_role(account_id, user.user.id, role.id, now, by):
            return
        await audit.record(core, audit.Event.B2B_USER_ROLE_ADDED, caller=caller, account_id=account_id, actor=by,
                           detail={"userId": user.user.user_id, "roleId": role.id}, store=tx)
        await _role_mail(core, tx, caller, account_id, user, role, MAIL_B2B_ROLE_ADDED)
    core.mail.wake()


async def remove_role(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, user_id: str,
                      role_id: int) -> None:
    """Take a role from the user in the account (1001; only a role the taker could give; never the Admin role
    of the last active Admin). 404 when the user does not hold it."""
    _, access = await b2b_access.account_for(core, caller, shopper, account_id, rules.MANAGE_USERS,
                                             "taking a role from a user of a B2B account", with_users=False)
    user = await _member(core, caller, account_id, user_id)
    store = _store(core)
    role = await role_for(store, caller, access, account_id, role_id)
    by = actor(caller, shopper)
    async with store.transaction() as tx:
        if role.id == rules.ADMIN_ROLE:
            await keep_an_admin(tx, account_id, user.user.id)
        if not await tx.remove_user_role(account_id, user.user.id, role.id):
            raise NotFound(f"Item not found: user {user_id[:64]} does not hold role {role_id} in this account")
        await audit.record(core, audit.Event.B2B_USER_ROLE_REMOVED, caller=caller, account_id=account_id, actor=by,
                           detail={"userId": user.user.user_id, "roleId": role.id}, store=tx)
        await _role_mail(core, tx, caller, account_id, user, role, MAIL_B2B_ROLE_REMOVED)
    core.mail.wake()


async def _role_mail(core: Core, tx: B2BPersistence, caller: Caller, account_id: int, user: B2BUser, role: RoleInfo,
                     kind: str) -> None:
    if not user.user.email:
        return
    company = await tx.get_account(account_id, with_parts=False)
    await mail.enqueue(core, tx, caller.tenant, kind, user.user.email, user.user.profile.locale_code, {
        "first_name": user.user.profile.first_name, "role_name": role.name,
        "company": company.profile.company_or_organization if company else None,
    })


async def users_with_role(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                          role_id: int) -> list[B2BUser]:
    """The account's users who hold the role (1001)."""
    await b2b_access.account_for(core, caller, shopper, account_id, rules.MANAGE_USERS,
                                 "listing the users of a role", with_users=False)
    return await _store(core).users_with_role(account_id, role_id)


# -- a user's accounts ---------------------------------------------------------------------------------

async def accounts_by_user(core: Core, caller: Caller, shopper: Shopper | None, email: str | None,
                           username: str | None, all_accounts: bool, user_id: str | None = None) -> list[int]:
    """The ids of the accounts a user belongs to: the merchant names the user by emailAddress or userName (or,
    ours, userId); a B2B user asks of themselves (naming anyone else is refused). Without `all_accounts`,
    only the accounts a login may use (active and approved, the membership active), in login order."""
    store = _store(core)
    if is_admin(caller):
        name = (email or username or "").strip()
        if user_id and user_id.strip():
            row = await store.user_row_by_user_id(caller.tenant.id, caller.site.customer_set_id,
                                                  user_id.strip().lower()[:64])
            if row is None:
                return []
            row_id = row.id
        else:
            if not name:
                raise InvalidParameter("emailAddress", "Missing or invalid parameter: emailAddress, userName or "
                                       "userId is required")
            found = await store.find_login(caller.site.customer_set_id, login_key(name))
            if found is None or found[0].profile.account_type != rules.ACCOUNT_TYPE_B2B_USER:
                return []
            row_id = found[0].id
    else:
        if shopper is None or shopper.user_account_id is None:
            raise b2b_access.forbidden("listing a user's B2B accounts")
        row = await store.get_account(shopper.user_account_id, with_parts=False)
        names = {login_key(n) for n in (row.email, row.username) if n} if row else set()
        for given in (email, username):
            if given and given.strip() and login_key(given) not in names:
                raise b2b_access.forbidden("listing another user's B2B accounts")
        if user_id and user_id.strip() and user_id.strip().lower() != shopper.user_id:
            raise b2b_access.forbidden("listing another user's B2B accounts")
        row_id = shopper.user_account_id
    memberships = [m for m in await store.memberships_of(row_id) if not m.is_removed]
    if not all_accounts:
        memberships = [m for m in memberships if rules.usable(m)]
    memberships.sort(key=_login_order)
    return [m.account_id for m in memberships]


def _login_order(m: Membership) -> tuple[bool, int, datetime, int]:
    return (m.priority is None, m.priority or 0, m.created_at, m.account_id)


# -- priorities: a user's order of their accounts ---------------------------------------------------------

def _own_user(shopper: Shopper | None) -> int:
    if shopper is None or shopper.user_account_id is None:
        raise Forbidden("Forbidden: account priorities are a B2B user's own: send the user's ticket")
    return shopper.user_account_id


async def priorities(core: Core, shopper: Shopper | None) -> tuple[dict[int, list[int]], list[int]]:
    """The ticket's user's accounts by priority ({priority: [account ids]}), and the accounts a login cannot
    use (Kibo's blackListedAccounts: inactive, unapproved, or the membership inactive)."""
    user = _own_user(shopper)
    memberships = [m for m in await _store(core).memberships_of(user) if not m.is_removed]
    by_priority: dict[int, list[int]] = {}
    for m in sorted(memberships, key=_login_order):
        if m.priority is not None:
            by_priority.setdefault(m.priority, []).append(m.account_id)
    return by_priority, [m.account_id for m in memberships if not rules.usable(m)]


async def set_priorities(core: Core, caller: Caller, shopper: Shopper | None,
                         wanted: dict[int, int | None]) -> tuple[dict[int, list[int]], list[int]]:
    """Set (or, for None, clear) the ticket's user's priority of each of their accounts in `wanted`; an account
    that is not theirs is a 400 naming it and changes nothing."""
    user = _own_user(shopper)
    if len(wanted) > MAX_PRIORITIES:
        raise InvalidParameter("accountPriorities", f"Missing or invalid parameter: at most {MAX_PRIORITIES} accounts")
    mine = {m.account_id for m in await _store(core).memberships_of(user) if not m.is_removed}
    for account_id, priority in wanted.items():
        if account_id not in mine:
            raise InvalidParameter("accounts", f"Missing or invalid parameter: {account_id} is not an account of the "
                                   "user", account_id)
        if priority is not None and not 0 <= priority < 2**31:
            raise InvalidParameter("priority", "Missing or invalid parameter: priority is a number from 0", priority)
    now = core.clock.now()
    assert shopper is not None
    async with _store(core).transaction() as tx:
        for account_id, priority in wanted.items():
            await tx.update_membership(account_id, user, {"priority": priority}, now, shopper.user_id)
        if wanted:
            await audit.record(core, audit.Event.B2B_PRIORITIES_CHANGED, caller=caller, account_id=user,
                               detail={"accounts": sorted(wanted)}, store=tx)
    return await priorities(core, shopper)
