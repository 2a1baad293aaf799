"""Request bodies of the B2B account API in Kibo's names (the SDK's B2BAccount, B2BUser, B2BUserAndAuthInfo,
UserRole, AccountPriorityModel), read case-insensitively as every body (kibo/bodies.py)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from ticketbooth.kibo.bodies import CustomerAccountIn, KiboBody

Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
AccountIdValue = Annotated[int, Field(ge=1, le=2**63 - 1)]


class UserRoleIn(KiboBody):
    roleId: Int32 | None = None
    roleName: str | None = None


class AccountSalesRepIn(KiboBody):
    accountId: int | None = Field(default=None, ge=-(2**63), le=2**63)
    adminUserId: str | None = None


class B2BUserIn(KiboBody):
    emailAddress: str | None = None
    userName: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    localeCode: str | None = None
    userId: str | None = None
    roles: list[UserRoleIn] | None = Field(default=None, max_length=100)
    isLocked: bool | None = None
    isActive: bool | None = None
    isRemoved: bool | None = None
    acceptsMarketing: bool | None = None
    hasExternalPassword: bool | None = None


class B2BUserAndAuthInfo(KiboBody):
    b2BUser: B2BUserIn | None = None
    externalPassword: str | None = None
    isImport: bool | None = None
    password: str | None = Field(default=None, repr=False)
    """Ours, not Kibo's: the new user's password. Without it (and without an imported externalPassword) the
    user is invited by mail to choose one."""


class B2BAccountIn(CustomerAccountIn):
    id: int | None = Field(default=None, ge=-(2**63), le=2**63)
    isActive: bool | None = None
    approvalStatus: str | None = None
    parentAccountId: AccountIdValue | None = None
    priceList: str | None = None
    priority: Int32 | None = None
    rootAccountId: int | None = Field(default=None, ge=-(2**63), le=2**63)
    salesReps: list[AccountSalesRepIn] | None = Field(default=None, max_length=100)
    users: list[B2BUserIn] | None = Field(default=None, max_length=100)


class AccountPriorityIn(KiboBody):
    accounts: list[AccountIdValue] | None = Field(default=None, max_length=200)
    priority: Int32 | None = None


class AccountPriorityModelIn(KiboBody):
    accountPriorities: list[AccountPriorityIn] | None = Field(default=None, max_length=200)
    blackListedAccounts: list[Any] | None = None
