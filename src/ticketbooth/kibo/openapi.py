"""The OpenAPI 3.1 document served at /openapi.json (and read by the Swagger UI page at /docs).

Handlers build Kibo's JSON by hand (kibo/wire.py) and read bodies by hand (kibo/bodies.py), so FastAPI
alone would document neither. This module completes FastAPI's document from data:

- `RESPONSE_SCHEMAS`: what the service sends, under Kibo's schema names (CustomerAuthTicket,
  CustomerAccount, CustomerAccountCollection, ...) with the fields it sends beyond Kibo's (such as
  `requires2FA`); `ApiError` is the error envelope every 4xx and 5xx answer carries;
- request bodies: the JSON Schema of the pydantic models the handlers parse with (kibo/bodies.py), under
  Kibo's names (a request shape Kibo shares with a response, such as CustomerAccount, is
  `CustomerAccountInput`);
- `OPERATIONS`: per method and path, the body, the success answer and the error statuses.

The document covers every route in `app.routes`, APIRoute or plain Starlette Route alike (FastAPI's own
generator sees only APIRoutes): a route that `OPERATIONS` does not describe is documented vaguely and
logged, and the tests fail on it, as on an entry of `OPERATIONS` that no route serves. It is built once,
on first request, and cached. These schemas only document: no response is validated against them at run
time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, routing
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ticketbooth.infra import metrics
from ticketbooth.kibo import bodies

log = logging.getLogger("ticketbooth.api")

JSON = "application/json"
REF = "#/components/schemas/"
Schema = dict[str, Any]

# -- building blocks ---------------------------------------------------------------------------------

STRING: Schema = {"type": "string"}
TEXT: Schema = {"type": ["string", "null"]}
DATE: Schema = {"type": ["string", "null"], "format": "date-time",
                "description": "ISO-8601 UTC with milliseconds, e.g. 2026-11-27T05:31:56.123Z"}
BOOL: Schema = {"type": "boolean"}
MAYBE_BOOL: Schema = {"type": ["boolean", "null"]}
INT32: Schema = {"type": "integer", "format": "int32"}
MAYBE_INT32: Schema = {"type": ["integer", "null"], "format": "int32"}
INT64: Schema = {"type": "integer", "format": "int64"}
MAYBE_NUMBER: Schema = {"type": ["number", "null"]}
NUMBER: Schema = {"type": "number"}


def ref(name: str) -> Schema:
    return {"$ref": REF + name}


def maybe(name: str) -> Schema:
    """A reference to `name`, or null."""
    return {"anyOf": [ref(name), {"type": "null"}]}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def shape(about: str, /, **properties: Schema) -> Schema:
    """An object the service sends: every property is listed (no others are sent). None is marked
    required, as `?responseFields=` leaves out the fields it does not name; without it every listed
    field is sent (tests/api/test_openapi.py checks that)."""
    return {"type": "object", "description": about, "properties": properties, "additionalProperties": False}


def collection(item: str, description: str) -> Schema:
    return shape(description, startIndex=INT32, pageSize=INT32, pageCount=INT32, totalCount=INT32,
                 items=array(ref(item)))


# -- what the service sends ---------------------------------------------------------------------------

RESPONSE_SCHEMAS: dict[str, Schema] = {
    "ApiError": {
        "type": "object",
        "description": "Kibo's error envelope: every key is always present (old SDKs index them unconditionally). "
                       "message reads \"Category: detail\".",
        "properties": {
            "message": STRING,
            "errorCode": {"type": "string", "examples": ["UNAUTHORIZED", "INVALID_CREDENTIALS", "ITEM_NOT_FOUND",
                                                         "MISSING_OR_INVALID_PARAMETER", "VALIDATION_CONFLICT"]},
            "applicationName": STRING,
            "additionalErrorData": array(shape("A detail of the error, such as the parameter at fault.",
                                               name=STRING, value={})),
            "items": array({}),
            "exceptionDetail": {"type": "null"},
        },
        "required": ["message", "errorCode", "applicationName", "additionalErrorData", "items", "exceptionDetail"],
        "additionalProperties": False,
    },
    "AdminUserAuditInfo": shape("Who created and last changed a record, and when.",
                                createBy=TEXT, createDate=DATE, updateBy=TEXT, updateDate=DATE),
    "CurrencyAmount": shape("An amount of money.", amount={"type": "number"}, currencyCode=TEXT),
    "CommerceSummary": shape("The account's order summary (no orders are kept here: zeros).",
                             lastOrderDate=DATE, orderCount=INT32, totalOrderAmount=ref("CurrencyAmount"),
                             visitsCount=INT32, wishlistCount=INT32),
    "ContactType": shape("A contact's use.", name=STRING, isPrimary=BOOL),
    "CommerceRuntimePhone": shape("A contact's phone numbers.", home=TEXT, mobile=TEXT, work=TEXT),
    "CommerceRuntimeAddress": shape("A contact's address.", **{
        **dict.fromkeys((kibo for kibo, _ in bodies.ADDRESS_FIELDS), TEXT), "isValidated": MAYBE_BOOL}),
    "CustomerContact": shape(
        "A contact of an account; address and phoneNumbers are objects even when empty.",
        accountId=INT64, types=array(ref("ContactType")), auditInfo=ref("AdminUserAuditInfo"), faxNumber=TEXT,
        label=TEXT, id=INT64, email=TEXT, firstName=TEXT, middleNameOrInitial=TEXT, lastNameOrSurname=TEXT,
        companyOrOrganization=TEXT, phoneNumbers=ref("CommerceRuntimePhone"), address=ref("CommerceRuntimeAddress")),
    "Card": shape("A saved payment card: never its number or security code. id is the payment service's card id.",
                  id=STRING, nameOnCard=TEXT, cardType=TEXT, expireMonth=MAYBE_INT32, expireYear=MAYBE_INT32,
                  cardNumberPart=TEXT, contactId=INT64, isDefaultPayMethod=BOOL),
    "CustomerPurchaseOrderPaymentTerm": shape("A payment term the account may choose.", siteId=MAYBE_INT32,
                                              code=TEXT, description=TEXT, auditInfo=ref("AdminUserAuditInfo")),
    "CustomerPurchaseOrderAccount": shape(
        "An account's purchase order account. Amounts have at most two decimals. availableBalance is the credit "
        "limit less what is owed (negative when the limit was lowered below it, or in overdraft); "
        "totalAvailableBalance adds the overdraft allowance (an amount, or a percent of the credit limit).",
        id=INT64, accountId=INT64, isEnabled=BOOL, creditLimit=NUMBER, availableBalance=NUMBER,
        totalAvailableBalance=NUMBER, overdraftAllowance=MAYBE_NUMBER,
        overdraftAllowanceType={"type": ["string", "null"], "enum": ["Percent", "Amount", None]},
        customerPurchaseOrderPaymentTerms=array(ref("CustomerPurchaseOrderPaymentTerm")),
        auditInfo=ref("AdminUserAuditInfo")),
    "PurchaseOrderTransaction": shape(
        "A change of a purchase order account's balance or credit limit, with the credit limit and available "
        "balance after it. transactionTypeId: 1 Line of Credit Change (transactionAmount: the change of the limit, "
        "signed), 2 Order Submitted (a debit), 3 Payment Collected (no change), 4 Payment Voided, 5 Payment Refund "
        "(credits), 6 Manual Adjustment (signed). id is ours.",
        id=INT64, customerPurchaseOrderAccountId=INT64, externalId=TEXT, siteId=MAYBE_INT32, tenantId=INT32,
        transactionDate=DATE, orderId=TEXT, purchaseOrderNumber=TEXT, transactionAmount=NUMBER, creditLimit=NUMBER,
        additionalTransactionDetail=TEXT, availableBalance=NUMBER,
        transactionTypeId={"type": "integer", "enum": [1, 2, 3, 4, 5, 6]}, transactionDescription=STRING,
        author=TEXT, auditInfo=ref("AdminUserAuditInfo")),
    "CustomerNote": shape("A merchant note on an account.", id=INT64, content=STRING,
                          auditInfo=ref("AdminUserAuditInfo")),
    "CustomerAttribute": shape("An account's values of one attribute.", auditInfo=ref("AdminUserAuditInfo"),
                               fullyQualifiedName=STRING, attributeDefinitionId=INT64, values=array({})),
    "CustomerCustomerSegment": shape("A segment.", id=INT64, code=STRING, name=STRING, description=TEXT,
                                     auditInfo=ref("AdminUserAuditInfo")),
    "CustomerAccount": shape(
        "A shopper's account, with its contacts, notes, attributes and segments.",
        accountType=TEXT, attributes=array(ref("CustomerAttribute")), auditInfo=ref("AdminUserAuditInfo"),
        commerceSummary=ref("CommerceSummary"), companyOrOrganization=TEXT, contacts=array(ref("CustomerContact")),
        customerSet=STRING, customerSinceDate=DATE, externalId=TEXT, id=INT64, migrationRequired=BOOL,
        notes=array(ref("CustomerNote")), segments=array(ref("CustomerCustomerSegment")), taxExempt=BOOL, taxId=TEXT,
        acceptsMarketing=BOOL, emailAddress=TEXT, firstName=TEXT, hasExternalPassword=BOOL, isActive=BOOL,
        isAnonymous=BOOL, isLocked=BOOL, last2FaDate=DATE, lastName=TEXT, localeCode=TEXT, userId=STRING,
        userName=TEXT),
    "CustomerAuthTicket": shape(
        "A shopper ticket. With requires2FA true (a login waiting for its second factor) the refresh token is "
        "null and the access token is good only for /2fa/request and /2fa/auth. An anonymous ticket has no userId "
        "(null), as Kibo's.",
        accessToken=STRING, accessTokenExpiration=DATE, refreshToken=TEXT, refreshTokenExpiration=DATE,
        jwtAccessToken=TEXT, userId=TEXT, customerAccount=maybe("CustomerAccount"), requires2FA=BOOL),
    "LoginState": shape("The state of an account's login.", isPasswordChangeRequired=BOOL, lastPasswordChangeOn=DATE,
                        isLocked=BOOL, lastLockedOn=DATE, failedLoginAttemptCount=INT32,
                        remainingLoginAttempts=INT32, firstFailedLoginAttemptOn=DATE, lastLoginOn=DATE,
                        createdOn=DATE, updatedOn=DATE),
    "ChangePasswordResult": shape("The outcome of one password change of a bulk change.",
                                  accountId={"type": ["integer", "null"], "format": "int64"}, succeeded=BOOL,
                                  errorMessage=TEXT),
    "ChangePasswordResultCollection": shape("The outcomes of a bulk password change, in the order asked.",
                                            totalCount=INT32, items=array(ref("ChangePasswordResult"))),
    "CommerceRuntimeAttributeLocalizedContent": shape("Text in one locale.", localeCode=TEXT, value=TEXT),
    "CommerceRuntimeAttributeVocabularyValue": shape(
        "One value of an attribute's list.", value=STRING, sequence=MAYBE_INT32, isHidden=BOOL,
        content=maybe("CommerceRuntimeAttributeLocalizedContent")),
    "CommerceRuntimeAttributeMetadataItem": shape("A key and value of an attribute's metadata.", key=STRING,
                                                  value=STRING),
    "CommerceRuntimeAttributeValidation": shape(
        "Limits on an attribute's values (regular expressions are not supported: always null).",
        regularExpression={"type": "null"}, minStringLength=MAYBE_INT32, maxStringLength=MAYBE_INT32,
        minNumericValue=MAYBE_NUMBER, maxNumericValue=MAYBE_NUMBER, minDateTime=DATE, maxDateTime=DATE),
    "CommerceRuntimeAttribute": shape(
        "A customer attribute definition; attributeFQN is namespace~attributeCode.",
        id=INT64, adminName=TEXT, namespace=STRING, attributeCode=STRING, inputType=STRING, valueType=STRING,
        dataType=STRING, attributeMetadata=array(ref("CommerceRuntimeAttributeMetadataItem")), attributeFQN=STRING,
        content=maybe("CommerceRuntimeAttributeLocalizedContent"),
        validation=ref("CommerceRuntimeAttributeValidation"),
        vocabularyValues=array(ref("CommerceRuntimeAttributeVocabularyValue")), auditInfo=ref("AdminUserAuditInfo"),
        isActive=BOOL, isRequired=BOOL, isReadOnly=BOOL, isMultiValued=BOOL, isVisible=BOOL, order=MAYBE_INT32,
        displayGroup=TEXT, availableForOrderRouting=BOOL, availableForDiscounts=BOOL),
    "CustomerSetSite": shape("A site that uses a customer set.", siteId=INT32, customerSetCode=STRING, name=STRING),
    "CustomerSetAggregateInfo": shape("Counts of a customer set.", customerCount=INT32),
    "CustomerSet": shape("A customer set: the accounts (and logins) shared by its sites.", code=STRING, name=STRING,
                         description={"type": "null"}, auditInfo=ref("AdminUserAuditInfo"),
                         sites=array(ref("CustomerSetSite")), isDefault=BOOL,
                         aggregateInfo=ref("CustomerSetAggregateInfo")),
    "CustomerAuditEntry": shape(
        "One entry of an account's audit trail; eventType (e.g. login.failed) and clientAddress are ours.",
        customerAccountId=INT64, customerAuditEntryId=INT64, entryDate=DATE, entryUser=TEXT, application=TEXT,
        site=TEXT, description=STRING, fieldPath=TEXT, oldValue=TEXT, newValue=TEXT, eventType=STRING,
        clientAddress=TEXT),
    "CustomerSession": shape(
        "A live session (a refresh-token family) of an account: never a token.", id=STRING, createdOn=DATE,
        lastUsedOn=DATE, expiresOn=DATE, clientAddress=TEXT, userAgent=TEXT, applicationId=TEXT, siteId=INT32,
        isImpersonation=BOOL),
    "EventExtendedProperty": shape("An id the event carries (never personal data).", key=STRING,
                                   value={"type": ["string", "integer"]}),
    "Event": shape(
        "One event of the log: ids only, the receiver calls back for details. id orders the log; eventId is the "
        "push notification's; timestamp is ours (= auditInfo.createDate).",
        id=STRING, eventId=STRING, topic=STRING, entityId=STRING, correlationId=TEXT, isTest=BOOL, tenantId=INT32,
        siteId=MAYBE_INT32, catalogId={"type": "null"}, masterCatalogId={"type": "null"}, timestamp=DATE,
        auditInfo=ref("AdminUserAuditInfo"), extendedProperties=array(ref("EventExtendedProperty"))),
    "AuthTicket": shape("An application ticket (legacy application authentication).", accessToken=STRING,
                        accessTokenExpiration=DATE, refreshToken=STRING, refreshTokenExpiration=DATE),
    "OAuthAccessTokenResponse": shape("An application token (OAuth 2 client credentials).", access_token=STRING,
                                      token_type={"type": "string", "const": "Bearer"}, expires_in=INT32,
                                      refresh_token=STRING),
    "TenantSite": shape("A site of a tenant.", id=INT32, siteId=INT32, tenantId=INT32, name=STRING, domain=STRING,
                        customerSetId=INT32),
    "Tenant": shape("A tenant: clients call https://{domain}/api/... for it.", id=INT32, name=STRING, domain=STRING,
                    isDevTenant=BOOL, sites=array(ref("TenantSite"))),
    "JsonWebKeySet": {"type": "object", "description": "The public keys that sign ticket JWTs (RFC 7517).",
                      "properties": {"keys": array({"type": "object", "properties": {"kid": STRING, "kty": STRING}})},
                      "required": ["keys"]},
    "OpenIdConfiguration": {"type": "object", "description": "OpenID-style discovery of the issuer and its keys.",
                            "properties": {"issuer": STRING, "jwks_uri": STRING, "token_endpoint": STRING},
                            "required": ["issuer", "jwks_uri", "token_endpoint"]},
    "AppDevEvent": shape("A topic a subscription asks for: eventName is the topic (customeraccount.created).",
                         eventId=INT32, eventName=STRING, eventCategory=TEXT, apiVersionNumber=TEXT),
    "ApplicationSubscription": shape(
        "An application's event subscription: its endpoint and topics (events). noCallback true pauses it.",
        applicationSubscriptionId=INT32, applicationEndPoint=STRING, events=array(ref("AppDevEvent")),
        packageId=INT32, noCallback=BOOL),
    "ApplicationSubscriptionCreated": shape(
        "A new event subscription, with its signing secret (sharedSecret), answered this once: the receiver "
        "verifies deliveries with it (mozu-node-sdk's isRequestValid sharedSecret, or Standard Webhooks).",
        applicationSubscriptionId=INT32, applicationEndPoint=STRING, events=array(ref("AppDevEvent")),
        packageId=INT32, noCallback=BOOL, sharedSecret=STRING),
    "WebhookDelivery": shape(
        "One event's delivery to a subscription (ours): status is pending, delivered or failed (given up).",
        id=INT64, applicationSubscriptionId=INT32, eventId=STRING, topic=STRING, entityId=STRING, status=STRING,
        attempts=INT32, createDate=DATE, nextAttemptDate=DATE, lastAttemptDate=DATE, lastStatusCode=MAYBE_INT32,
        lastError=TEXT, deliveredDate=DATE, failedDate=DATE),
    "Liveness": shape("The process serves HTTP.", status={"const": "ok"}),
    "Readiness": shape("The database and Redis answer; webhookBacklog: webhook deliveries waiting (null: not "
                       "measured).", status={"const": "ready"}, database=STRING, redis=STRING,
                       webhookBacklog=MAYBE_INT32),
}
for _name, _item in [("CustomerAccount", "Accounts"), ("CustomerContact", "Contacts"), ("CustomerNote", "Notes"),
                     ("CustomerAttribute", "Attribute values"), ("CommerceRuntimeAttribute", "Attribute definitions"),
                     ("CustomerSet", "Customer sets"), ("CustomerAuditEntry", "Audit entries, newest first"),
                     ("CustomerSession", "Live sessions"), ("Event", "Events of the log, in log order"),
                     ("CustomerPurchaseOrderAccount", "Purchase order accounts"),
                     ("PurchaseOrderTransaction", "Purchase order transactions, newest first unless sortBy says"),
                     ("ApplicationSubscription", "Event subscriptions"), ("WebhookDelivery", "Deliveries, newest first")]:
    RESPONSE_SCHEMAS[f"{_name}Collection"] = collection(_name, f"{_item}, a page of them.")
RESPONSE_SCHEMAS["CardCollection"] = shape("An account's saved cards, all of them (not paged).", totalCount=INT32,
                                           items=array(ref("Card")))
RESPONSE_SCHEMAS["CustomerSegmentCollection"] = collection("CustomerCustomerSegment", "Segments, a page of them.")

# -- what the service reads -----------------------------------------------------------------------------

REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    bodies.CustomerUserAuthInfo, bodies.CustomerAccountIn, bodies.CustomerAccountUpdate,
    bodies.CustomerAccountAndAuthInfo, bodies.CustomerLoginInfo, bodies.CustomerPasswordInfo,
    bodies.AccountPasswordInfo, bodies.AccountPasswordInfoCollection, bodies.OauthAuthRequest, bodies.AppAuthInfo,
    bodies.AuthTicketRequest, bodies.CustomerResetPasswordInfo, bodies.ConfirmationInfo, bodies.CustomerContactIn,
    bodies.CustomerNoteIn, bodies.CardIn, bodies.CustomerAttributeIn, bodies.CommerceRuntimeAttributeIn, bodies.CustomerSegmentIn,
    bodies.TwoFactorInfo, bodies.OtpRequestInfo, bodies.OtpAuthInfo, bodies.CartAuthTicketRequest,
    bodies.CustomerPurchaseOrderAccountIn, bodies.PurchaseOrderTransactionIn,
    bodies.ApplicationSubscriptionIn,
)


_KIBO_NAMES = {"CustomerSegmentIn": "CustomerCustomerSegmentIn",
               "LocalizedContentIn": "CommerceRuntimeAttributeLocalizedContentIn",
               "VocabularyValueIn": "CommerceRuntimeAttributeVocabularyValueIn",
               "AttributeValidationIn": "CommerceRuntimeAttributeValidationIn",
               "AttributeMetadataItemIn": "CommerceRuntimeAttributeMetadataItemIn"}


def request_name(model_name: str) -> str:
    """Kibo's name of a request model: CustomerUserAuthInfo as is; CustomerContactIn, the request side of a
    shape Kibo shares with a response, is CustomerContactInput (so is CommerceRuntimeAddress)."""
    name = _KIBO_NAMES.get(model_name, model_name).removesuffix("In")
    return name + "Input" if name in RESPONSE_SCHEMAS or name != model_name else name


def request_schemas() -> dict[str, Schema]:
    """The JSON Schema of the request models. Names compare case-insensitively on the wire; unknown names
    are ignored (so no additionalProperties: false)."""
    _, top = models_json_schema([(m, "validation") for m in REQUEST_MODELS], ref_template=REF + "{model}")
    renamed: dict[str, Schema] = _rename_refs({request_name(name): schema for name, schema in top["$defs"].items()})
    return renamed


def _rename_refs(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (REF + request_name(v.removeprefix(REF)) if k == "$ref" else _rename_refs(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename_refs(v) for v in value]
    return value


# -- operations ---------------------------------------------------------------------------------------

APP_ONLY = "app"
SHOPPER = "shopper"
PUBLIC = "public"
TWO_FACTOR = "2fa"

SECURITY: dict[str, list[dict[str, list[str]]]] = {
    PUBLIC: [],
    APP_ONLY: [{"bearerAuth": []}, {"appClaims": []}],
    SHOPPER: [{"bearerAuth": [], "userClaims": []}, {"appClaims": [], "userClaims": []}, {"bearerAuth": []},
              {"appClaims": []}],
    TWO_FACTOR: [{"bearerAuth": [], "userClaims": []}, {"appClaims": [], "userClaims": []}, {"bearerAuth": []}],
}
SECURITY_SCHEMES: dict[str, Schema] = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An application token (from "
                   "/api/platform/applications/authtickets/oauth), or a shopper ticket's jwtAccessToken, which "
                   "carries both the application and the shopper."},
    "appClaims": {"type": "apiKey", "in": "header", "name": "x-vol-app-claims",
                  "description": "An application token, the legacy way."},
    "userClaims": {"type": "apiKey", "in": "header", "name": "x-vol-user-claims",
                   "description": "A shopper ticket's accessToken (or jwtAccessToken), next to the application token."},
}

_DESCRIPTIONS = {
    400: "Missing or invalid parameter (MISSING_OR_INVALID_PARAMETER, ADD_CUSTOMER_FAILED): additionalErrorData "
         "names the parameter",
    401: "No valid credential (UNAUTHORIZED, INVALID_CREDENTIALS, INVALID_ACCESS_TOKEN, INVALID_REFRESH_TOKEN, "
         "INVALID_OTP, PASSWORD_CHANGE_REQUIRED)",
    403: "The caller may not do this (FORBIDDEN)",
    404: "No such item (ITEM_NOT_FOUND)",
    405: "Method not allowed (METHOD_NOT_ALLOWED)",
    409: "Conflicts with an existing item (VALIDATION_CONFLICT)",
    413: "The body is larger than 64 KiB (REQUEST_TOO_LARGE)",
    429: "Too many requests (TOO_MANY_REQUESTS); Retry-After says when to retry",
    500: "Unexpected error (UNEXPECTED_ERROR)",
    503: "The service cannot answer now (SERVICE_UNAVAILABLE); Retry-After says when to retry",
}
ALL_ERRORS = "400 401 403 404 409 413 429 503"
"""An application or shopper call that reads or writes accounts: any of these."""


@dataclass(frozen=True)
class Operation:
    """What one method and path read and answer, beyond what FastAPI sees of the handler.

    `ok`: the schema name of the 200 answer, "204" (no content), "200-empty" (Kibo's empty 200), or an
    inline schema; `body`: the request body's schema name or an inline schema; `errors`: the error
    statuses; `query`: query parameters the handler reads by hand (or all of them, for a plain route)."""

    ok: str | Schema
    errors: str = ALL_ERRORS
    body: str | Schema | None = None
    body_required: bool = False
    auth: str = APP_ONLY
    query: dict[str, Schema] = field(default_factory=dict)
    summary: str | None = None
    tag: str | None = None
    form: bool = False
    error_schemas: dict[int, Schema] = field(default_factory=dict)
    """Error statuses answered in another shape than Kibo's envelope (GraphQL's own `{errors}`)."""


GRAPHQL_ERRORS: Schema = {
    "type": "object", "required": ["errors"],
    "description": "A request that is not one GraphQL operation, or a document that does not parse or validate: "
    "GraphQL's own errors, no data",
    "properties": {"errors": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["message"], "properties": {"message": STRING}}}}}

RESPONSE_FIELDS = {"responseFields": {"type": "string", "description": "A comma list of the fields to send, with "
                                      "nested parentheses: accessToken,customerAccount(id,emailAddress). "
                                      "Empty: every field."}}
_PATH = re.compile(r"\{(\w+):\w+\}")

C = "/api/commerce/customer"
A = f"{C}/accounts"
T = f"{C}/authtickets"
P = "/api/platform"
S = f"{P}/appdev/appsubscriptions"
DEFS = (f"{C}/attributedefinition/attributes", f"{C}/accountattributedefinition/attributes")

OPERATIONS: dict[tuple[str, str], Operation] = {
    # operations and discovery
    ("GET", "/healthz"): Operation(ref("Liveness"), "400 413", auth=PUBLIC),
    ("GET", "/readyz"): Operation(ref("Readiness"), "400 413 503", auth=PUBLIC),
    ("GET", "/metrics"): Operation({"text/plain": STRING}, "400 401 404 413", auth=PUBLIC),  # TICKETBOOTH_METRICS_TOKEN
    ("GET", "/.well-known/jwks.json"): Operation(ref("JsonWebKeySet"), "400 413 503", auth=PUBLIC),
    ("GET", "/.well-known/openid-configuration"): Operation(ref("OpenIdConfiguration"), "400 413", auth=PUBLIC),
    # application tokens and tenants
    ("POST", f"{P}/applications/authtickets/oauth"): Operation(
        "OAuthAccessTokenResponse", "400 401 413 429 503", body="OauthAuthRequest", auth=PUBLIC, form=True),
    ("POST", f"{P}/applications/authtickets"): Operation("AuthTicket", "400 401 413 429 503", body="AppAuthInfo",
                                                         auth=PUBLIC),
    ("PUT", f"{P}/applications/authtickets/refresh-ticket"): Operation(
        "AuthTicket", "400 401 413 429 503", body="AuthTicketRequest", auth=PUBLIC),
    ("DELETE", f"{P}/applications/authtickets/{{refreshToken}}"): Operation("204", "400 413 503", auth=PUBLIC),
    ("GET", f"{P}/tenants/{{tenantId}}"): Operation("Tenant", "400 401 413 503"),
    # Kibo's GraphQL API for shopper identity (ticketbooth/graphql; the schema by introspection)
    ("POST", "/graphql"): Operation(
        {"type": "object", "description": "GraphQL's answer: data, and errors whose extensions.response holds the "
         "HTTP status and Kibo error envelope the REST call would have answered",
         "properties": {"data": {"type": ["object", "null"]}, "errors": array({"type": "object"})}},
        "400 413", auth=SHOPPER, summary="Run one GraphQL operation (Kibo's schema: tickets and customer accounts)",
        tag="GraphQL", body_required=True, error_schemas={400: GRAPHQL_ERRORS},
        body={"type": "object", "required": ["query"], "properties": {
            "query": STRING, "variables": {"type": ["object", "null"]}, "operationName": {"type": ["string", "null"]}}}),
    # shopper tickets
    ("GET", f"{T}/anonymousshopper"): Operation("CustomerAuthTicket", "400 401 413 429 503", query=RESPONSE_FIELDS,
                                                summary="Create an anonymous shopper auth ticket",
                                                tag="StorefrontAuthTicket"),
    ("POST", T): Operation("CustomerAuthTicket", "400 401 413 429 503", body="CustomerUserAuthInfo", auth=SHOPPER,
                           query=RESPONSE_FIELDS, summary="Create a user auth ticket (log in)",
                           tag="StorefrontAuthTicket"),
    ("PUT", f"{T}/refresh"): Operation(
        "CustomerAuthTicket", "400 401 413 429 503", summary="Refresh a user auth ticket", tag="StorefrontAuthTicket",
        query={"refreshToken": {"type": "string", "maxLength": 256}, "accountId": {"type": "integer", "minimum": 0},
               **RESPONSE_FIELDS}),
    ("DELETE", T): Operation("204", "400 401 413 503", body="AuthTicketRequest"),
    ("POST", f"{T}/impersonatecart"): Operation("CustomerAuthTicket", body="CartAuthTicketRequest"),
    ("POST", f"{T}/2fa/request"): Operation("204", "400 401 413 429 503", body="TwoFactorInfo", auth=TWO_FACTOR),
    ("POST", f"{T}/2fa/auth"): Operation("CustomerAuthTicket", "400 401 413 429 503", body="TwoFactorInfo",
                                         auth=TWO_FACTOR),
    ("POST", f"{T}/otp/request"): Operation("204", "400 401 403 413 429 503", body="OtpRequestInfo"),
    ("POST", f"{T}/otp/auth"): Operation("CustomerAuthTicket", "400 401 403 413 429 503", body="OtpAuthInfo",
                                         auth=SHOPPER),
    # accounts
    ("GET", A): Operation("CustomerAccountCollection"),
    ("POST", A): Operation("CustomerAccount", body="CustomerAccountInput"),
    ("POST", f"{A}/add-account-and-login"): Operation("CustomerAuthTicket", body="CustomerAccountAndAuthInfo",
                                                      auth=SHOPPER),
    ("POST", f"{A}/bulk"): Operation("CustomerAccountCollection", body=array(ref("CustomerAccountAndAuthInfo")),
                                     body_required=True),
    ("GET", f"{A}/current"): Operation("CustomerAccount", "400 401 404 413 503", auth=SHOPPER,
                                       summary="The current shopper's account", tag="CustomerAccount",
                                       query={**RESPONSE_FIELDS, "responseGroups": STRING}),
    ("POST", f"{A}/{{accountId}}/create-login"): Operation("CustomerAuthTicket", body="CustomerLoginInfo"),
    ("GET", f"{A}/{{accountId}}"): Operation("CustomerAccount", auth=SHOPPER),
    ("PUT", f"{A}/{{accountId}}"): Operation("CustomerAccount", body="CustomerAccountUpdate", body_required=True,
                                             auth=SHOPPER),
    ("DELETE", f"{A}/{{accountId}}"): Operation("204"),
    # logins and passwords
    ("GET", f"{A}/{{accountId}}/loginstate"): Operation("LoginState", auth=SHOPPER),
    **{("POST", f"{A}/loginstateby{name.lower()}"): Operation(
        "LoginState", body={"oneOf": [STRING, {"type": "object", "properties": {name: STRING}}]},
        query={name: STRING, "customerSetCode": STRING}) for name in ("emailAddress", "userName")},
    **{("POST", f"{A}/{{accountId}}/{action}"): Operation(
        "200-empty", body={"type": "boolean"}, body_required=True, auth=SHOPPER)
       for action in ("set-login-locked", "set-password-change-required")},
    ("POST", f"{A}/{{accountId}}/change-password"): Operation("200-empty", body="CustomerPasswordInfo", auth=SHOPPER,
                                                              query={"unlockAccount": BOOL}),
    ("POST", f"{A}/change-passwords"): Operation("ChangePasswordResultCollection", body="AccountPasswordInfoCollection",
                                                 body_required=True, auth=SHOPPER),
    ("POST", f"{A}/reset-password"): Operation("200-empty", body="CustomerResetPasswordInfo"),
    ("POST", f"{A}/update-forgotten-password"): Operation("200-empty", body="ConfirmationInfo"),
    # sessions and the audit trail
    ("GET", f"{A}/{{accountId}}/sessions"): Operation("CustomerSessionCollection"),
    ("DELETE", f"{A}/{{accountId}}/sessions"): Operation("204", auth=SHOPPER),
    ("DELETE", f"{A}/{{accountId}}/sessions/{{sessionId}}"): Operation("204", auth=SHOPPER),
    ("GET", f"{A}/{{accountId}}/auditlog/entries"): Operation("CustomerAuditEntryCollection", auth=SHOPPER),
    # the event log (events/routes.py): Kibo's Event Pull API
    ("GET", "/api/event/pull"): Operation("EventCollection"),
    ("GET", "/api/event/pull/{eventId}"): Operation("Event"),
    # an account's parts
    ("GET", f"{A}/{{accountId}}/contacts"): Operation("CustomerContactCollection", auth=SHOPPER),
    ("POST", f"{A}/{{accountId}}/contacts"): Operation("CustomerContact", body="CustomerContactInput", auth=SHOPPER),
    ("PUT", f"{A}/{{accountId}}/contacts"): Operation("CustomerContactCollection", auth=SHOPPER, body_required=True,
                                                      body=array(ref("CustomerContactInput")) | {"maxItems": 1000}),
    ("GET", f"{A}/{{accountId}}/contacts/{{contactId}}"): Operation("CustomerContact", auth=SHOPPER),
    ("PUT", f"{A}/{{accountId}}/contacts/{{contactId}}"): Operation("CustomerContact", body="CustomerContactInput",
                                                                    auth=SHOPPER),
    ("DELETE", f"{A}/{{accountId}}/contacts/{{contactId}}"): Operation("204", auth=SHOPPER),
    ("GET", f"{A}/{{accountId}}/notes"): Operation("CustomerNoteCollection", auth=SHOPPER),
    ("POST", f"{A}/{{accountId}}/notes"): Operation("CustomerNote", body="CustomerNoteInput", auth=SHOPPER),
    ("GET", f"{A}/{{accountId}}/notes/{{noteId}}"): Operation("CustomerNote", auth=SHOPPER),
    ("PUT", f"{A}/{{accountId}}/notes/{{noteId}}"): Operation("CustomerNote", body="CustomerNoteInput", auth=SHOPPER),
    ("DELETE", f"{A}/{{accountId}}/notes/{{noteId}}"): Operation("204", auth=SHOPPER),
    ("GET", f"{A}/{{accountId}}/cards"): Operation("CardCollection", auth=SHOPPER),
    ("POST", f"{A}/{{accountId}}/cards"): Operation("Card", body="CardInput", auth=SHOPPER),
    ("GET", f"{A}/{{accountId}}/cards/{{cardId}}"): Operation("Card", auth=SHOPPER),
    ("PUT", f"{A}/{{accountId}}/cards/{{cardId}}"): Operation("Card", body="CardInput", auth=SHOPPER),
    ("DELETE", f"{A}/{{accountId}}/cards/{{cardId}}"): Operation("204", auth=SHOPPER),
    ("GET", f"{A}/{{accountId}}/attributes"): Operation("CustomerAttributeCollection", auth=SHOPPER),
    ("POST", f"{A}/{{accountId}}/attributes"): Operation("CustomerAttribute", body="CustomerAttributeInput",
                                                         auth=SHOPPER),
    ("GET", f"{A}/{{accountId}}/attributes/{{attributeFQN}}"): Operation("CustomerAttribute", auth=SHOPPER),
    ("PUT", f"{A}/{{accountId}}/attributes/{{attributeFQN}}"): Operation("CustomerAttribute",
                                                                         body="CustomerAttributeInput", auth=SHOPPER),
    ("DELETE", f"{A}/{{accountId}}/attributes/{{attributeFQN}}"): Operation("204", auth=SHOPPER),
    ("GET", f"{A}/{{accountId}}/segments"): Operation("CustomerSegmentCollection", auth=SHOPPER),
    # purchase order accounts (purchase_orders/)
    ("GET", f"{A}/{{accountId}}/purchaseorderaccount"): Operation("CustomerPurchaseOrderAccount", auth=SHOPPER),
    ("POST", f"{A}/{{accountId}}/purchaseorderaccount"): Operation("CustomerPurchaseOrderAccount",
                                                                   body="CustomerPurchaseOrderAccountInput"),
    ("PUT", f"{A}/{{accountId}}/purchaseorderaccount"): Operation("CustomerPurchaseOrderAccount",
                                                                  body="CustomerPurchaseOrderAccountInput",
                                                                  body_required=True),
    ("GET", f"{A}/{{accountId}}/purchaseordertransaction"): Operation("PurchaseOrderTransactionCollection",
                                                                      auth=SHOPPER),
    ("POST", f"{A}/{{accountId}}/purchaseordertransaction"): Operation("PurchaseOrderTransaction",
                                                                       body="PurchaseOrderTransactionInput",
                                                                       body_required=True),
    **{(method, f"{A}/purchaseorderaccounts"): Operation("CustomerPurchaseOrderAccountCollection",
                                                          query={"accountType": {"type": "string", "description": (
                                                              "Only accounts of this type (B2C also takes accounts "
                                                              "with none); absent: every account")}})
       for method in ("GET", "POST")},
    # tenant-level definitions
    **{key: op for base in DEFS for key, op in {
        ("GET", base): Operation("CommerceRuntimeAttributeCollection"),
        ("POST", base): Operation("CommerceRuntimeAttribute", body="CommerceRuntimeAttributeInput"),
        ("GET", f"{base}/{{attributeFQN}}"): Operation("CommerceRuntimeAttribute"),
        ("PUT", f"{base}/{{attributeFQN}}"): Operation("CommerceRuntimeAttribute", body="CommerceRuntimeAttributeInput"),
        ("GET", f"{base}/{{attributeFQN}}/vocabularyvalues"): Operation(
            array(ref("CommerceRuntimeAttributeVocabularyValue"))),
    }.items()},
    ("GET", f"{C}/segments"): Operation("CustomerSegmentCollection"),
    ("POST", f"{C}/segments"): Operation("CustomerCustomerSegment", body="CustomerCustomerSegmentInput"),
    ("GET", f"{C}/segments/{{id}}"): Operation("CustomerCustomerSegment"),
    ("PUT", f"{C}/segments/{{id}}"): Operation("CustomerCustomerSegment", body="CustomerCustomerSegmentInput"),
    ("DELETE", f"{C}/segments/{{id}}"): Operation("204"),
    ("POST", f"{C}/segments/{{id}}/accounts"): Operation("204", body_required=True, body=array(
        {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}) | {"maxItems": 1000}),
    ("DELETE", f"{C}/segments/{{id}}/accounts/{{accountId}}"): Operation("204"),
    ("GET", f"{C}/customersets"): Operation("CustomerSetCollection"),
    ("GET", f"{C}/customersets/{{code}}"): Operation("CustomerSet"),
    # event subscriptions (Kibo's AppEvent) and their deliveries (ours)
    ("POST", f"{S}/events"): Operation("ApplicationSubscriptionCreated", body="ApplicationSubscriptionInput"),
    ("PUT", f"{S}/events"): Operation("ApplicationSubscription", body="ApplicationSubscriptionInput"),
    ("GET", f"{S}/events"): Operation("ApplicationSubscriptionCollection"),
    ("DELETE", f"{S}/events/{{applicationSubscriptionId}}"): Operation("200-empty"),
    ("GET", f"{S}/{{subscriptionId}}"): Operation("ApplicationSubscription"),
    ("GET", f"{S}/{{subscriptionId}}/deliveries"): Operation("WebhookDeliveryCollection"),
    ("POST", f"{S}/{{subscriptionId}}/deliveries/{{deliveryId}}/redeliver"): Operation("WebhookDelivery"),
}

# Query parameters the handlers take as text and parse themselves, as they are read.
QUERY_SCHEMAS: dict[str, Schema] = {
    "startIndex": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    "pageSize": {"type": "integer", "minimum": 1, "maximum": 200, "default": 20},
    "sortBy": {"type": "string", "description": "A field name and asc or desc, e.g. `emailAddress desc`."},
    "filter": {"type": "string", "description": "Kibo's filter syntax, e.g. `emailAddress eq 'a@b.c'`."},
    **RESPONSE_FIELDS,
}
CONTEXT_HEADERS = [
    {"name": "x-vol-tenant", "in": "header", "required": False, "schema": {"type": "integer", "minimum": 1},
     "description": "The tenant; else the Host name t{T}-s{S}. or t{T}., else the application's tenant."},
    {"name": "x-vol-site", "in": "header", "required": False, "schema": {"type": "integer", "minimum": 1},
     "description": "The site; else from the Host name, else the tenant's default site."},
]
CORRELATION = {"x-vol-correlation": {"$ref": "#/components/headers/x-vol-correlation"}}


# -- the routes the app serves ------------------------------------------------------------------------

DOCUMENTATION_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


def served(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every route the app serves, path as documented (`{accountId:int}` is
    `{accountId}`), HEAD left out (Starlette adds it to GET), the documentation routes left out, and so
    are routes kept out of the schema (`include_in_schema=False`: the console's HTML pages, console/)."""
    for context in routing.iter_route_contexts(app.routes):
        path, methods = context.path, context.methods
        if path is None or methods is None or path in DOCUMENTATION_PATHS:
            continue
        if getattr(context, "include_in_schema", True) is False:
            continue
        for method in sorted(methods - {"HEAD"}):
            yield method, _PATH.sub(r"{\1}", path)


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


# -- building the document ------------------------------------------------------------------------------

def _schema_of(target: str | Schema) -> Schema:
    return ref(target) if isinstance(target, str) else target


def _not_null(schema: Schema) -> Schema:
    """A parameter's schema without FastAPI's `null` branch (a query value is never null)."""
    variants = [s for s in schema.get("anyOf", ()) if s.get("type") != "null"]
    if len(variants) == 1 and "anyOf" in schema:
        return {**{k: v for k, v in schema.items() if k not in ("anyOf", "title")}, **variants[0]}
    return {k: v for k, v in schema.items() if k != "title"}


def _responses(op: Operation) -> dict[str, Any]:
    headers = {"headers": CORRELATION}
    if op.ok == "204":
        out: dict[str, Any] = {"204": {"description": "Done", **headers}}
    elif op.ok == "200-empty":
        out = {"200": {"description": "Done (an empty body, as Kibo answers)", **headers}}
    elif isinstance(op.ok, dict) and "text/plain" in op.ok:
        out = {"200": {"description": "OK", **headers, "content": {metrics.CONTENT_TYPE.split(";")[0]: {
            "schema": op.ok["text/plain"]}}}}
    else:
        out = {"200": {"description": "OK", **headers, "content": {JSON: {"schema": _schema_of(op.ok)}}}}
    for status in sorted(int(s) for s in op.errors.split()):
        response: dict[str, Any] = {"description": _DESCRIPTIONS[status], "headers": dict(CORRELATION),
                                    "content": {JSON: {"schema": op.error_schemas.get(status, ref("ApiError"))}}}
        if status in (429, 503):
            response["headers"]["Retry-After"] = {"schema": {"type": "integer"}, "description": "Seconds to wait"}
        if status == 401:
            response["headers"]["WWW-Authenticate"] = {"schema": STRING}
        out[str(status)] = response
    return out


def _operation(method: str, path: str, op: Operation, generated: dict[str, Any] | None) -> dict[str, Any]:
    """The documented operation: FastAPI's (summary, tags, path and query parameters) when the route is
    an APIRoute, completed from `op`."""
    out: dict[str, Any] = dict(generated or {})
    if not out:
        out["operationId"] = re.sub(r"\W+", "_", f"{method.lower()}{path}").strip("_")
    if op.summary and "summary" not in out:
        out["summary"] = op.summary
    if op.tag and "tags" not in out:
        out["tags"] = [op.tag]
    parameters = {(p["name"], p["in"]): p for p in out.get("parameters", [])}
    for name in _PATH.sub(r"{\1}", path).split("{")[1:]:  # plain routes: their path parameters
        name = name.split("}")[0]
        parameters.setdefault((name, "path"), {"name": name, "in": "path", "required": True, "schema": STRING})
    for name, schema in op.query.items():
        parameters[(name, "query")] = {"name": name, "in": "query", "required": False, "schema": schema}
    for p in parameters.values():
        p["schema"] = QUERY_SCHEMAS[p["name"]] if p["in"] == "query" and p["name"] in QUERY_SCHEMAS else (
            _not_null(p["schema"]))
    if op.auth != PUBLIC:
        for header in CONTEXT_HEADERS:
            parameters[(header["name"], "header")] = header
    out["parameters"] = list(parameters.values())
    out["security"] = SECURITY[op.auth]
    if op.body is not None:
        content = {JSON: {"schema": _schema_of(op.body)}}
        if op.form:
            content["application/x-www-form-urlencoded"] = {"schema": _schema_of(op.body)}
        out["requestBody"] = {"required": op.body_required, "content": content}
    else:
        out.pop("requestBody", None)
    out["responses"] = _responses(op)
    return out


def gaps(app: FastAPI) -> tuple[list[str], list[str]]:
    """(served routes `OPERATIONS` does not describe, entries of `OPERATIONS` no route serves): both
    must be empty (tests/api/test_openapi.py)."""
    routes = set(served(app))
    return (sorted(f"{m} {p}" for m, p in routes if (m, p) not in OPERATIONS),
            sorted(f"{m} {p}" for m, p in OPERATIONS if (m, p) not in routes))


UNDESCRIBED = Operation({}, ALL_ERRORS)
"""A served route `OPERATIONS` lacks is still documented, vaguely (and logged; the tests fail on it)."""


def build(app: FastAPI) -> dict[str, Any]:
    """The whole document: every route the app serves, in the order it matches them."""
    base = get_openapi(title=app.title, version=app.version, openapi_version="3.1.0", description=app.description,
                       routes=app.routes)
    generated = {(m.upper(), p): o for p, item in base.get("paths", {}).items() for m, o in item.items()}
    routes = list(dict.fromkeys(served(app)))
    missing, _ = gaps(app)
    if missing:
        log.warning("OpenAPI: routes without a description in kibo/openapi.py OPERATIONS: %s", ", ".join(missing))
    paths: dict[str, dict[str, Any]] = {}
    for method, path in routes:
        paths.setdefault(path, {})[method.lower()] = _operation(
            method, path, OPERATIONS.get((method, path), UNDESCRIBED), generated.get((method, path)))
    schemas = {**request_schemas(), **RESPONSE_SCHEMAS}
    return {
        "openapi": "3.1.0",
        "info": base["info"] | {"description": (app.description or "") + (
            " Every error answers Kibo's envelope (ApiError). Paths and query names compare case-insensitively "
            "and a trailing / is optional; JSON names in bodies compare case-insensitively.")},
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": SECURITY_SCHEMES,
            "headers": {"x-vol-correlation": {"schema": STRING, "required": True,
                                              "description": "The request's correlation id (the caller's, or new)."}},
        },
    }


def install(app: FastAPI) -> None:
    """Serve `build(app)` at /openapi.json, built on first use and kept."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
