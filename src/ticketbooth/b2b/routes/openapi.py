"""The B2B account routes' entries of the OpenAPI document (kibo/openapi.py `extend`): Kibo's B2B shapes and the
operations of b2b/routes/accounts.py and users.py."""

from __future__ import annotations

from ticketbooth.b2b.routes import bodies
from ticketbooth.kibo import openapi
from ticketbooth.kibo.openapi import (
    BOOL,
    DATE,
    INT32,
    INT64,
    MAYBE_BOOL,
    MAYBE_INT32,
    SHOPPER,
    STRING,
    TEXT,
    Operation,
    array,
    collection,
    ref,
    shape,
)

B = f"{openapi.C}/b2baccounts"
MAYBE_INT64 = {"type": ["integer", "null"], "format": "int64"}
_ACCOUNT = openapi.RESPONSE_SCHEMAS["CustomerAccount"]["properties"]

SCHEMAS = {
    "UserScope": shape("Where a role is held.", type=TEXT, id=MAYBE_INT64, name=TEXT),
    "UserRole": shape("A role a user holds in a B2B account.", assignedInScope=ref("UserScope"),
                      auditInfo=ref("AdminUserAuditInfo"), roleId=INT32, roleName=TEXT, roleResources=array({}),
                      roleTags=array(STRING), userId=TEXT),
    "B2BUser": shape("A user of a B2B account: their login and their membership in the account.",
                     acceptsMarketing=BOOL, emailAddress=TEXT, firstName=TEXT, hasExternalPassword=BOOL,
                     isActive=BOOL, isLocked=BOOL, isRemoved=BOOL, last2FaDate=DATE, lastName=TEXT, localeCode=TEXT,
                     roles=array(ref("UserRole")), userId=TEXT, userName=TEXT),
    "AccountSalesRep": shape("A sales rep (a merchant's admin user) of a B2B account.", accountId=INT64,
                             adminUserId=TEXT),
    "B2BAccount": shape(
        "A B2B account: the customer account's fields and its approval, hierarchy, price list, sales reps and users.",
        **{**_ACCOUNT, "approvalStatus": TEXT, "isActive": MAYBE_BOOL, "parentAccountId": MAYBE_INT64,
           "priceList": TEXT, "priority": MAYBE_INT32, "rootAccountId": MAYBE_INT64,
           "salesReps": array(ref("AccountSalesRep")), "users": array(ref("B2BUser"))}),
    "CustomerUserRoleCollection": shape("A user's roles in a B2B account.", items=array(ref("UserRole")),
                                        totalCount=INT32),
    "Behavior": shape("A Kibo B2B behavior.", categoryId=INT32, id=INT32, isPrivate=BOOL, name=TEXT,
                      oAuthScopes=array(STRING), requiresBehaviorIds=array(INT32), systemRoles=array(STRING),
                      validUserTypes=array(STRING)),
    "BehaviorCollection": shape("Kibo's B2B behaviors.", items=array(ref("Behavior")), totalCount=INT32),
    "BehaviorCategory": shape("A category of B2B behaviors.", id=INT32, name=TEXT),
    "BehaviorCategoryCollection": shape("The categories of B2B behaviors.", items=array(ref("BehaviorCategory")),
                                        totalCount=INT32),
    "AccountPriority": shape("Accounts of one priority.", accounts=array(INT64), priority=INT32),
    "AccountPriorityModel": shape("A user's priorities among their B2B accounts, and the accounts a login cannot use.",
                                  accountPriorities=array(ref("AccountPriority")), blackListedAccounts=array(INT64)),
    "B2BAccountCollection": collection("B2BAccount", "B2B accounts, a page of them."),
    "B2BUserCollection": collection("B2BUser", "Users of a B2B account, a page of them."),
}

_ACCOUNT_ID = {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}
OPERATIONS = {
    ("GET", B): Operation("B2BAccountCollection", auth=SHOPPER),
    ("POST", B): Operation("B2BAccount", body="B2BAccountInput", auth=SHOPPER),
    ("GET", f"{B}/{{accountId}}"): Operation("B2BAccount", auth=SHOPPER),
    ("PUT", f"{B}/{{accountId}}"): Operation("B2BAccount", body="B2BAccountInput", body_required=True, auth=SHOPPER),
    ("GET", f"{B}/behaviors"): Operation("BehaviorCollection", "400 401 413 429 503"),
    ("GET", f"{B}/behaviors/categories"): Operation("BehaviorCategoryCollection", "400 401 413 429 503"),
    ("GET", f"{B}/accountsbyuser"): Operation(array(INT64), auth=SHOPPER),
    ("GET", f"{B}/priority/read"): Operation("AccountPriorityModel", auth=SHOPPER),
    ("PUT", f"{B}/priority/update"): Operation("AccountPriorityModel", body="AccountPriorityModelInput",
                                                body_required=True, auth=SHOPPER),
    ("PUT", f"{B}/priority/delete"): Operation("200-empty", body=array(_ACCOUNT_ID) | {"maxItems": 200},
                                                body_required=True, auth=SHOPPER),
    ("POST", f"{B}/{{accountId}}/user"): Operation("B2BUser", body="B2BUserAndAuthInfo", body_required=True,
                                                    auth=SHOPPER),
    ("GET", f"{B}/{{accountId}}/users"): Operation("B2BUserCollection", auth=SHOPPER),
    ("PUT", f"{B}/{{accountId}}/user/{{userId}}"): Operation("B2BUser", body="B2BUserInput", body_required=True,
                                                              auth=SHOPPER),
    ("PUT", f"{B}/{{accountId}}/user/{{userId}}/remove"): Operation("200-empty", auth=SHOPPER),
    ("GET", f"{B}/{{accountId}}/user/{{userId}}/roles"): Operation("CustomerUserRoleCollection", auth=SHOPPER),
    ("POST", f"{B}/{{accountId}}/user/{{userId}}/roles/{{roleId}}"): Operation("200-empty", auth=SHOPPER),
    ("DELETE", f"{B}/{{accountId}}/user/{{userId}}/roles/{{roleId}}"): Operation("200-empty", auth=SHOPPER),
    ("GET", f"{B}/{{accountId}}/user/{{userId}}/behaviors"): Operation(array(INT32), auth=SHOPPER),
    ("GET", f"{B}/{{accountId}}/roles/{{roleId}}/users"): Operation(array(ref("B2BUser")), auth=SHOPPER),
}

openapi.extend(operations=OPERATIONS, schemas=SCHEMAS, models=(
    bodies.B2BAccountIn, bodies.B2BUserIn, bodies.B2BUserAndAuthInfo, bodies.AccountPriorityModelIn))
