"""Passwords of new logins: the tenant's policy, the bundled common-password list, and (for
imported accounts) hashes made by another system."""

from __future__ import annotations

from dataclasses import dataclass

from ticketbooth.domain.errors import AddCustomerFailed, InvalidParameter
from ticketbooth.domain.policies import PasswordPolicy, problems_with_password
from ticketbooth.services.core import Core, common_passwords


def password_problems(password: str, policy: PasswordPolicy) -> list[str]:
    return problems_with_password(password, policy, is_common=password.lower() in common_passwords())


@dataclass(frozen=True, slots=True)
class LoginSecret:
    """What is stored for a new login: a password hash, and whether it was made by another system
    (an imported account, verified and replaced by an Argon2id hash at its first login)."""

    password_hash: str
    is_external: bool = False


async def secret_for_new_login(core: Core, policy: PasswordPolicy, password: str | None,
                               external_password: str | None = None, is_import: bool = False) -> LoginSecret:
    """The stored secret for a login being created: the Argon2id hash of `password` checked against
    `policy`, or with `is_import`, the external hash given (see infra for the formats accepted)."""
    if is_import or external_password:
        raise InvalidParameter(
            "externalPassword", "Missing or invalid parameter: importing external password hashes is not supported yet")
    if not password:
        raise InvalidParameter("password", "Missing or invalid parameter: password is required")
    problems = password_problems(password, policy)
    if problems:
        raise AddCustomerFailed("Add customer failed: the password " + "; ".join(problems))
    return LoginSecret(await core.hashing.hash(password))
