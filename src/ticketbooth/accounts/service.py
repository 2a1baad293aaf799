"""Customer accounts: registering shoppers (Add-Account-And-Login, Create-Login, Bulk), and reading,
listing, adding, changing and deleting accounts."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from ticketbooth.accounts.access import account_for, actor, is_admin, require_admin
from ticketbooth.accounts.parts.service import AccountParts, add_parts, check_parts
from ticketbooth.accounts.persistence import AccountsPersistence
from ticketbooth.accounts.views import shopper_view
from ticketbooth.audit import service as audit
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import (
    AddCustomerFailed,
    Conflict,
    Forbidden,
    InvalidParameter,
    NotFound,
    TicketboothError,
)
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import (
    REVOKED_BY_DEACTIVATION,
    REVOKED_BY_DELETION,
    Account,
    IssuedTicket,
    NewAccount,
    Profile,
    Shopper,
)
from ticketbooth.domain.policies import login_key, user_inputs
from ticketbooth.domain.text import clean_email, clean_username, has_unstorable
from ticketbooth.events import rules as topics
from ticketbooth.events import service as events
from ticketbooth.infra.tokens import new_hex
from ticketbooth.login import limits
from ticketbooth.login import names as login_names
from ticketbooth.login.passwords import LoginSecret, secret_for_new_login
from ticketbooth.tickets.service import RequestedLifetimes, lifetimes_for, open_family

"""The stored, case-folded form of a login name (NFKC and case folding may lengthen it)."""
MAX_BULK = 100

# Profile field -> (its name in requests, the longest value kept)
_PROFILE_LIMITS: Mapping[str, tuple[str, int]] = {
    "first_name": ("firstName", 200),
    "last_name": ("lastName", 200),
    "company_or_organization": ("companyOrOrganization", 200),
    "tax_id": ("taxId", 100),
    "external_id": ("externalId", 200),
    "locale_code": ("localeCode", 20),
    "account_type": ("accountType", 50),
}


class _Keep(Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP
"""An update leaves this field as it is."""


@dataclass
class AccountDetails:
    """The account fields a registration may set (Kibo's CustomerAccount, minus server-kept ones)."""

    email: str | None = None
    username: str | None = None
    profile: Profile = field(default_factory=Profile)
    customer_set: str | None = None
    parts: AccountParts = field(default_factory=AccountParts)
    """Contacts, notes, attributes and segments the account is created with."""


@dataclass(frozen=True, slots=True)
class NewLogin:
    """One entry of a bulk registration: an account and the secret of its login."""

    details: AccountDetails
    password: str | None = None
    external_password: str | None = None
    is_import: bool = False


@dataclass(frozen=True, slots=True)
class AccountChanges:
    """What an update asks for. KEEP leaves a field as it is; None clears a nullable one."""

    email: str | _Keep | None = KEEP
    username: str | _Keep | None = KEEP
    is_active: bool | _Keep = KEEP
    profile: Mapping[str, Any] = field(default_factory=dict)
    """Profile field name -> new value, for the fields given only."""
    id: int | None = None
    """The account id the body names, if any: it must be the one updated."""
    password: str | None = field(default=None, repr=False)
    """The current password: a shopper's proof for changing the login names (see `services.login_names`)."""


# -- checking what clients send ------------------------------------------------------------------------

def _check_profile_values(values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        limit = _PROFILE_LIMITS.get(key)
        if limit is None or not isinstance(value, str):
            continue
        name, longest = limit
        if len(value) > longest:
            raise InvalidParameter(name, f"Missing or invalid parameter: {name} is longer than {longest} characters")
        if has_unstorable(value):
            raise InvalidParameter(name, f"Missing or invalid parameter: {name} has control characters")


def _check_profile(profile: Profile) -> None:
    _check_profile_values(dataclasses.asdict(profile))


@dataclass(frozen=True, slots=True)
class _Checked:
    email: str | None
    username: str | None
    profile: Profile
    parts: AccountParts

    def keys(self) -> list[str]:
        return sorted({login_key(n) for n in (self.email, self.username) if n})

    def inputs(self) -> list[str]:
        """The words its password must not lean on (a tenant's min_strength)."""
        return user_inputs(self.email, self.username, self.profile.first_name, self.profile.last_name)


async def _checked(core: Core, caller: Caller, details: AccountDetails, *, with_login: bool) -> _Checked:
    """The account fields of a new account, checked. With a login, an email is required and the
    username defaults to it; without, both are optional (but claimed if given)."""
    check_parts(caller, details.parts)
    email = clean_email(details.email, required=with_login)
    if with_login or (details.username and details.username.strip()):
        username: str | None = clean_username(details.username, email)
    else:
        username = None
    if details.customer_set:
        cs = await core.directory.customer_set(caller.site.customer_set_id)
        if cs is not None and details.customer_set != cs.code:
            raise InvalidParameter("customerSet", "Missing or invalid parameter: customerSet is not this site's")
    _check_profile(details.profile)
    return _Checked(email, username, details.profile, details.parts)


def _name_key(details: AccountDetails) -> str | None:
    """The rate-limit key of a registration: the email (else username) asked for, taken or not."""
    name = details.email or details.username
    return login_key(name) if name and isinstance(name, str) else None


def _new_account(caller: Caller, checked: _Checked, secret: LoginSecret | None) -> NewAccount:
    return NewAccount(
        tenant_id=caller.tenant.id, customer_set_id=caller.site.customer_set_id, user_id=new_hex(16),
        email=checked.email, email_key=login_key(checked.email) if checked.email else None,
        username=checked.username, username_key=login_key(checked.username) if checked.username else None,
        password_hash=secret.password_hash if secret else None, profile=checked.profile,
        has_external_password=secret.is_external if secret else False, created_by=caller.app.client_id,
    )


async def _insert(core: Core, tx: AccountsPersistence, caller: Caller, checked: _Checked, secret: LoginSecret | None) -> Account:
    """Insert a checked account with its parts inside the transaction `tx`, and read it back whole."""
    account_id = await tx.insert_account(_new_account(caller, checked, secret), core.clock.now())
    await add_parts(core, tx, caller, account_id, checked.parts, caller.app.client_id)
    account = await tx.get_account(account_id)
    assert account is not None
    return account


# -- registration ----------------------------------------------------------------------------------------

async def register(
    core: Core, caller: Caller, details: AccountDetails, password: str | None, *,
    external_password: str | None = None, is_import: bool = False,
    requested: RequestedLifetimes | None = None, previous: Shopper | None = None,
) -> IssuedTicket:
    """Create an account with a login in the site's customer set and log it in, in one transaction."""
    await limits.check(core, caller, limits.Limit.REGISTRATION, account_key=_name_key(details))
    checked = await _checked(core, caller, details, with_login=True)
    access_ttl, refresh_ttl = lifetimes_for(caller, False, requested)
    secret = await secret_for_new_login(core, caller, password, external_password, is_import, checked.inputs())
    async with core.store.transaction() as tx:
        account = await _insert(core, tx, caller, checked, secret)
        await audit.record(core, audit.Event.ACCOUNT_CREATED, caller=caller, account_id=account.id,
                           actor=_admin_actor(caller), detail={"login": True}, store=tx)
        return await open_family(
            core, tx, caller, user_id=account.user_id, account=account,
            previous_anonymous=previous.user_id if previous and previous.is_anonymous else None,
            access_ttl=access_ttl, refresh_ttl=refresh_ttl,
        )


async def create_login(
    core: Core, caller: Caller, account_id: int, email: str | None, username: str | None, password: str | None,
    *, external_password: str | None = None, is_import: bool = False, requested: RequestedLifetimes | None = None,
) -> IssuedTicket:
    """Give an existing account without a login a username and password, and log it in. Needs an
    application with the customer:admin behavior: it sets a password on someone's account."""
    require_admin(caller, "creating a login")
    await limits.check(core, caller, limits.Limit.REGISTRATION, account_key=f"account:{account_id}")
    account = await account_for(core, caller, None, account_id, owner_may=False, with_parts=False)
    email_clean = clean_email(email, required=False) or account.email
    username_clean = clean_username(username, email_clean, name="username")
    access_ttl, refresh_ttl = lifetimes_for(caller, False, requested)
    secret = await secret_for_new_login(core, caller, password, external_password, is_import, user_inputs(
        email_clean, username_clean, account.profile.first_name, account.profile.last_name))
    email_key = login_key(email_clean) if email_clean else None
    async with core.store.transaction() as tx:
        done = await tx.set_login(
            account.id, email_clean, email_key, username_clean, login_key(username_clean), secret.password_hash,
            core.clock.now(), caller.app.client_id, has_external_password=secret.is_external,
        )
        if not done:
            raise Conflict("Validation conflict: the account already has a login")
        await audit.record(core, audit.Event.ACCOUNT_UPDATED, caller=caller, account_id=account.id,
                           actor=caller.app.client_id, detail={"fields": ["login"]}, store=tx)
        await events.publish(core, tx, topics.ACCOUNT_UPDATED, entity_id=account.id, caller=caller)
        await events.publish(core, tx, topics.LOGIN_NAMES_CHANGED, entity_id=account.id, caller=caller)
        refreshed = await tx.get_account(account.id)
        assert refreshed is not None
        return await open_family(
            core, tx, caller, user_id=refreshed.user_id, account=refreshed, previous_anonymous=None,
            access_ttl=access_ttl, refresh_ttl=refresh_ttl,
        )


def _at_entry(index: int, exc: TicketboothError) -> TicketboothError:
    """`exc` as said of entry `index` of a bulk request."""
    category, _, detail = exc.message.partition(": ")
    message = f"{category}: entry {index}: {detail}"
    if isinstance(exc, InvalidParameter):
        return InvalidParameter(f"[{index}].{exc.name}", message, exc.value)
    if isinstance(exc, Conflict | AddCustomerFailed):
        return type(exc)(message)
    return exc


async def add_accounts(core: Core, caller: Caller, entries: Sequence[NewLogin]) -> list[Account]:
    """Bulk registration: each entry becomes an account with a login, as Add-Account-And-Login does,
    but no ticket is issued. All or nothing: every entry is checked first and all are inserted in
    one transaction, so one bad entry (400 naming it as `[index].field`) or one taken email or
    username (409 saying "entry index") creates no account at all. At most MAX_BULK entries.
    Passwords are hashed one after the other, so a batch never holds more than one hashing slot."""
    require_admin(caller, "adding accounts in bulk")
    if len(entries) > MAX_BULK:
        raise InvalidParameter("body", f"Missing or invalid parameter: at most {MAX_BULK} accounts may be added at once")
    checked: list[_Checked] = []
    claimed: dict[str, int] = {}
    for index, entry in enumerate(entries):
        try:
            one = await _checked(core, caller, entry.details, with_login=True)
        except TicketboothError as exc:
            raise _at_entry(index, exc) from None
        for key in one.keys():
            if key in claimed:
                raise Conflict(f"Validation conflict: entry {index}: entry {claimed[key]} has the same email "
                               "address or username")
            claimed[key] = index
        checked.append(one)
    secrets: list[LoginSecret] = []
    for index, entry in enumerate(entries):
        try:
            secrets.append(await secret_for_new_login(core, caller, entry.password, entry.external_password, entry.is_import,
                                                      checked[index].inputs()))
        except TicketboothError as exc:
            raise _at_entry(index, exc) from None
    async with core.store.transaction() as tx:
        added: list[Account] = []
        for index, (one, secret) in enumerate(zip(checked, secrets, strict=True)):
            try:
                added.append(await _insert(core, tx, caller, one, secret))
            except TicketboothError as exc:
                raise _at_entry(index, exc) from None
            await audit.record(core, audit.Event.ACCOUNT_CREATED, caller=caller, account_id=added[-1].id,
                               actor=caller.app.client_id, detail={"login": True, "bulk": True}, store=tx)
    return added


# -- the account resource ------------------------------------------------------------------------------------

async def get_account(core: Core, caller: Caller, shopper: Shopper | None, account_id: int) -> Account:
    """The account, for its own shopper (without the merchant's notes and attributes) or an admin
    application."""
    account = await account_for(core, caller, shopper, account_id)
    return account if is_admin(caller) else await shopper_view(core, account)


async def list_accounts(core: Core, caller: Caller, query: ListQuery) -> tuple[list[Account], int]:
    """A page of the accounts of the caller's customer set, and how many match in all (admin only)."""
    require_admin(caller, "listing accounts")
    return await core.store.list_accounts(caller.tenant.id, caller.site.customer_set_id, query)


async def add_account(core: Core, caller: Caller, details: AccountDetails) -> Account:
    """An account without a login (admin only). An email or username given is claimed as a login
    name, so no other account can register or log in with it."""
    require_admin(caller, "adding an account")
    await limits.check(core, caller, limits.Limit.REGISTRATION, account_key=_name_key(details))
    checked = await _checked(core, caller, details, with_login=False)
    async with core.store.transaction() as tx:
        added = await _insert(core, tx, caller, checked, None)
        await audit.record(core, audit.Event.ACCOUNT_CREATED, caller=caller, account_id=added.id,
                           actor=caller.app.client_id, detail={"login": False}, store=tx)
        return added


async def update_account(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                         changes: AccountChanges) -> Account:
    """Change the profile, email and username of an account (its shopper or an admin application);
    only an admin application may change whether it is active, and deactivating it ends every
    session of the account. Email and username are claimed again in the same transaction; a shopper
    changing them proves it with the password or a fresh login, and the old address is told
    (`services.login_names`)."""
    if changes.id is not None and changes.id != account_id:
        raise InvalidParameter("id", f"Missing or invalid parameter: id {changes.id} is not the account {account_id}")
    account = await account_for(core, caller, shopper, account_id, with_parts=False, sensitive=True)
    values: dict[str, Any] = {}
    if changes.is_active is not KEEP and changes.is_active != account.is_active:
        if not is_admin(caller):
            raise Forbidden("Forbidden: only an application with the customer:admin behavior may change isActive")
        values["is_active"] = changes.is_active
    if changes.email is not KEEP:
        email = clean_email(changes.email, required=False)
        values.update(email=email, email_key=login_key(email) if email else None)
    if changes.username is not KEEP:
        if changes.username and changes.username.strip():
            username: str | None = clean_username(changes.username, None)
        elif account.has_password or account.has_external_password:
            raise InvalidParameter("userName", "Missing or invalid parameter: userName is required for an account "
                                   "with a login")
        else:
            username = None
        values.update(username=username, username_key=login_key(username) if username else None)
    unknown = set(changes.profile) - set(_PROFILE_LIMITS) - {"tax_exempt", "accepts_marketing"}
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    _check_profile_values(changes.profile)
    values.update(changes.profile)
    renamed = login_names.renamed(account, values.get("email", account.email), values.get("username", account.username))
    if renamed:
        await login_names.require_proof(core, caller, shopper, account, changes.password)
        await _limit_new_login_names(core, caller, account)
    notice = False
    now = core.clock.now()
    async with core.store.transaction() as tx:
        if values:
            done = await tx.update_account(
                account.id, values, login_names="email" in values or "username" in values, now=now,
                by=actor(caller, shopper),
            )
            if not done:
                raise NotFound(f"Item not found: account {account_id} does not exist")
            if values.get("is_active") is False:
                await tx.revoke_account_families(account.id, now, REVOKED_BY_DEACTIVATION)
            await _audit_update(core, tx, caller, shopper, account.id, values)
            if renamed:
                await events.publish(core, tx, topics.LOGIN_NAMES_CHANGED, entity_id=account.id, caller=caller)
                notice = await login_names.notify(core, tx, caller, account, renamed)
        updated = await tx.get_account(account.id)
    if notice:
        core.mail.wake()
    if updated is None:
        raise NotFound(f"Item not found: account {account_id} does not exist")
    return updated if is_admin(caller) else await shopper_view(core, updated)


async def delete_account(core: Core, caller: Caller, account_id: int) -> None:
    """Delete the account with its login names and parts (admin only). Every session of the account
    ends first, in the same transaction, so no ticket of it refreshes or acts again."""
    require_admin(caller, "deleting an account")
    account = await account_for(core, caller, None, account_id, owner_may=False, with_parts=False)
    async with core.store.transaction() as tx:
        await tx.revoke_account_families(account.id, core.clock.now(), REVOKED_BY_DELETION)
        if not await tx.delete_account(account.id):
            raise NotFound(f"Item not found: account {account_id} does not exist")
        await audit.record(core, audit.Event.ACCOUNT_DELETED, caller=caller, account_id=account.id,
                           user_id=account.user_id, actor=caller.app.client_id, store=tx)


async def _limit_new_login_names(core: Core, caller: Caller, account: Account) -> None:
    """An update that claims a login name the account does not hold yet spends the registration
    limits, per address and per account, as registering does: its answer (409 for a name taken, 200
    for a free one) tells what a registration's would, so it must not be an unlimited oracle. Asked
    after the shopper's proof (`login_names.require_proof`), so a stranger with a stolen ticket cannot
    spend the owner's allowance; an update that claims no new name spends nothing."""
    await limits.check(core, caller, limits.Limit.REGISTRATION, account_key=f"account:{account.id}")


def _admin_actor(caller: Caller) -> str | None:
    """Who to name in an audit entry: the application when an admin application acts, else nobody
    (the account's own shopper)."""
    return caller.app.client_id if is_admin(caller) else None


async def _audit_update(core: Core, tx: AccountsPersistence, caller: Caller, shopper: Shopper | None, account_id: int,
                        values: Mapping[str, Any]) -> None:
    """The audit entries of an account update: which fields changed (never their values), and a
    separate one when it was disabled; and its event (`customeraccount.updated`)."""
    own = shopper is not None and not shopper.is_anonymous and shopper.account_id == account_id
    who = None if own else caller.app.client_id
    fields = sorted(name for name in values if not name.endswith("_key"))
    await audit.record(core, audit.Event.ACCOUNT_UPDATED, caller=caller, account_id=account_id, actor=who,
                       detail={"fields": fields}, store=tx)
    await events.publish(core, tx, topics.ACCOUNT_UPDATED, entity_id=account_id, caller=caller)
    if values.get("is_active") is False:
        await audit.record(core, audit.Event.ACCOUNT_DISABLED, caller=caller, account_id=account_id, actor=who,
                           store=tx)
