"""Request bodies in Kibo's names. Field names are Kibo's camelCase; JSON keys are matched
case-insensitively (the reader lower-cases them and these models alias each field to its lower case)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

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


class CustomerAccountUpdate(KiboBody):
    """Update-Account's body: the CustomerAccount a client got, changed. Read-only fields and the
    parts (contacts, notes, attributes, segments: they have their own endpoints) are not declared,
    so they are ignored whatever they hold."""

    id: int | None = Field(default=None, ge=-(2**63), le=2**63)
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
    isActive: bool | None = None
    password: str | None = Field(default=None, repr=False)
    """Ours, not Kibo's: the current password, which a shopper sends to change emailAddress or userName
    more than `fresh_login_seconds` after logging in."""


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


class CustomerPasswordInfo(KiboBody):
    oldPassword: str | None = None
    newPassword: str | None = None
    externalPassword: str | None = None


class AccountPasswordInfo(KiboBody):
    accountId: int = Field(ge=1, le=2**63 - 1)
    userId: str | None = None
    unlockAccount: bool | None = None
    passwordInfo: CustomerPasswordInfo | None = None


class AccountPasswordInfoCollection(KiboBody):
    """Items are checked one by one (a malformed item fails alone), so they are read raw here."""

    totalCount: int | None = None
    items: list[Any] | None = None


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


# the second factor and the one-time passcode login (tickets/routes/authtickets.py); no docstrings on these four:
# a model's docstring is its schema's description in the OpenAPI document
class TwoFactorInfo(KiboBody):
    userId: str | None = None
    otpCode: str | None = None
    accessToken: str | None = None
    """The pending ticket's access token, for clients that cannot send it as x-vol-user-claims."""


class OtpRequestInfo(KiboBody):
    email: str | None = None
    emailAddress: str | None = None


class OtpAuthInfo(OtpRequestInfo):
    otpCode: str | None = None
    fingerprint: str | None = None
    region: str | None = None


# impersonate-cart (sessions/routes.py)
class CartAuthTicketRequest(KiboBody):
    accountId: int | None = Field(default=None, ge=1, le=2**63 - 1)
    userId: str | None = Field(default=None, max_length=100)
    cartId: str | None = Field(default=None, max_length=200)


class CustomerResetPasswordInfo(KiboBody):
    emailAddress: str | None = None
    userName: str | None = None
    customerSetCode: str | None = None


class ConfirmationInfo(KiboBody):
    userName: str | None = None
    confirmationCode: str | None = None
    newPassword: str | None = None


# -- account parts and customer definitions (accounts/routes/parts.py, accounts/routes/customer_definitions.py) --------

Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]


class CommerceRuntimeAddress(KiboBody):
    address1: str | None = None
    address2: str | None = None
    address3: str | None = None
    address4: str | None = None
    cityOrTown: str | None = None
    stateOrProvince: str | None = None
    postalOrZipCode: str | None = None
    countryCode: str | None = None
    addressType: str | None = None
    isValidated: bool | None = None


def snake_case(kibo_name: str) -> str:
    """A Kibo field name as the domain spells it: cityOrTown -> city_or_town."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", kibo_name).lower()


ADDRESS_FIELDS: tuple[tuple[str, str], ...] = tuple(
    (name, snake_case(name)) for name in CommerceRuntimeAddress.model_fields
)
"""Kibo's address fields, each with its `domain.models.Address` attribute: the one spelling of them,
read by the body above, the answer (kibo/wire.py), the body into the domain (accounts/routes/parts.py)
and the schema (kibo/openapi.py)."""


class CommerceRuntimePhone(KiboBody):
    home: str | None = None
    mobile: str | None = None
    work: str | None = None


class ContactTypeIn(KiboBody):
    name: str | None = None
    isPrimary: bool | None = None


class CustomerContactIn(KiboBody):
    """CustomerContact. `id` names the contact a PUT of the contact list replaces (0 or absent: a new one);
    accountId and auditInfo are the server's and ignored."""

    id: int | None = Field(default=None, ge=0, le=2**63 - 1)
    email: str | None = None
    firstName: str | None = None
    middleNameOrInitial: str | None = None
    lastNameOrSurname: str | None = None
    companyOrOrganization: str | None = None
    faxNumber: str | None = None
    label: str | None = None
    address: CommerceRuntimeAddress | None = None
    phoneNumbers: CommerceRuntimePhone | None = None
    types: list[ContactTypeIn] | None = None


class CardIn(KiboBody):
    """Card (a saved payment card). Every value is taken as sent and checked by the service
    (domain/cards.py), other fields included: a full card number anywhere in the body is refused, so the
    fields are not typed here (a type error must not come before that refusal)."""

    model_config = ConfigDict(extra="allow")

    id: Any = None
    nameOnCard: Any = None
    cardType: Any = None
    expireMonth: Any = None
    expireYear: Any = None
    cardNumberPart: Any = None
    contactId: Any = None
    isDefaultPayMethod: Any = None


class CustomerNoteIn(KiboBody):
    content: str | None = Field(default=None, max_length=20_000)


class CustomerAttributeIn(KiboBody):
    fullyQualifiedName: str | None = None
    attributeDefinitionId: Int32 | None = None
    values: list[Any] | None = None


class LocalizedContentIn(KiboBody):
    localeCode: str | None = None
    value: str | None = None


class VocabularyValueIn(KiboBody):
    value: str | None = None
    sequence: Int32 | None = None
    isHidden: bool | None = None
    content: LocalizedContentIn | None = None


class AttributeValidationIn(KiboBody):
    regularExpression: str | None = None
    minStringLength: Int32 | None = None
    maxStringLength: Int32 | None = None
    minNumericValue: float | None = None
    maxNumericValue: float | None = None
    minDateTime: datetime | None = None
    maxDateTime: datetime | None = None


class AttributeMetadataItemIn(KiboBody):
    key: str | None = None
    value: str | None = None


class CommerceRuntimeAttributeIn(KiboBody):
    """An attribute definition. id, attributeFQN and auditInfo are the server's: attributeFQN is
    namespace~attributeCode."""

    attributeCode: str | None = None
    namespace: str | None = None
    attributeFQN: str | None = None
    adminName: str | None = None
    inputType: str | None = None
    valueType: str | None = None
    dataType: str | None = None
    displayGroup: str | None = None
    attributeMetadata: list[AttributeMetadataItemIn] | None = None
    content: LocalizedContentIn | None = None
    validation: AttributeValidationIn | None = None
    vocabularyValues: list[VocabularyValueIn] | None = None
    isActive: bool | None = None
    isRequired: bool | None = None
    isReadOnly: bool | None = None
    isMultiValued: bool | None = None
    isVisible: bool | None = None
    order: Int32 | None = None
    availableForOrderRouting: bool | None = None
    availableForDiscounts: bool | None = None


class CustomerSegmentIn(KiboBody):
    """CustomerCustomerSegment; id and auditInfo are the server's."""

    id: Int32 | None = None
    code: str | None = None
    name: str | None = None
    description: str | None = None


def _number(description: str) -> Any:
    """A money field, taken as sent and checked by the service (purchase_orders/rules.py): documented as
    a number with at most two decimals."""
    return Field(default=None, description=description,
                 json_schema_extra={"type": ["number", "null"], "multipleOf": 0.01})


class CustomerPurchaseOrderPaymentTermIn(KiboBody):
    siteId: int | None = Field(default=None, ge=1, le=2**31 - 1)
    code: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=500)


class CustomerPurchaseOrderAccountIn(KiboBody):
    """CustomerPurchaseOrderAccount as a merchant sends it to create or replace one. The available balance
    is not set by a client (it follows the credit limit and the transactions): availableBalance,
    totalAvailableBalance, id and accountId in the body are ignored."""

    isEnabled: bool | None = None
    creditLimit: Any = _number("The credit limit, at least 0 (absent: 0)")
    overdraftAllowance: Any = _number("How far below zero the available balance may go: an amount, or a percent of "
                                      "the credit limit (at most 100)")
    overdraftAllowanceType: Any = Field(default=None, json_schema_extra={
        "type": ["string", "null"], "enum": ["Percent", "Amount", None]})
    customerPurchaseOrderPaymentTerms: list[CustomerPurchaseOrderPaymentTermIn] | None = Field(default=None,
                                                                                              max_length=50)


class PurchaseOrderTransactionIn(KiboBody):
    """PurchaseOrderTransaction as a client posts it. customerPurchaseOrderAccountId, siteId, tenantId,
    transactionDate, creditLimit, availableBalance and transactionDescription are the service's: ignored."""

    transactionTypeId: Any = Field(default=None, json_schema_extra={
        "type": "integer", "enum": [2, 3, 4, 5, 6],
        "description": "2 Order Submitted (a debit), 3 Payment Collected (no change), 4 Payment Voided and "
                       "5 Payment Refund (credits), 6 Manual Adjustment (signed)"})
    transactionAmount: Any = _number("More than 0; a manual adjustment's is signed (not 0)")
    orderId: Any = Field(default=None, json_schema_extra={"type": ["string", "null"], "maxLength": 100})
    purchaseOrderNumber: Any = Field(default=None, json_schema_extra={"type": ["string", "null"], "maxLength": 100})
    externalId: Any = Field(default=None, json_schema_extra={"type": ["string", "null"], "maxLength": 100})
    additionalTransactionDetail: Any = Field(default=None, json_schema_extra={"type": ["string", "null"],
                                                                             "maxLength": 1000})
    author: Any = Field(default=None, json_schema_extra={"type": ["string", "null"], "maxLength": 200})


# event subscriptions (webhooks/routes.py): Kibo's ApplicationSubscription and AppDevEvent
class AppDevEventIn(KiboBody):
    eventId: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1)
    eventName: str | None = Field(default=None, max_length=200)
    eventCategory: str | None = Field(default=None, max_length=200)
    apiVersionNumber: str | None = Field(default=None, max_length=50)


class ApplicationSubscriptionIn(KiboBody):
    applicationSubscriptionId: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1)
    applicationEndPoint: str | None = None
    events: list[AppDevEventIn] | None = Field(default=None, max_length=100)
    packageId: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1)
    noCallback: bool | None = None
