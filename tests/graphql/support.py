"""Helpers of the GraphQL tests: `gql` posts one operation, and the documents in the shape Kibo's
storefront sends them (its fragments trimmed to the fields they read)."""

from __future__ import annotations

from typing import Any

import httpx

GRAPHQL = "/graphql"

TICKET = "accessToken accessTokenExpiration refreshToken refreshTokenExpiration userId jwtAccessToken"
ACCOUNT = ("id userId emailAddress userName firstName lastName isAnonymous isActive isLocked customerSet "
           "acceptsMarketing hasExternalPassword customerSinceDate accountType "
           "contacts { id email types { name isPrimary } address { address1 cityOrTown countryCode } "
           "phoneNumbers { home mobile work } } attributes { fullyQualifiedName values } "
           "segments { id code } notes { id content } commerceSummary { orderCount totalOrderAmount { amount } } "
           "auditInfo { createDate updateDate }")

ANONYMOUS = f"query getAnonymousShopperToken {{ getAnonymousShopperToken {{ {TICKET} }} }}"
LOGIN = f"""mutation login($loginInput: CustomerUserAuthInfoInput!) {{
  account: createCustomerAuthTicket(customerUserAuthInfoInput: $loginInput) {{
    {TICKET} customerAccount {{ id firstName lastName emailAddress userName }}
  }}
}}"""
REFRESH = f"""mutation refreshCustomerAuthTickets($refreshToken: String!) {{
  refreshCustomerAuthTickets(refreshToken: $refreshToken) {{ {TICKET} customerAccount {{ id }} }}
}}"""
REGISTER = f"""mutation registerUser($customerAccountAndAuthInfoInput: CustomerAccountAndAuthInfoInput) {{
  account: createCustomerAccountAndLogin(customerAccountAndAuthInfoInput: $customerAccountAndAuthInfoInput) {{
    {TICKET} customerAccount {{ id emailAddress userName firstName lastName }}
  }}
}}"""
CURRENT = f"query getUser {{ customerAccount: getCurrentAccount {{ {ACCOUNT} }} }}"

# My Account, as the storefront sends it: its fragments, its operation names and aliases, a variable for every
# argument it declares (nullable where it leaves them out)
CONTACT_FIELDS = """fragment userContactFields on CustomerContact {
  accountId types { name isPrimary } id email firstName middleNameOrInitial lastNameOrSurname
  phoneNumbers { home mobile work }
  address { address1 address2 address3 address4 cityOrTown stateOrProvince postalOrZipCode countryCode addressType
            isValidated }
}"""
CARD_FIELDS = """fragment customerAccountCardItems on Card {
  id nameOnCard cardType expireMonth expireYear cardNumberPart contactId isDefaultPayMethod
}"""
UPDATE_ACCOUNT = """mutation updateCustomerData($accountId: Int!, $customerAccountInput: CustomerAccountInput) {
  updateCustomerAccount(accountId: $accountId, customerAccountInput: $customerAccountInput) {
    firstName lastName emailAddress
  }
}"""
CONTACTS = f"""query getUserAddresses($accountId: Int!, $startIndex: Int, $pageSize: Int) {{
  customerAccountContacts(accountId: $accountId, startIndex: $startIndex, pageSize: $pageSize) {{
    pageCount totalCount startIndex pageSize items {{ ...userContactFields }}
  }}
}}
{CONTACT_FIELDS}"""
CREATE_CONTACT = f"""{CONTACT_FIELDS}
mutation createCustomerAccountContact($accountId: Int!, $customerContactInput: CustomerContactInput!) {{
  createCustomerAccountContact(accountId: $accountId, customerContactInput: $customerContactInput) {{
    ...userContactFields
  }}
}}"""
UPDATE_CONTACT = f"""{CONTACT_FIELDS}
mutation updateCustomerAccountContact($accountId: Int!, $contactId: Int!, $userId: String,
                                      $customerContactInput: CustomerContactInput!) {{
  updateCustomerAccountContact(accountId: $accountId, contactId: $contactId, userId: $userId,
                               customerContactInput: $customerContactInput) {{ ...userContactFields }}
}}"""
DELETE_CONTACT = """mutation deleteCustomerAccountContact($accountId: Int!, $contactId: Int!) {
  deleteCustomerAccountContact(accountId: $accountId, contactId: $contactId)
}"""
CARDS = f"""query customerAccountCards($accountId: Int!) {{
  customerAccountCards(accountId: $accountId) {{ items {{ ...customerAccountCardItems }} }}
}}
{CARD_FIELDS}"""
CREATE_CARD = f"""mutation createCustomerAccountCard($accountId: Int!, $cardInput: CardInput) {{
  createCustomerAccountCard(accountId: $accountId, cardInput: $cardInput) {{ ...customerAccountCardItems }}
}}
{CARD_FIELDS}"""
UPDATE_CARD = f"""mutation updateCustomerAccountCard($accountId: Int!, $cardId: String!, $cardInput: CardInput) {{
  updateCustomerAccountCard(accountId: $accountId, cardId: $cardId, cardInput: $cardInput) {{
    ...customerAccountCardItems
  }}
}}
{CARD_FIELDS}"""
DELETE_CARD = """mutation deleteCustomerAccountCard($accountId: Int!, $cardId: String!) {
  deleteCustomerAccountCard(accountId: $accountId, cardId: $cardId)
}"""
CHANGE_PASSWORD = """mutation changeCustomerAccountPassword($accountId: Int!, $unlockAccount: Boolean, $userId: String,
                                     $passwordInfoInput: PasswordInfoInput) {
  changeCustomerAccountPassword(accountId: $accountId, unlockAccount: $unlockAccount, userId: $userId,
                                passwordInfoInput: $passwordInfoInput)
}"""
RESET_PASSWORD = """mutation resetAccountPassword($resetPasswordInfoInput: ResetPasswordInfoInput) {
  resetPassword: resetCustomerAccountPassword(resetPasswordInfoInput: $resetPasswordInfoInput)
}"""
FORGOTTEN_PASSWORD = """mutation updateForgottenAccountPassword($confirmationInfoInput: ConfirmationInfoInput) {
  updatePassword: updateForgottenCustomerAccountPassword(confirmationInfoInput: $confirmationInfoInput)
}"""


async def gql(client: httpx.AsyncClient, hdrs: dict[str, str], query: str, variables: dict[str, Any] | None = None,
              *, status: int = 200, **extra: Any) -> dict[str, Any]:
    """POST one operation; the JSON answer (HTTP status checked)."""
    body: dict[str, Any] = {"query": query, "variables": variables or {}, **extra}
    r = await client.post(GRAPHQL, headers=hdrs, json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    answer: dict[str, Any] = r.json()
    return answer


def data(answer: dict[str, Any]) -> dict[str, Any]:
    """The data of an answer without errors."""
    assert "errors" not in answer, answer.get("errors")
    result: dict[str, Any] = answer["data"]
    return result


def refused(answer: dict[str, Any], status: int, code: str, field: str) -> dict[str, Any]:
    """The one error of an operation refused as its REST twin would be: the field null, the REST status and
    Kibo's envelope in extensions.response (what Kibo's storefront reads). The envelope is returned."""
    assert answer["data"] is None or answer["data"].get(field) is None, answer
    (error,) = answer["errors"]
    assert error["path"] == [field]
    response = error["extensions"]["response"]
    assert response["status"] == status, error
    body: dict[str, Any] = response["body"]
    assert body["errorCode"] == code, body
    assert set(body) == {"message", "errorCode", "applicationName", "additionalErrorData", "items", "exceptionDetail"}
    assert error["message"] == body["message"]
    assert "Traceback" not in str(error)
    return body


def storefront(hdrs: dict[str, str], user_claims: str = "undefined") -> dict[str, str]:
    """Kibo's storefront headers: the app's Bearer token and x-vol-user-claims (`undefined` on app-only calls),
    no tenant or site headers (they come from the app)."""
    return {"Authorization": hdrs["Authorization"], "x-vol-user-claims": user_claims}
