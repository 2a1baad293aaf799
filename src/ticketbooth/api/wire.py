"""Kibo's JSON: camelCase names, ISO-8601 UTC dates with milliseconds and Z, every key present."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response

from ticketbooth.api import response_fields
from ticketbooth.api.bodies import ADDRESS_FIELDS
from ticketbooth.domain.cards import Card
from ticketbooth.domain.models import (
    Account,
    AccountAttribute,
    Address,
    AppToken,
    AttributeDefinition,
    AttributeValidation,
    Audit,
    Contact,
    CustomerSetInfo,
    IssuedTicket,
    LocalizedText,
    LoginState,
    Note,
    Phones,
    Segment,
    SegmentRef,
    VocabularyValue,
)

JSON_TYPE = "application/json; charset=utf-8"


class KiboJSON(Response):
    media_type = JSON_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def respond(body: Any, response_fields_raw: str | None = None, status_code: int = 200) -> KiboJSON:
    return KiboJSON(response_fields.apply(body, response_fields.parse(response_fields_raw)), status_code=status_code)


def done() -> Response:
    """Kibo's answer to an operation without a result: 200, empty body."""
    return Response(status_code=200)


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
    """CustomerAccount with every field of Kibo's shape; the parts (contacts, notes, attributes,
    segments) as loaded with the account, empty lists when none are."""
    p = a.profile
    return {
        "accountType": p.account_type,
        "attributes": [attribute(x) for x in a.attributes],
        "auditInfo": audit(a.created_at, a.created_by, a.updated_at, a.updated_by),
        "commerceSummary": {
            "lastOrderDate": None, "orderCount": 0,
            "totalOrderAmount": {"amount": 0, "currencyCode": None},
            "visitsCount": 0, "wishlistCount": 0,
        },
        "companyOrOrganization": p.company_or_organization,
        "contacts": [contact(c) for c in a.contacts],
        "customerSet": a.customer_set_code,
        "customerSinceDate": date(a.customer_since),
        "externalId": p.external_id,
        "id": a.id,
        "migrationRequired": a.migration_required,
        "notes": [note(n) for n in a.notes],
        "segments": [segment(s) for s in a.segments],
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


def _audit_of(x: Audit) -> dict[str, Any]:
    return audit(x.created_at, x.created_by, x.updated_at, x.updated_by)


def contact(c: Contact) -> dict[str, Any]:
    """CustomerContact; address and phoneNumbers are objects even when empty (old SDKs index into them)."""
    d = c.details
    a = d.address or Address()
    p = d.phone_numbers or Phones()
    return {
        "accountId": c.account_id,
        "types": [{"name": t.name, "isPrimary": t.is_primary} for t in d.types],
        "auditInfo": _audit_of(c.audit),
        "faxNumber": d.fax_number,
        "label": d.label,
        "id": c.id,
        "email": d.email,
        "firstName": d.first_name,
        "middleNameOrInitial": d.middle_name_or_initial,
        "lastNameOrSurname": d.last_name_or_surname,
        "companyOrOrganization": d.company_or_organization,
        "phoneNumbers": {"home": p.home, "mobile": p.mobile, "work": p.work},
        "address": {kibo: getattr(a, attr) for kibo, attr in ADDRESS_FIELDS},
    }


def card(c: Card) -> dict[str, Any]:
    """Card: Kibo's fields and no others (it has no auditInfo)."""
    d = c.details
    return {
        "id": c.id,
        "nameOnCard": d.name_on_card,
        "cardType": d.card_type,
        "expireMonth": d.expire_month,
        "expireYear": d.expire_year,
        "cardNumberPart": d.card_number_part,
        "contactId": d.contact_id,
        "isDefaultPayMethod": d.is_default_pay_method,
    }


def note(n: Note) -> dict[str, Any]:
    """CustomerNote."""
    return {"id": n.id, "content": n.content, "auditInfo": _audit_of(n.audit)}


def attribute(a: AccountAttribute) -> dict[str, Any]:
    """CustomerAttribute: an account's values of one attribute."""
    return {"auditInfo": _audit_of(a.audit), "fullyQualifiedName": a.fqn, "attributeDefinitionId": a.definition_id,
            "values": list(a.values)}


def segment(s: Segment | SegmentRef) -> dict[str, Any]:
    """CustomerCustomerSegment."""
    return {"id": s.id, "code": s.code, "name": s.name, "description": s.description, "auditInfo": _audit_of(s.audit)}


def _localized(t: LocalizedText | None) -> dict[str, Any] | None:
    return None if t is None else {"localeCode": t.locale_code, "value": t.value}


def vocabulary_value(v: VocabularyValue) -> dict[str, Any]:
    """CommerceRuntimeAttributeVocabularyValue."""
    return {"value": v.value, "sequence": v.sequence, "isHidden": v.is_hidden, "content": _localized(v.content)}


def attribute_definition(d: AttributeDefinition) -> dict[str, Any]:
    """CommerceRuntimeAttribute."""
    s = d.spec
    v = s.validation or AttributeValidation()
    return {
        "id": d.id,
        "adminName": s.admin_name,
        "namespace": s.namespace,
        "attributeCode": s.attribute_code,
        "inputType": s.input_type,
        "valueType": s.value_type,
        "dataType": s.data_type,
        "attributeMetadata": [{"key": k, "value": value} for k, value in s.metadata],
        "attributeFQN": s.fqn,
        "content": _localized(s.content),
        "validation": {
            "regularExpression": None,
            "minStringLength": v.min_string_length, "maxStringLength": v.max_string_length,
            "minNumericValue": v.min_numeric_value, "maxNumericValue": v.max_numeric_value,
            "minDateTime": date(v.min_date_time), "maxDateTime": date(v.max_date_time),
        },
        "vocabularyValues": [vocabulary_value(x) for x in s.vocabulary_values],
        "auditInfo": _audit_of(d.audit),
        "isActive": s.is_active,
        "isRequired": s.is_required,
        "isReadOnly": s.is_read_only,
        "isMultiValued": s.is_multi_valued,
        "isVisible": s.is_visible,
        "order": s.order,
        "displayGroup": s.display_group,
        "availableForOrderRouting": s.available_for_order_routing,
        "availableForDiscounts": s.available_for_discounts,
    }


def customer_set(info: CustomerSetInfo) -> dict[str, Any]:
    """CustomerSet, with the sites that use it and its number of accounts."""
    cs = info.customer_set
    return {
        "code": cs.code,
        "name": cs.name,
        "description": None,
        "auditInfo": audit(info.created_at, None, info.created_at, None),
        "sites": [{"siteId": site.id, "customerSetCode": cs.code, "name": site.name} for site in info.sites],
        "isDefault": cs.is_default,
        "aggregateInfo": {"customerCount": info.customer_count},
    }


def collection(items: list[dict[str, Any]], start_index: int, page_size: int, total: int) -> dict[str, Any]:
    """A Kibo paged collection (CustomerAccountCollection and the like): pageCount is the number of
    pages of `page_size` that `total` items fill."""
    pages = -(-total // page_size) if page_size > 0 else 0
    return {"startIndex": start_index, "pageSize": page_size, "pageCount": pages, "totalCount": total,
            "items": items}


def _token_pair(t: IssuedTicket | AppToken) -> dict[str, Any]:
    return {
        "accessToken": t.access_token,
        "accessTokenExpiration": date(t.access_expires_at),
        "refreshToken": t.refresh_token,
        "refreshTokenExpiration": date(t.refresh_expires_at),
    }


def ticket(t: IssuedTicket) -> dict[str, Any]:
    """CustomerAuthTicket."""
    return {
        **_token_pair(t),
        "jwtAccessToken": t.jwt,
        "userId": None if t.is_anonymous else t.user_id,
        "customerAccount": account(t.account) if t.account else None,
        "requires2FA": t.requires_2fa,
    }


def login_state(s: LoginState) -> dict[str, Any]:
    """LoginState."""
    return {
        "isPasswordChangeRequired": s.password_change_required,
        "lastPasswordChangeOn": date(s.password_changed_at),
        "isLocked": s.is_locked,
        "lastLockedOn": date(s.locked_at),
        "failedLoginAttemptCount": s.failed_login_count,
        "remainingLoginAttempts": s.remaining_login_attempts,
        "firstFailedLoginAttemptOn": date(s.first_failed_login_at),
        "lastLoginOn": date(s.last_login_at),
        "createdOn": date(s.created_at),
        "updatedOn": date(s.updated_at),
    }


def app_ticket(t: AppToken) -> dict[str, Any]:
    """The legacy application AuthTicket."""
    return _token_pair(t)


def oauth_token(t: AppToken) -> dict[str, Any]:
    return {
        "access_token": t.access_token, "token_type": "Bearer", "expires_in": t.expires_in,
        "refresh_token": t.refresh_token,
    }
