"""Federation over GraphQL, on SQLite and PostgreSQL: Kibo's `getOneTimeSecret` as Kibo's Next.js storefront
queries it (its cart-takeover page reads the ticket's fields straight off `value`), and the twins of the REST
operations."""

from __future__ import annotations

import httpx

from tests.federation.provider import TinyProvider
from tests.federation.support import RETURN_URL, Started, add_provider, come_back, enable, query_of, sign_in
from tests.graphql.support import data, gql, refused, storefront
from ticketbooth.core import Core

# the storefront's document, as lib/gql/queries/get-one-time-secret.ts sends it
ONE_TIME_SECRET = """query oneTimeSecret($secretId: String!) {
    getOneTimeSecret(secretId: $secretId) {
      value
    }
  }"""


async def test_get_one_time_secret_as_kibos_storefront_reads_it(
        client: httpx.AsyncClient, core: Core, app_headers: dict[str, str], admin: dict[str, str],
        provider: TinyProvider) -> None:
    await enable(core, code_parameter="secretId")
    await add_provider(client, admin, provider)
    back = await sign_in(client, app_headers, provider, "sub-ray", email="ray@example.com", email_verified=True,
                         given_name="Ray")
    answer = data(await gql(client, storefront(app_headers), ONE_TIME_SECRET, {"secretId": back["secretId"]}))
    value = answer["getOneTimeSecret"]["value"]
    # what pages/api/cart-takeover.ts puts in its kibo_at cookie
    assert value["accessToken"] and value["refreshToken"] and value["jwtAccessToken"]
    assert value["accessTokenExpiration"].endswith("Z") and value["refreshTokenExpiration"].endswith("Z")
    assert value["userId"] and value["customerAccount"]["id"] and value["customerAccount"]["firstName"] == "Ray"
    # the ticket acts as the shopper
    me = data(await gql(client, storefront(app_headers, value["accessToken"]), "{ getCurrentAccount { emailAddress } }"))
    assert me["getCurrentAccount"]["emailAddress"] == "ray@example.com"
    # once only: the storefront reads errors[0].extensions.response
    again = await gql(client, storefront(app_headers), ONE_TIME_SECRET, {"secretId": back["secretId"]})
    refused(again, 401, "INVALID_EXCHANGE_CODE", "getOneTimeSecret")
    empty = await gql(client, storefront(app_headers), ONE_TIME_SECRET, {"secretId": ""})
    assert refused(empty, 400, "MISSING_OR_INVALID_PARAMETER", "getOneTimeSecret")["message"].endswith(
        "secretId is required")


async def test_the_rest_twins(client: httpx.AsyncClient, core: Core, app_headers: dict[str, str],
                              admin: dict[str, str], provider: TinyProvider) -> None:
    await enable(core)
    await add_provider(client, admin, provider)
    started_answer = data(await gql(client, app_headers, """mutation($input: OidcAuthorizationInput) {
        createOidcAuthorization(oidcAuthorizationInput: $input) { authorizationUrl expiresOn flowId } }""",
                                    {"input": {"provider": "tiny", "returnUrl": RETURN_URL}}))
    authorization = started_answer["createOidcAuthorization"]
    started = Started(authorization["authorizationUrl"], authorization["flowId"])
    code = provider.issue_code(started.authorization_url, "sub-sue", email="sue@example.com", email_verified=True)
    back = query_of((await come_back(client, started, code)).headers["location"])
    ticket = data(await gql(client, app_headers, """mutation($code: String!, $flowId: String) {
        exchangeOidcCode(code: $code, flowId: $flowId) { accessToken userId customerAccount { id } } }""",
                            {"code": back["code"], "flowId": started.flow_id}))["exchangeOidcCode"]
    account_id = ticket["customerAccount"]["id"]
    listing = """query($id: Int!) { customerAccountLinkedIdentities(accountId: $id) {
        totalCount items { id providerAlias subject emailAddress } } }"""
    mine = {**app_headers, "x-vol-user-claims": ticket["accessToken"]}
    found = data(await gql(client, mine, listing, {"id": account_id}))["customerAccountLinkedIdentities"]
    assert found["totalCount"] == 1 and found["items"][0]["subject"] == "sub-sue"
    # the only way in: not unlinked
    unlink = """mutation($id: Int!, $identity: Int!) {
        deleteCustomerAccountLinkedIdentity(accountId: $id, identityId: $identity) }"""
    refused(await gql(client, mine, unlink, {"id": account_id, "identity": found["items"][0]["id"]}), 409,
            "VALIDATION_CONFLICT", "deleteCustomerAccountLinkedIdentity")
    # another shopper cannot read it
    other = await sign_in(client, app_headers, provider, "sub-tom", email="tom@example.com", email_verified=True)
    other_ticket = data(await gql(client, app_headers, """mutation($code: String!) {
        exchangeOidcCode(code: $code) { accessToken } }""", {"code": other["code"]}))["exchangeOidcCode"]
    refused(await gql(client, {**app_headers, "x-vol-user-claims": other_ticket["accessToken"]}, listing,
                      {"id": account_id}), 403, "FORBIDDEN", "customerAccountLinkedIdentities")
