"""Kibo's JSON: camelCase names, ISO-8601 UTC dates with milliseconds and Z, every key present."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response

from ticketbooth.api import response_fields
from ticketbooth.domain.models import Account, AppToken, IssuedTicket

JSON_TYPE = "application/json; charset=utf-8"


class KiboJSON(Response):
    media_type = JSON_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def respond(body: Any, response_fields_raw: str | None = None, status_code: int = 200) -> KiboJSON:
    return KiboJSON(response_fields.apply(body, response_fields.parse(response_fields_raw)), status_code=status_code)


def date(value: datetime | None) -> str | None:
    """`2026-11-27T05:31:56.123Z`: what every Kibo client parses."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def audit(created_at: datetime | None, created_by: str | None, updated_at: datetime | None,
          updated_by: str | None) -> dict[str, Any]:
    return {"createBy": created_by, "createDate": date(created_at), "updateBy": updated_by,
            "updateDate": date(updated_at)}


def account(a: Account) -> dict[str, Any]:
    """CustomerAccount with every field of Kibo's shape; parts this version does not keep yet
    (contacts, notes, attributes, segments) are empty lists, never missing."""
    p = a.profile
    return {
        "accountType": p.account_type,
        "attributes": [],
        "auditInfo": audit(a.created_at, a.created_by, a.updated_at, a.updated_by),
        "commerceSummary": {
            "lastOrderDate": None, "orderCount": 0,
            "totalOrderAmount": {"amount": 0, "currencyCode": None},
            "visitsCount": 0, "wishlistCount": 0,
        },
        "companyOrOrganization": p.company_or_organization,
        "contacts": [],
        "customerSet": a.customer_set_code,
        "customerSinceDate": date(a.customer_since),
        "externalId": p.external_id,
        "id": a.id,
        "migrationRequired": a.migration_required,
        "notes": [],
        "segments": [],
        "taxExempt": p.tax_exempt,
        "taxId": p.tax_id,
        "acceptsMarketing": p.accepts_marketing,
        "emailAddress": a.email,
        "firstName": p.first_name,
        "hasExternalPassword": a.has_external_password,
        "isActive": a.is_active,
        "isAnonymous": False,
        "isLocked": a.is_locked,
        "last2FaDate": date(a.last_2fa_at),
        "lastName": p.last_name,
        "localeCode": p.locale_code,
        "userId": a.user_id,
        "userName": a.username,
    }


def ticket(t: IssuedTicket) -> dict[str, Any]:
    """CustomerAuthTicket."""
    return {
        "accessToken": t.access_token,
        "accessTokenExpiration": date(t.access_expires_at),
        "refreshToken": t.refresh_token,
        "refreshTokenExpiration": date(t.refresh_expires_at),
        "jwtAccessToken": t.jwt,
        "userId": t.user_id,
        "customerAccount": account(t.account) if t.account else None,
        "requires2FA": t.requires_2fa,
    }


def app_ticket(t: AppToken) -> dict[str, Any]:
    """The legacy application AuthTicket."""
    return {
        "accessToken": t.access_token,
        "accessTokenExpiration": date(t.access_expires_at),
        "refreshToken": t.refresh_token,
        "refreshTokenExpiration": date(t.refresh_expires_at),
    }


def oauth_token(t: AppToken) -> dict[str, Any]:
    return {
        "access_token": t.access_token, "token_type": "Bearer", "expires_in": t.expires_in,
        "refresh_token": t.refresh_token,
    }
