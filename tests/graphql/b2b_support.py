"""The GraphQL documents of Kibo's B2B storefront (nextjs-storefront's lib/gql/queries/b2b and
lib/gql/mutations/b2b, written out as it sends them: its operation names, variables and selections), and
the few more the tests need for the rest of the B2B twins. Used by tests/graphql/test_b2b*.py and by the
conformance test through Kibo's own client (tests/conformance/test_kibo_b2b.py)."""

from __future__ import annotations

from typing import Any

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
