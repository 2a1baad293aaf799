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
