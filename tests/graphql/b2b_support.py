"""The GraphQL documents of Kibo's B2B storefront (nextjs-storefront's lib/gql/queries/b2b and
lib/gql/mutations/b2b, written out as it sends them: its operation names, variables and selections), and
the few more the tests need for the rest of the B2B twins. Used by tests/graphql/test_b2b*.py and by the
conformance test through Kibo's own client (tests/conformance/test_kibo_b2b.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.api.code_support import Mailbox
from tests.api.support import decode_jwt
from tests.conftest import PASSWORD
from tests.graphql.support import LOGIN, data, gql, storefront

# -- the storefront's own documents -------------------------------------------------------------------------

HIERARCHY = """query getB2BAccountHierarchy($accountId: Int!) {
  getB2BAccountHierarchy(accountId: $accountId) {
    accounts {
      users {
        emailAddress
        userName
        firstName
        lastName
        localeCode
        userId
        isActive
        roles {
          roleId
          roleName
        }
      }
      isActive
      rootAccountId
      parentAccountId
      id
      taxId
      accountType
      companyOrOrganization
      contacts {
        accountId
        id
        email
        firstName
        lastNameOrSurname
        companyOrOrganization
      }
    }
  }
}"""
# The storefront's `accountHierarchyNodeRecursive` fragment spreads itself, which GraphQL's validation refuses
# (NoFragmentCycles), so the storefront leaves it out; the tree it would read, three levels deep:
HIERARCHY_LEVELS = """query getB2BAccountHierarchyTree($accountId: Int!) {
  getB2BAccountHierarchy(accountId: $accountId) {
    accounts { id parentAccountId rootAccountId }
    hierarchy { id children { id children { id children { id } } } }
  }
}"""
ACCOUNT = """query b2bAccount($accountId: Int!) {
  b2bAccount(accountId: $accountId) {
    companyOrOrganization
    users {
      firstName
      lastName
      userId
    }
  }
}"""
USERS = """query b2bAccountUsers(
    $b2bAccountId: Int!
    $filter: String
    $pageSize: Int
    $startIndex: Int
    $q: String
  ) {
    b2bAccountUsers(
      accountId: $b2bAccountId
      filter: $filter
      pageSize: $pageSize
      startIndex: $startIndex
      q: $q
    ) {
      totalCount
      startIndex
      pageSize
      pageCount
      items {
        emailAddress
        firstName
        lastName
        isActive
        userId
        roles {
          roleId
          roleName
          roleTags
          assignedInScope {
            id
            name
            type
          }
        }
      }
    }
  }"""
ADD_USER = """mutation createCustomerB2bAccountUser(
    $accountId: Int!
    $b2BUserAndAuthInfoInput: B2BUserAndAuthInfoInput
  ) {
    createCustomerB2bAccountUser(
      accountId: $accountId
      b2BUserAndAuthInfoInput: $b2BUserAndAuthInfoInput
    ) {
      firstName
      lastName
      emailAddress
      userName
      userId
      roles {
        roleId
        roleName
      }
    }
  }"""
UPDATE_USER = """mutation updateCustomerB2bAccountUser(
    $accountId: Int!
    $userId: String!
    $b2BUserInput: B2BUserInput
  ) {
    updateCustomerB2bAccountUser(
      accountId: $accountId
      userId: $userId
      b2BUserInput: $b2BUserInput
    ) {
      firstName
      lastName
      emailAddress
      userName
      userId
      roles {
        roleId
        roleName
      }
    }
  }"""
REMOVE_USER = """mutation removeCustomerB2bAccountUser($accountId: Int!, $userId: String!) {
    removeCustomerB2bAccountUser(accountId: $accountId, userId: $userId)
  }"""
ADD_ROLE = """mutation addRoleToCustomerB2bAccount($accountId: Int!, $userId: String!, $roleId: Int!) {
    addRoleToCustomerB2bAccount(accountId: $accountId, userId: $userId, roleId: $roleId)
  }"""
DELETE_ROLE = """mutation deleteB2bAccountRole($accountId: Int!, $userId: String!, $roleId: Int!) {
    deleteB2bAccountRole(accountId: $accountId, userId: $userId, roleId: $roleId)
  }"""
CREATE_ACCOUNT = """mutation createCustomerB2bAccount($b2BAccountInput: B2BAccountInput) {
    createCustomerB2bAccount(b2BAccountInput: $b2BAccountInput) {
      id
      taxId
      parentAccountId
      companyOrOrganization
    }
  }"""
UPDATE_ACCOUNT = """mutation updateCustomerB2bAccount($accountId: Int!, $b2BAccountInput: B2BAccountInput) {
    updateCustomerB2bAccount(accountId: $accountId, b2BAccountInput: $b2BAccountInput) {
      id
      taxId
      parentAccountId
      companyOrOrganization
      users {
        firstName
        lastName
        emailAddress
        userName
      }
    }
  }"""
CHANGE_PARENT = """mutation changeB2BAccountParent($accountId: Int!, $parentAccountId: Int!) {
    changeB2BAccountParent(accountId: $accountId, parentAccountId: $parentAccountId) {
      id
      taxId
      parentAccountId
      companyOrOrganization
    }
  }"""
SWITCH = """mutation refreshCustomerAuthTickets($refreshToken: String!, $accountId: Int) {
  refreshCustomerAuthTickets(refreshToken: $refreshToken, accountId: $accountId) {
    accessToken accessTokenExpiration refreshToken refreshTokenExpiration userId jwtAccessToken customerAccount { id }
  }
}"""

# -- the rest of the twins, in the storefront's style ------------------------------------------------------

B2B_ACCOUNT_FIELDS = ("id accountType approvalStatus isActive parentAccountId rootAccountId priceList companyOrOrganization "
                      "taxId externalId customerSet contacts { id email } attributes { fullyQualifiedName values } "
                      "users { userId emailAddress roles { roleId roleName } } salesReps { accountId adminUserId } "
                      "auditInfo { createDate updateDate }")
ACCOUNT_FULL = f"query b2bAccount($accountId: Int!) {{ b2bAccount(accountId: $accountId) {{ {B2B_ACCOUNT_FIELDS} }} }}"
ACCOUNTS = f"""query b2bAccounts($startIndex: Int, $pageSize: Int, $sortBy: String, $filter: String, $q: String) {{
  b2bAccounts(startIndex: $startIndex, pageSize: $pageSize, sortBy: $sortBy, filter: $filter, q: $q) {{
    startIndex pageSize pageCount totalCount items {{ {B2B_ACCOUNT_FIELDS} }}
  }}
}}"""
USER_ROLES = """query b2bAccountUserRoles($accountId: Int!, $userId: String!) {
  b2bAccountUserRoles(accountId: $accountId, userId: $userId) { totalCount items { userId roleId roleName roleTags
    assignedInScope { type id name } } }
}"""
ATTRIBUTE = "fullyQualifiedName attributeDefinitionId values"
ATTRIBUTES = f"""query b2bAccountAttributes($accountId: Int!, $startIndex: Int, $pageSize: Int, $sortBy: String,
                                     $filter: String) {{
  b2bAccountAttributes(accountId: $accountId, startIndex: $startIndex, pageSize: $pageSize, sortBy: $sortBy,
                       filter: $filter) {{ startIndex pageSize pageCount totalCount items {{ {ATTRIBUTE} }} }}
}}"""
GET_ATTRIBUTE = f"""query b2bAccountAttribute($accountId: Int!, $attributeFQN: String!) {{
  b2bAccountAttributeVocabularyValues(accountId: $accountId, attributeFQN: $attributeFQN) {{ {ATTRIBUTE} }}
}}"""
ADD_ATTRIBUTE = f"""mutation createCustomerB2bAccountAttribute($accountId: Int!,
                                                        $customerAttributeInput: CustomerAttributeInput) {{
  createCustomerB2bAccountAttribute(accountId: $accountId, customerAttributeInput: $customerAttributeInput) {{
    {ATTRIBUTE}
  }}
}}"""
UPDATE_ATTRIBUTE = f"""mutation updateCustomerB2bAccountAttribute($accountId: Int!, $attributeFQN: String!,
                                                        $customerAttributeInput: CustomerAttributeInput) {{
  updateCustomerB2bAccountAttribute(accountId: $accountId, attributeFQN: $attributeFQN,
                                    customerAttributeInput: $customerAttributeInput) {{ {ATTRIBUTE} }}
}}"""
DELETE_ATTRIBUTE = """mutation deleteB2bAccountAttribute($accountId: Int!, $attributeFQN: String!) {
  deleteB2bAccountAttribute(accountId: $accountId, attributeFQN: $attributeFQN)
}"""


def new_user(email: str, first: str, role_id: int | None = None) -> dict[str, Any]:
    """The storefront's `buildCreateCustomerB2bUserParams` input: the email as the user name, en-US, one role."""
    user: dict[str, Any] = {"firstName": first, "lastName": "Buyer", "emailAddress": email, "userName": email,
                            "localeCode": "en-US"}
    if role_id is not None:
        user["roles"] = [{"roleId": role_id}]
    return {"b2BUser": user}


def new_account(company: str, parent_id: int | None = None, *, requested: bool = False,
                users: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The storefront's `buildCreateCustomerB2bAccountParams` input: id 0, a B2B account under `parent_id`;
    `requested` (the "request an account" form, not the hierarchy page) adds approvalStatus PendingApproval."""
    account: dict[str, Any] = {"id": 0, "parentAccountId": parent_id, "companyOrOrganization": company,
                               "taxId": f"{company[:8]}-tax", "accountType": "B2B"}
    if requested:
        account["approvalStatus"] = "PendingApproval"
    if users is not None:
        account["users"] = users
    return account


# -- a company to test with ----------------------------------------------------------------------------------

B2B = "/api/commerce/customer/b2baccounts"
ALL = set(range(1000, 1015))
PURCHASER = {1002, 1003, 1005, 1006, 1007, 1008, 1009}
ADMIN_ROLE, PURCHASER_ROLE, NON_PURCHASER_ROLE = 1, 2, 3
FORGOTTEN = ("mutation f($input: ConfirmationInfoInput) { updateForgottenCustomerAccountPassword("
             "confirmationInfoInput: $input) }")


@dataclass
class Company:
    company: int
    branch: int
    admin_id: str
    purchaser_id: str
    admin: dict[str, str]
    """Storefront headers with the admin's ticket (in the company)."""
    purchaser: dict[str, str]
    """Storefront headers with the purchaser's ticket (in the company)."""


def behaviors_of(bv: list[int]) -> set[int]:
    return {offset * 32 + bit for offset, mask in zip(bv[::2], bv[1::2], strict=True) for bit in range(32)
            if mask >> bit & 1}


async def claims_of(client: httpx.AsyncClient, jwt_token: str) -> dict[str, Any]:
    _, claims = await decode_jwt(client, jwt_token)
    user_claims: dict[str, Any] = claims["https://www.kibocommerce.com/user_claims"]
    return user_claims


async def invited(client: httpx.AsyncClient, app: dict[str, str], mailbox: Mailbox, email: str) -> None:
    """The user sets a password with the code of their invitation (updateForgottenCustomerAccountPassword)."""
    [invitation] = [m for m in await mailbox.new() if m.rcpt_tos == [email]]
    code = invitation.code()
    answer = await gql(client, app, FORGOTTEN, {"input": {"userName": email, "confirmationCode": code,
                                                          "newPassword": PASSWORD}})
    assert data(answer) == {"updateForgottenCustomerAccountPassword": True}


async def log_in(client: httpx.AsyncClient, app: dict[str, str], email: str) -> dict[str, Any]:
    ticket: dict[str, Any] = data(await gql(client, app, LOGIN, {"loginInput": {"username": email,
                                                                               "password": PASSWORD}}))["account"]
    return ticket


async def company(client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str],
                  mailbox: Mailbox, prefix: str = "acme") -> Company:
    """A company and its branch, approved, with an admin and a purchaser who set their passwords and logged
    in (made through the merchant application over GraphQL)."""
    merchant = storefront(admin)
    approved = {"approvalStatus": "Approved"}  # a merchant may create an account approved at once
    made = data(await gql(client, merchant, CREATE_ACCOUNT, {"b2BAccountInput": {**new_account(
        f"{prefix} Industries"), **approved}}))["createCustomerB2bAccount"]
    branch = data(await gql(client, merchant, CREATE_ACCOUNT, {"b2BAccountInput": {**new_account(
        f"{prefix} North", made["id"]), **approved}}))["createCustomerB2bAccount"]
    ids = {}
    for name, role in (("ada", ADMIN_ROLE), ("pat", PURCHASER_ROLE)):
        user = data(await gql(client, merchant, ADD_USER, {"accountId": made["id"], "b2BUserAndAuthInfoInput":
                              new_user(f"{prefix}.{name}@example.com", name.title(), role)}))
        ids[name] = user["createCustomerB2bAccountUser"]["userId"]
        await invited(client, storefront(app_headers), mailbox, f"{prefix}.{name}@example.com")
    app = storefront(app_headers)
    ada = await log_in(client, app, f"{prefix}.ada@example.com")
    pat = await log_in(client, app, f"{prefix}.pat@example.com")
    return Company(made["id"], branch["id"], ids["ada"], ids["pat"], storefront(app_headers, ada["accessToken"]),
                   storefront(app_headers, pat["accessToken"]))
