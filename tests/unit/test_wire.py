"""Kibo's JSON shapes: the date format, CustomerAccount and CustomerAuthTicket (KIBO_COMPAT 1 and 5)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import orjson

from ticketbooth.domain.models import Account, AppToken, IssuedTicket, Profile
from ticketbooth.kibo import wire

KIBO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

# KIBO_COMPAT section 1, "CustomerAccount: exactly the fields in the seed document"
CUSTOMER_ACCOUNT_KEYS = {
    "accountType", "attributes", "auditInfo", "commerceSummary", "companyOrOrganization", "contacts", "customerSet",
    "customerSinceDate", "externalId", "id", "migrationRequired", "notes", "segments", "taxExempt", "taxId",
    "acceptsMarketing", "emailAddress", "firstName", "hasExternalPassword", "isActive", "isAnonymous", "isLocked",
    "last2FaDate", "lastName", "localeCode", "userId", "userName",
}
CUSTOMER_AUTH_TICKET_KEYS = {
    "accessToken", "accessTokenExpiration", "refreshToken", "refreshTokenExpiration", "jwtAccessToken", "userId",
    "customerAccount", "requires2FA",
}
AUDIT_INFO_KEYS = {"createBy", "createDate", "updateBy", "updateDate"}
LIST_KEYS = {"attributes", "contacts", "notes", "segments"}

T0 = datetime(2026, 11, 27, 5, 31, 56, 123456, tzinfo=UTC)


def full_account() -> Account:
    return Account(
        id=42, tenant_id=100, customer_set_id=1, customer_set_code="default", user_id="a" * 32,
        email="ada@example.test", username="ada", profile=Profile(
            first_name="Ada", last_name="Lovelace", company_or_organization="Engines Ltd", tax_exempt=True,
            tax_id="GB1", accepts_marketing=True, external_id="ext-1", locale_code="en-GB", account_type="B2C",
        ), customer_since=T0, is_active=True,
        is_locked=False, has_password=True, has_external_password=False, migration_required=False,
        last_2fa_at=T0 + timedelta(days=1), last_login_at=T0, created_at=T0, created_by="storefront.app",
        updated_at=T0 + timedelta(hours=1), updated_by="admin.app",
    )


def bare_account() -> Account:
    return Account(id=1, tenant_id=100, customer_set_id=1, customer_set_code="default", user_id="b" * 32,
                   email=None, username=None)


def issued(account: Account | None) -> IssuedTicket:
    return IssuedTicket(
        access_token="c" * 64, access_expires_at=T0 + timedelta(minutes=15), refresh_token="d" * 32,
        refresh_expires_at=T0 + timedelta(hours=24), jwt="e.f.g", user_id="a" * 32, account=account,
    )


# -- dates ---------------------------------------------------------------------------------------

def test_date_is_iso_utc_with_milliseconds_and_z() -> None:
    assert wire.date(T0) == "2026-11-27T05:31:56.123Z"


def test_date_truncates_to_milliseconds_never_rounding_up_to_a_fourth_digit() -> None:
    assert wire.date(T0.replace(microsecond=999999)) == "2026-11-27T05:31:56.999Z"
    assert wire.date(T0.replace(microsecond=0)) == "2026-11-27T05:31:56.000Z"
    assert wire.date(T0.replace(microsecond=999)) == "2026-11-27T05:31:56.000Z"


def test_date_converts_other_zones_to_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert wire.date(datetime(2026, 11, 27, 14, 31, 56, 5000, tzinfo=tokyo)) == "2026-11-27T05:31:56.005Z"
    new_york = timezone(timedelta(hours=-5))
    assert wire.date(datetime(2026, 12, 31, 22, 0, 0, tzinfo=new_york)) == "2027-01-01T03:00:00.000Z"


def test_date_of_none_is_none() -> None:
    assert wire.date(None) is None


# -- CustomerAccount -----------------------------------------------------------------------------

def test_account_has_exactly_the_customer_account_keys() -> None:
    for account in (full_account(), bare_account()):
        assert set(wire.account(account)) == CUSTOMER_ACCOUNT_KEYS


def test_account_lists_are_empty_lists_never_missing_or_null() -> None:
    body = wire.account(bare_account())
    for key in LIST_KEYS:
        assert body[key] == [], key


def test_account_commerce_summary_shape() -> None:
    summary = wire.account(bare_account())["commerceSummary"]
    assert set(summary) == {"lastOrderDate", "orderCount", "totalOrderAmount", "visitsCount", "wishlistCount"}
    assert set(summary["totalOrderAmount"]) == {"amount", "currencyCode"}
    assert summary["orderCount"] == summary["visitsCount"] == summary["wishlistCount"] == 0
    assert summary["totalOrderAmount"]["amount"] == 0


def test_account_audit_info_shape_and_dates() -> None:
    audit = wire.account(full_account())["auditInfo"]
    assert set(audit) == AUDIT_INFO_KEYS
    assert audit == {"createBy": "storefront.app", "createDate": "2026-11-27T05:31:56.123Z",
                     "updateBy": "admin.app", "updateDate": "2026-11-27T06:31:56.123Z"}


def test_account_fields_map_to_kibo_names() -> None:
    body = wire.account(full_account())
    assert body["id"] == 42
    assert body["userId"] == "a" * 32
    assert body["emailAddress"] == "ada@example.test"
    assert body["userName"] == "ada"
    assert (body["firstName"], body["lastName"]) == ("Ada", "Lovelace")
    assert body["companyOrOrganization"] == "Engines Ltd"
    assert (body["taxExempt"], body["taxId"]) == (True, "GB1")
    assert body["acceptsMarketing"] is True
    assert body["externalId"] == "ext-1"
    assert body["localeCode"] == "en-GB"
    assert body["accountType"] == "B2C"
    assert body["customerSet"] == "default"
    assert body["customerSinceDate"] == "2026-11-27T05:31:56.123Z"
    assert body["last2FaDate"] == "2026-11-28T05:31:56.123Z"
    assert (body["isActive"], body["isLocked"], body["isAnonymous"]) == (True, False, False)
    assert (body["hasExternalPassword"], body["migrationRequired"]) == (False, False)


def test_every_date_in_an_account_has_the_kibo_form() -> None:
    body = wire.account(full_account())
    dates = [body["customerSinceDate"], body["last2FaDate"], body["auditInfo"]["createDate"],
             body["auditInfo"]["updateDate"]]
    assert all(KIBO_DATE.match(d) for d in dates), dates


def test_account_serializes_to_json() -> None:
    assert orjson.loads(orjson.dumps(wire.account(full_account())))["id"] == 42


# -- CustomerAuthTicket --------------------------------------------------------------------------

def test_ticket_has_exactly_the_customer_auth_ticket_keys() -> None:
    for account in (full_account(), None):
        assert set(wire.ticket(issued(account))) == CUSTOMER_AUTH_TICKET_KEYS


def test_ticket_fields() -> None:
    body = wire.ticket(issued(full_account()))
    assert body["accessToken"] == "c" * 64
    assert body["refreshToken"] == "d" * 32
    assert body["jwtAccessToken"] == "e.f.g"
    assert body["userId"] == "a" * 32
    assert body["accessTokenExpiration"] == "2026-11-27T05:46:56.123Z"
    assert body["refreshTokenExpiration"] == "2026-11-28T05:31:56.123Z"
    assert body["requires2FA"] is False
    assert set(body["customerAccount"]) == CUSTOMER_ACCOUNT_KEYS


def test_anonymous_ticket_has_a_null_account_but_keeps_the_key() -> None:
    body = wire.ticket(issued(None))
    assert "customerAccount" in body and body["customerAccount"] is None


def test_a_2fa_ticket_has_no_refresh_token_but_keeps_the_keys() -> None:
    ticket = IssuedTicket(access_token="c" * 64, access_expires_at=T0, refresh_token=None, refresh_expires_at=None,
                          jwt="", user_id="a" * 32, account=None, requires_2fa=True)
    body = wire.ticket(ticket)
    assert set(body) == CUSTOMER_AUTH_TICKET_KEYS
    assert body["requires2FA"] is True
    assert body["refreshToken"] is None and body["refreshTokenExpiration"] is None


# -- responses -----------------------------------------------------------------------------------

def test_respond_is_utf8_json_trimmed_by_response_fields() -> None:
    response = wire.respond(wire.ticket(issued(full_account())), "accessToken,customerAccount(id)")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert orjson.loads(response.body) == {"accessToken": "c" * 64, "customerAccount": {"id": 42}}


def test_app_tokens_in_both_shapes() -> None:
    token = AppToken(access_token="x", access_expires_at=T0, refresh_token="y", refresh_expires_at=T0,
                     expires_in=3600)
    assert wire.oauth_token(token) == {"access_token": "x", "token_type": "Bearer", "expires_in": 3600,
                                       "refresh_token": "y"}
    assert set(wire.app_ticket(token)) == {"accessToken", "accessTokenExpiration", "refreshToken",
                                           "refreshTokenExpiration"}
    assert wire.app_ticket(token)["accessTokenExpiration"] == "2026-11-27T05:31:56.123Z"
