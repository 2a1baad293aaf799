"""The GraphQL twins of the passkey routes, end to end with the software authenticator (SQLite and
PostgreSQL): the same flows, the same answers, the same refusals."""

from __future__ import annotations

import httpx

from tests.api.support import ok
from tests.graphql.support import data, gql, refused
from tests.passkeys.authenticator import Authenticator
from tests.passkeys.support import ORIGIN, enable, fresh_shopper, passkeys_path
from ticketbooth.core import Core

PASSKEY = "id name credentialId createdOn lastUsedOn backupEligible backedUp transports aaguid"
REGISTRATION_OPTIONS = """mutation options($accountId: Int!) {
  createCustomerAccountPasskeyRegistrationOptions(accountId: $accountId) { challengeId options }
}"""
ADD = f"""mutation add($accountId: Int!, $input: PasskeyRegistrationInput) {{
  createCustomerAccountPasskey(accountId: $accountId, passkeyRegistrationInput: $input) {{ {PASSKEY} }}
}}"""
LIST = f"""query list($accountId: Int!) {{
  customerAccountPasskeys(accountId: $accountId) {{ startIndex pageSize pageCount totalCount items {{ {PASSKEY} }} }}
}}"""
RENAME = f"""mutation rename($accountId: Int!, $passkeyId: String!, $input: PasskeyUpdateInput) {{
  updateCustomerAccountPasskey(accountId: $accountId, passkeyId: $passkeyId, passkeyUpdateInput: $input) {{ {PASSKEY} }}
}}"""
DELETE = """mutation remove($accountId: Int!, $passkeyId: String!) {
  deleteCustomerAccountPasskey(accountId: $accountId, passkeyId: $passkeyId)
}"""
SIGN_IN_OPTIONS = """mutation signInOptions($input: PasskeyOptionsInput) {
  createPasskeyAuthenticationOptions(passkeyOptionsInput: $input) { challengeId options }
}"""
SIGN_IN = """mutation signIn($input: PasskeyAuthInput) {
  createCustomerAuthTicketWithPasskey(passkeyAuthInput: $input) {
    accessToken refreshToken refreshTokenExpiration userId customerAccount { id emailAddress }
  }
}"""


async def test_the_graphql_twins(client: httpx.AsyncClient, core: Core, app_headers: dict[str, str],
                                 admin: dict[str, str]) -> None:
    await enable(core)
    ann = await fresh_shopper(client, app_headers, "ann@example.com")
    me = {"accountId": ann.account_id}
    options = data(await gql(client, ann.headers, REGISTRATION_OPTIONS, me))[
        "createCustomerAccountPasskeyRegistrationOptions"]
    assert options["options"]["authenticatorSelection"]["residentKey"] == "required"
    auth = Authenticator(ORIGIN)
    credential = auth.create(options["options"])
    added = data(await gql(client, ann.headers, ADD, {**me, "input": {
        "challengeId": options["challengeId"], "credential": credential, "name": "Laptop"}}))[
        "createCustomerAccountPasskey"]
    rest = ok(await client.get(passkeys_path(ann.account_id), headers=ann.headers))
    assert added == rest["items"][0] and added["name"] == "Laptop"
    listed = data(await gql(client, admin, LIST, me))["customerAccountPasskeys"]
    assert listed == rest
    # the same refusals: an application alone may not add one; a reused challenge is a bad credential
    refused(await gql(client, app_headers, REGISTRATION_OPTIONS, me), 403, "FORBIDDEN",
            "createCustomerAccountPasskeyRegistrationOptions")
    again = await gql(client, ann.headers, ADD, {**me, "input": {"challengeId": options["challengeId"],
                                                                 "credential": credential}})
    refused(again, 400, "MISSING_OR_INVALID_PARAMETER", "createCustomerAccountPasskey")
    renamed = data(await gql(client, ann.headers, RENAME, {**me, "passkeyId": added["id"], "input": {"name": "Work"}}))
    assert renamed["updateCustomerAccountPasskey"]["name"] == "Work"
    refused(await gql(client, ann.headers, RENAME, {**me, "passkeyId": "abc", "input": {"name": "x"}}), 404,
            "ITEM_NOT_FOUND", "updateCustomerAccountPasskey")
    # sign-in, usernameless and for a username
    for variables in ({}, {"input": {"username": "ann@example.com"}}):
        options = data(await gql(client, app_headers, SIGN_IN_OPTIONS, variables))["createPasskeyAuthenticationOptions"]
        answer = auth.get(options["options"])
        ticket = data(await gql(client, app_headers, SIGN_IN, {"input": {
            "challengeId": options["challengeId"], "credential": answer}}))["createCustomerAuthTicketWithPasskey"]
        assert ticket["userId"] == ann.user_id and ticket["customerAccount"]["id"] == ann.account_id
    replayed = await gql(client, app_headers, SIGN_IN, {"input": {"challengeId": options["challengeId"],
                                                                  "credential": answer}})
    refused(replayed, 401, "INVALID_CREDENTIALS", "createCustomerAuthTicketWithPasskey")
    assert data(await gql(client, ann.headers, DELETE, {**me, "passkeyId": added["id"]})) == {
        "deleteCustomerAccountPasskey": True}
    refused(await gql(client, ann.headers, DELETE, {**me, "passkeyId": added["id"]}), 404, "ITEM_NOT_FOUND",
            "deleteCustomerAccountPasskey")
    assert data(await gql(client, ann.headers, LIST, me))["customerAccountPasskeys"]["items"] == []
