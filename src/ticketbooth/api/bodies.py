"""Request bodies in Kibo's names. Field names are Kibo's camelCase; JSON keys are matched
case-insensitively (the reader lower-cases them and these models alias each field to its lower case)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class KiboBody(BaseModel):
    model_config = ConfigDict(
        alias_generator=str.lower, populate_by_name=True, extra="ignore", loc_by_alias=False,
        str_max_length=4096,
    )


class _Lifetimes(KiboBody):
    authTicketTtlMinutes: int | None = Field(default=None, ge=-(2**31), le=2**31)
    refreshTokenTtlMinutes: int | None = Field(default=None, ge=-(2**31), le=2**31)
    fingerprint: str | None = None
    region: str | None = None


class CustomerUserAuthInfo(_Lifetimes):
    username: str | None = None
    emailAddress: str | None = None
    password: str | None = None
    accountId: int | None = Field(default=None, ge=0, le=2**63)


class CustomerAccountIn(KiboBody):
    emailAddress: str | None = None
    userName: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    companyOrOrganization: str | None = None
    taxExempt: bool | None = None
    taxId: str | None = None
    acceptsMarketing: bool | None = None
    externalId: str | None = None
    localeCode: str | None = None
    accountType: str | None = None
    customerSet: str | None = None
    contacts: list[Any] | None = None
    notes: list[Any] | None = None
    attributes: list[Any] | None = None
    segments: list[Any] | None = None


class CustomerAccountAndAuthInfo(_Lifetimes):
    account: CustomerAccountIn | None = None
    password: str | None = None
    externalPassword: str | None = None
    isImport: bool | None = None


class CustomerLoginInfo(_Lifetimes):
    emailAddress: str | None = None
    username: str | None = None
    password: str | None = None
    externalPassword: str | None = None
    isImport: bool | None = None


class OauthAuthRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=4096)

    client_id: str | None = None
    client_secret: str | None = None
    grant_type: str | None = None
    refresh_token: str | None = None


class AppAuthInfo(KiboBody):
    applicationId: str | None = None
    sharedSecret: str | None = None


class AuthTicketRequest(KiboBody):
    refreshToken: str | None = None
