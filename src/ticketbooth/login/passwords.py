"""Passwords of new logins: the tenant's policy, the bundled common-password list, and (for
imported accounts) hashes made by another system."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ticketbooth.caller import Caller
from ticketbooth.core import Core, common_passwords
from ticketbooth.domain.errors import AddCustomerFailed, Forbidden, InvalidParameter
from ticketbooth.domain.models import BEHAVIOR_CUSTOMER_ADMIN, Account
from ticketbooth.domain.policies import PasswordPolicy, problems_with_password, strength_problem, user_inputs
from ticketbooth.infra import legacy_hashes


def password_problems(password: str, policy: PasswordPolicy) -> list[str]:
    return problems_with_password(password, policy, is_common=password.lower() in common_passwords())


# zxcvbn refuses longer input, and its work grows with the length: only this much is scored (a
# prefix scores no higher than the whole, so a long password is never let through on its prefix).
STRENGTH_MAX_CHARS = 72


def account_inputs(account: Account | None) -> list[str]:
    if account is None:
        return []
    return user_inputs(account.email, account.username, account.profile.first_name, account.profile.last_name)


def password_strength(password: str, inputs: Iterable[str] = ()) -> int:
    """The zxcvbn score (0-4) of `password` (its first STRENGTH_MAX_CHARS characters), with `inputs`
    as words known about its owner. Takes up to tens of milliseconds: call it off the event loop."""
    from zxcvbn import zxcvbn

    return int(zxcvbn(password[:STRENGTH_MAX_CHARS], user_inputs=list(inputs))["score"])


async def strength_problems(password: str, policy: PasswordPolicy, inputs: Sequence[str] = ()) -> list[str]:
    """[the reason] when `policy.min_strength` is on and `password` scores below it; else []. Scored
    in a worker thread."""
    if not policy.min_strength:
        return []
    score = await asyncio.to_thread(password_strength, password, inputs)
    problem = strength_problem(score, policy)
    return [problem] if problem else []


async def require_strength(core: Core, password: str, policy: PasswordPolicy, account_id: int,
                           name: str = "newPassword") -> None:
    """A 400 naming `name` when the tenant asks a minimum strength and `password` does not reach it,
    scored against the words of account `account_id` (Change-Password, Update-Forgotten-Password)."""
    if not policy.min_strength:
        return
    account = await core.store.get_account(account_id, with_parts=False)
    problems = await strength_problems(password, policy, account_inputs(account))
    if problems:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} " + "; ".join(problems))


def checked_new_password(password: str | None, policy: PasswordPolicy, name: str = "newPassword") -> str:
    """`password` if it is given and passes `policy`; else a 400 naming the parameter `name` and
    every rule it fails (Change-Password, Change-Passwords)."""
    if not password:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} is required")
    problems = password_problems(password, policy)
    if problems:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} " + "; ".join(problems))
    return password


@dataclass(frozen=True, slots=True)
class LoginSecret:
    """What is stored for a new login: a password hash, and whether it was made by another system
    (an imported account, verified and replaced by an Argon2id hash at its first login)."""

    password_hash: str
    is_external: bool = False


async def secret_for_new_login(core: Core, caller: Caller, password: str | None,
                               external_password: str | None = None, is_import: bool = False,
                               inputs: Sequence[str] = ()) -> LoginSecret:
    """The stored secret for a login being created:

    - a plain login: the Argon2id hash of `password`, which must pass the tenant's password policy;
    - `is_import` with `external_password`: that hash as made by the old system (the formats of
      `infra.legacy_hashes`, checked strictly: 400 naming externalPassword otherwise), kept as is
      until the first login verifies it and stores an Argon2id hash instead;
    - `is_import` with a cleartext `password`: its Argon2id hash, without the strength rules of the
      policy (the shopper chose it under the old system's rules, and refusing it would make the
      account impossible to migrate; only the maximum length applies).

    Importing is a migration, done by the merchant's back office: with a `caller` that lacks the
    customer:admin behavior, `is_import` is Forbidden (else any storefront could slip past the
    password policy). `external_password` without `is_import`, or both a password and an external
    one, are refused (an empty string counts as absent: clients fill templates with them).
    With the policy's `min_strength` on, a plain login's password is also scored, with `inputs`
    (see `user_inputs`: the new account's email, username and names) as words it must not lean on."""
    policy = caller.tenant.settings.password
    if is_import and not caller.app.has(BEHAVIOR_CUSTOMER_ADMIN):
        raise Forbidden("Forbidden: importing accounts (isImport) needs an application with the customer:admin behavior")
    if external_password and not is_import:
        raise InvalidParameter(
            "externalPassword", "Missing or invalid parameter: externalPassword is only accepted with isImport")
    if is_import and external_password:
        if password:
            raise InvalidParameter(
                "password", "Missing or invalid parameter: give either password or externalPassword, not both")
        try:
            encoded = legacy_hashes.check_importable(external_password)
        except legacy_hashes.UnsupportedHash as exc:
            raise InvalidParameter("externalPassword", f"Missing or invalid parameter: externalPassword: {exc}") from None
        return LoginSecret(encoded, is_external=True)
    if not password:
        raise InvalidParameter("password", "Missing or invalid parameter: password is required")
    if is_import:
        if len(password) > policy.max_length:
            raise AddCustomerFailed(f"Add customer failed: the password must be at most {policy.max_length} characters")
        return LoginSecret(await core.hashing.hash(password))
    problems = password_problems(password, policy) + await strength_problems(password, policy, inputs)
    if problems:
        raise AddCustomerFailed("Add customer failed: the password " + "; ".join(problems))
    return LoginSecret(await core.hashing.hash(password))
