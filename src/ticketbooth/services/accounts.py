"""Registering shoppers: an account with a login (Add-Account-And-Login), and a login for an
existing account (Create-Login)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ticketbooth.domain.errors import (
    AddCustomerFailed,
    Conflict,
    Forbidden,
    InvalidParameter,
    NotFound,
)
from ticketbooth.domain.models import BEHAVIOR_CUSTOMER_ADMIN, Account, IssuedTicket, NewAccount, Profile, Shopper
from ticketbooth.domain.policies import login_key, normalize_username
from ticketbooth.infra.tokens import new_hex
from ticketbooth.services.core import Core
from ticketbooth.services.passwords import password_problems
from ticketbooth.services.tickets import Caller, RequestedLifetimes, lifetimes_for, open_family

# Deliberately loose (RFC 5321 lengths, one @, no spaces): the mailbox is proven by mail, not regex.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 254
MAX_USERNAME = 254


@dataclass
class AccountDetails:
    """The account fields a registration may set (Kibo's CustomerAccount, minus server-kept ones)."""

    email: str | None = None
    username: str | None = None
    profile: Profile = field(default_factory=Profile)
    customer_set: str | None = None
    unsupported: list[str] = field(default_factory=list)
    """Names of parts given that this version does not store yet (contacts, notes, ...)."""


def clean_email(value: str | None, *, required: bool, name: str = "emailAddress") -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidParameter(name, f"Missing or invalid parameter: {name} is required")
        return None
    email = value.strip()
    if len(email) > MAX_EMAIL or not _EMAIL.match(email):
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} is not a valid email address", email)
    return email


def clean_username(value: str | None, fallback: str | None, name: str = "userName") -> str:
    username = normalize_username(value) if value and value.strip() else fallback
    if not username:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} is required")
    if len(username) > MAX_USERNAME or any(c.isspace() or not c.isprintable() for c in username):
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} has spaces or unprintable characters")
    return username


async def _checked_password_hash(core: Core, caller: Caller, password: str | None) -> str:
    if not password:
        raise InvalidParameter("password", "Missing or invalid parameter: password is required")
    problems = password_problems(password, caller.tenant.settings.password)
    if problems:
        raise AddCustomerFailed("Add customer failed: the password " + "; ".join(problems))
    return await core.hashing.hash(password)


async def register(
    core: Core, caller: Caller, details: AccountDetails, password: str | None, *,
    requested: RequestedLifetimes | None = None, previous: Shopper | None = None,
) -> IssuedTicket:
    """Create an account with a login in the site's customer set and log it in, in one transaction."""
    if details.unsupported:
        raise InvalidParameter(
            details.unsupported[0],
            f"Missing or invalid parameter: {', '.join(details.unsupported)} cannot be set at registration yet",
        )
    email = clean_email(details.email, required=True)
    username = clean_username(details.username, email)
    cs = await core.directory.customer_set(caller.site.customer_set_id)
    if details.customer_set and cs is not None and details.customer_set != cs.code:
        raise InvalidParameter("customerSet", "Missing or invalid parameter: customerSet is not this site's")
    access_ttl, refresh_ttl = lifetimes_for(caller, False, requested)
    password_hash = await _checked_password_hash(core, caller, password)
    new = NewAccount(
        tenant_id=caller.tenant.id, customer_set_id=caller.site.customer_set_id, user_id=new_hex(16),
        email=email, email_key=login_key(email) if email else None, username=username,
        username_key=login_key(username), password_hash=password_hash, profile=details.profile,
        created_by=caller.app.client_id,
    )
    async with core.store.transaction() as tx:
        account_id = await tx.insert_account(new, core.clock.now())
        account = await tx.get_account(account_id)
        assert account is not None
        return await open_family(
            core, tx, caller, user_id=account.user_id, account=account,
            previous_anonymous=previous.user_id if previous and previous.is_anonymous else None,
            access_ttl=access_ttl, refresh_ttl=refresh_ttl,
        )


async def create_login(
    core: Core, caller: Caller, account_id: int, email: str | None, username: str | None, password: str | None,
    *, requested: RequestedLifetimes | None = None,
) -> IssuedTicket:
    """Give an existing account without a login a username and password, and log it in. Needs an
    application with the customer:admin behavior: it sets a password on someone's account."""
    if not caller.app.has(BEHAVIOR_CUSTOMER_ADMIN):
        raise Forbidden("Forbidden: creating a login needs an application with the customer:admin behavior")
    account = await _account_in_site(core, caller, account_id)
    email_clean = clean_email(email, required=False) or account.email
    username_clean = clean_username(username, email_clean, name="username")
    access_ttl, refresh_ttl = lifetimes_for(caller, False, requested)
    password_hash = await _checked_password_hash(core, caller, password)
    email_key = login_key(email_clean) if email_clean else None
    async with core.store.transaction() as tx:
        done = await tx.set_login(
            account.id, email_clean, email_key, username_clean, login_key(username_clean), password_hash,
            core.clock.now(), caller.app.client_id,
        )
        if not done:
            raise Conflict("Validation conflict: the account already has a login")
        refreshed = await tx.get_account(account.id)
        assert refreshed is not None
        return await open_family(
            core, tx, caller, user_id=refreshed.user_id, account=refreshed, previous_anonymous=None,
            access_ttl=access_ttl, refresh_ttl=refresh_ttl,
        )


async def _account_in_site(core: Core, caller: Caller, account_id: int) -> Account:
    account = await core.store.get_account(account_id)
    if account is None or account.tenant_id != caller.tenant.id or account.customer_set_id != caller.site.customer_set_id:
        raise NotFound(f"Item not found: account {account_id}")
    return account
