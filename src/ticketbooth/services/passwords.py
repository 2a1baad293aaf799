"""Checking a new password against the tenant's policy and the bundled common-password list."""

from __future__ import annotations

from ticketbooth.domain.policies import PasswordPolicy, problems_with_password
from ticketbooth.services.core import common_passwords


def password_problems(password: str, policy: PasswordPolicy) -> list[str]:
    return problems_with_password(password, policy, is_common=password.lower() in common_passwords())
