"""The OpenAPI entries (kibo/openapi.py `extend`) of the merchant roles, hierarchy, status, sales reps, upgrade,
B2B account attribute and B2B contact routes (b2b/routes/roles.py, hierarchy.py, admin.py, attributes.py)."""

from __future__ import annotations

from ticketbooth.b2b.routes import openapi as _core  # noqa: F401  (B2BAccount and the other shapes first)
from ticketbooth.b2b.routes.roles import B2BRoleIn
from ticketbooth.kibo import openapi
from ticketbooth.kibo.openapi import BOOL, INT32, INT64, SHOPPER, STRING, TEXT, Operation, array, collection, ref, shape

B = f"{openapi.C}/b2baccounts"
_ACCOUNT_ID = {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}
_REP_IDS = array({"type": "string", "minLength": 1, "maxLength": 200}) | {"maxItems": 100}
_CONTACT = openapi.RESPONSE_SCHEMAS["CustomerContact"]["properties"]

SCHEMAS = {
    "B2BRole": shape("A B2B role: a built-in one (ids 1-3, isSystemRole) or a merchant's, with the accounts it is "
                     "given to.", accountIds=array(INT64), auditInfo=ref("AdminUserAuditInfo"), behaviors=array(INT32),
                     id=INT32, isSystemRole=BOOL, name=STRING),
    "B2BRoleCollection": collection("B2BRole", "The roles usable in a B2B account."),
    "AccountHierarchyNode": shape("An account of a hierarchy and the accounts below it.", id=INT64,
                                  children=array(ref("AccountHierarchyNode"))),
    "B2BAccountHierarchyResult": shape("A B2B hierarchy: its accounts and their nesting from the top one.",
                                       accounts=array(ref("B2BAccount")), hierarchy=ref("AccountHierarchyNode")),
    "UpgradeToB2BAccountError": shape("An account that could not be upgraded, and why.", accountID=INT64,
                                      errorMessage=TEXT),
    "UpgradeToB2BAccountResponse": shape(
        "The accounts upgraded, skipped (B2B already) and refused.", successAccountIds=array(INT64),
        skippedAccountIds=array(INT64), errorAccountIds=array(ref("UpgradeToB2BAccountError"))),
    "ExtendedCustomerContact": shape("A contact of a B2B account, with the account's id and name.",
                                     **{**_CONTACT, "accountName": TEXT}),
    "ExtendedCustomerContactCollection": collection("ExtendedCustomerContact", "Contacts of B2B accounts, a page."),
}

OPERATIONS = {
    ("POST", f"{B}/roles"): Operation("B2BRole", body="B2BRoleInput", body_required=True),
    ("GET", f"{B}/roles/{{roleId}}"): Operation("B2BRole"),
    ("PUT", f"{B}/roles/{{roleId}}"): Operation("B2BRole", body="B2BRoleInput", body_required=True),
    ("DELETE", f"{B}/roles/{{roleId}}"): Operation("204"),
    ("PUT", f"{B}/roles/{{roleId}}/accounts/{{accountId}}"): Operation("200-empty"),
    ("DELETE", f"{B}/roles/{{roleId}}/accounts/{{accountId}}"): Operation("204"),
    ("PUT", f"{B}/roles/{{roleId}}/accounts/{{accountId}}/apply-to-future-children/{{enabled}}"): Operation(
        "200-empty"),
    ("GET", f"{B}/{{accountId}}/roles"): Operation("B2BRoleCollection", auth=SHOPPER),
    ("GET", f"{B}/{{accountId}}/hierarchy"): Operation("B2BAccountHierarchyResult", auth=SHOPPER),
    ("POST", f"{B}/{{accountId}}/changeparent/{{parentAccountId}}"): Operation("B2BAccount"),
    ("PUT", f"{B}/{{accountId}}/status/{{actionName}}"): Operation("B2BAccount"),
    ("POST", f"{B}/{{accountId}}/addsalesreps"): Operation("B2BAccount", body=_REP_IDS, body_required=True),
    ("PUT", f"{B}/{{accountId}}/salesrep"): Operation("B2BAccount", body=_REP_IDS, body_required=True),
    ("POST", f"{B}/{{accountId}}/salesrep/{{userId}}"): Operation("B2BAccount"),
    ("DELETE", f"{B}/{{accountId}}/salesrep/{{userId}}"): Operation("B2BAccount"),
    ("GET", f"{B}/salesrep/{{userId}}"): Operation(array(INT64)),
    ("PUT", f"{B}/upgradeaccounts"): Operation("UpgradeToB2BAccountResponse", body=array(_ACCOUNT_ID) | {
        "maxItems": 100}, body_required=True),
    ("GET", f"{B}/{{accountId}}/attributes"): Operation("CustomerAttributeCollection", auth=SHOPPER),
    ("POST", f"{B}/{{accountId}}/attributes"): Operation("CustomerAttribute", body="CustomerAttributeInput",
                                                         auth=SHOPPER),
    ("GET", f"{B}/{{accountId}}/attributes/{{attributeFQN}}"): Operation("CustomerAttribute", auth=SHOPPER),
    ("PUT", f"{B}/{{accountId}}/attributes/{{attributeFQN}}"): Operation("CustomerAttribute",
                                                                         body="CustomerAttributeInput", auth=SHOPPER),
    ("DELETE", f"{B}/{{accountId}}/attributes/{{attributeFQN}}"): Operation("204", auth=SHOPPER),
    ("GET", f"{openapi.C}/b2bcontacts"): Operation("ExtendedCustomerContactCollection",
                                                   query={"q": STRING, "qLimit": STRING}),
}

openapi.extend(operations=OPERATIONS, schemas=SCHEMAS, models=(B2BRoleIn,))
