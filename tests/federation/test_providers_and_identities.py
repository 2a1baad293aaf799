"""Identity providers (customer:admin) and an account's linked identities over REST, on SQLite and PostgreSQL:
discovery checked when a provider is saved, the client secret never answered, who may list and unlink, and
unlinking never takes an account's last way in."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from tests.api.support import CUSTOMER, assert_error, login, ok, register
from tests.federation.provider import CLIENT_ID, CLIENT_SECRET, TinyProvider
from tests.federation.support import (
    PROVIDERS,
    add_provider,
    come_back,
    enable,
    exchange,
    identities_path,
    query_of,
    sign_in,
    start,
)
from tests.smtp import Mailbox, SmtpServer
from ticketbooth.core import Core
from ticketbooth.db import tables as t


def _no_secret(answer: Any) -> None:
    assert CLIENT_SECRET not in str(answer) and "clientSecret" not in str(answer)


async def test_provider_admin(client: httpx.AsyncClient, core: Core, app_headers: dict[str, str],
                              admin: dict[str, str], provider: TinyProvider) -> None:
    created = await add_provider(client, admin, provider, scopes=["email", "openid", "email", "offline_access"])
    _no_secret(created)
    assert created["hasClientSecret"] and created["issuer"] == provider.issuer and created["clientId"] == CLIENT_ID
    assert created["scopes"] == ["openid", "email", "offline_access"] and created["trustEmail"] is False
    assert created["createAccounts"] is True and created["isEnabled"] is True
    assert created["redirectUri"] == "https://id.example.test/api/commerce/customer/authtickets/oidc/callback"
    path = f"{PROVIDERS}/{created['id']}"
    _no_secret(ok(await client.get(path, headers=admin)))
    listed = ok(await client.get(PROVIDERS, headers=admin))
    assert [p["alias"] for p in listed["items"]] == ["tiny"]
    _no_secret(listed)
    # sealed at rest
    async with core.store.engine.connect() as conn:
        sealed = (await conn.execute(select(t.identity_providers.c.client_secret))).scalar_one()
    assert CLIENT_SECRET.encode() not in bytes(sealed)
    # a change keeps the secret when none is given, and the sign-in still works with it (after an alias change too)
    changed = ok(await client.put(path, headers=admin, json={"displayName": "Tiny", "alias": "tiny2",
                                                             "trustEmail": True}))
    assert changed["displayName"] == "Tiny" and changed["alias"] == "tiny2" and changed["hasClientSecret"]
    await enable(core)
    started = await start(client, app_headers, provider="tiny2")
    code = provider.issue_code(started.authorization_url, "sub-una", email="una@example.com", email_verified=True)
    back = query_of((await come_back(client, started, code)).headers["location"])
    assert ok(await exchange(client, app_headers, back["code"]))["customerAccount"]["emailAddress"] == "una@example.com"
    # the same alias twice: a conflict
    r = await client.post(PROVIDERS, headers=admin, json={"alias": "tiny2", "issuer": provider.issuer,
                                                          "clientId": CLIENT_ID})
    assert_error(r, 409, "VALIDATION_CONFLICT")
    # only customer:admin applications
    assert_error(await client.get(PROVIDERS, headers=app_headers), 403, "FORBIDDEN")
    r = await client.post(PROVIDERS, headers=app_headers, json={"alias": "x", "issuer": provider.issuer,
                                                                "clientId": CLIENT_ID})
    assert_error(r, 403, "FORBIDDEN")
    assert (await client.delete(path, headers=admin)).status_code == 204
    assert_error(await client.get(path, headers=admin), 404, "ITEM_NOT_FOUND")


async def test_provider_input_is_checked(client: httpx.AsyncClient, admin: dict[str, str],
                                         provider: TinyProvider) -> None:
    base = {"alias": "p", "issuer": provider.issuer, "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}
    bad: list[tuple[dict[str, Any], str]] = [
        ({"alias": "Not An Alias!"}, "alias"),
        ({"alias": "123"}, "alias"),
        ({"issuer": "ftp://example.com"}, "issuer"),
        ({"issuer": "https://user:pw@example.com"}, "issuer"),
        ({"issuer": provider.issuer + "/"}, "issuer"),  # discovery names the issuer without the slash
        ({"issuer": "http://127.0.0.2:9/"}, "issuer"),  # plain http to a host the operator did not allow
        ({"clientId": ""}, "clientId"),
        ({"scopes": ["ok", "not ok"]}, "scopes"),
        ({"responseMode": "fragment"}, "responseMode"),
    ]
    for change, name in bad:
        r = await client.post(PROVIDERS, headers=admin, json={**base, **change})
        body = assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", name)
        assert CLIENT_SECRET not in r.text, body
    provider.discovery_issuer = "https://someone-else.example"
    r = await client.post(PROVIDERS, headers=admin, json=base)
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "issuer")
    assert "another issuer" in r.json()["message"]


async def test_provider_on_a_non_public_address_needs_the_operator(client: httpx.AsyncClient, admin: dict[str, str],
                                                                   core: Core, provider: TinyProvider) -> None:
    core.settings.oidc_allowed_networks = ""
    from ticketbooth.federation import outbound

    outbound._policy.cache_clear()
    try:
        r = await client.post(PROVIDERS, headers=admin, json={"alias": "p", "issuer": provider.issuer,
                                                              "clientId": CLIENT_ID})
        assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "issuer")
        assert provider.jwks_requests == 0
    finally:
        core.settings.oidc_allowed_networks = "127.0.0.1/32"


async def test_linked_identities_owner_admin_and_others(
        client: httpx.AsyncClient, core: Core, app_headers: dict[str, str], admin: dict[str, str],
        provider: TinyProvider) -> None:
    await enable(core)
    await add_provider(client, admin, provider)
    # a shopper with a password links the provider
    registered = await register(client, app_headers, "vic@example.com")
    account_id = registered["customerAccount"]["id"]
    fresh = ok(await login(client, app_headers, "vic@example.com"))
    vic = {**app_headers, "x-vol-user-claims": fresh["accessToken"]}
    started = await start(client, vic, link=True)
    code = provider.issue_code(started.authorization_url, "sub-vic", email="vic@example.com", email_verified=True)
    back = query_of((await come_back(client, started, code)).headers["location"])
    ok(await exchange(client, app_headers, back["code"]))
    # a federated-only shopper
    only = await sign_in(client, app_headers, provider, "sub-wes", email="wes@example.com", email_verified=True)
    wes_ticket = ok(await exchange(client, app_headers, only["code"]))
    wes = {**app_headers, "x-vol-user-claims": wes_ticket["accessToken"]}
    wes_id = wes_ticket["customerAccount"]["id"]

    listed = ok(await client.get(identities_path(account_id), headers=vic))["items"]
    assert [i["subject"] for i in listed] == ["sub-vic"]
    assert ok(await client.get(identities_path(account_id), headers=admin))["totalCount"] == 1
    # another shopper: refused, before anything is told
    assert_error(await client.get(identities_path(account_id), headers=wes), 403, "FORBIDDEN")
    assert_error(await client.delete(identities_path(account_id, listed[0]["id"]), headers=wes), 403, "FORBIDDEN")
    assert_error(await client.get(identities_path(account_id), headers=app_headers), 403, "FORBIDDEN")
    # the last way in of a federated-only account stays
    wes_identity = ok(await client.get(identities_path(wes_id), headers=wes))["items"][0]["id"]
    assert_error(await client.delete(identities_path(wes_id, wes_identity), headers=wes), 409, "VALIDATION_CONFLICT")
    assert_error(await client.delete(identities_path(wes_id, wes_identity), headers=admin), 409, "VALIDATION_CONFLICT")
    # someone else's identity id through one's own account: not found
    assert_error(await client.delete(identities_path(wes_id, listed[0]["id"]), headers=wes), 404, "ITEM_NOT_FOUND")
    # with a password, the owner unlinks
    assert (await client.delete(identities_path(account_id, listed[0]["id"]), headers=vic)).status_code == 204
    assert ok(await client.get(identities_path(account_id), headers=vic))["totalCount"] == 0
    async with core.store.engine.connect() as conn:
        rows = (await conn.execute(select(t.audit_entries.c.event, t.audit_entries.c.detail).where(
            t.audit_entries.c.account_id == account_id))).all()
        topics = (await conn.execute(select(t.events.c.topic).where(t.events.c.entity_id == str(account_id)))).scalars()
        topic_list = list(topics)
    assert ("identity.unlinked" in [r.event for r in rows]) and "customeraccount.identityunlinked" in topic_list
    # the admin unlinks too (here: the account has a password)
    again = await start(client, {**app_headers, "x-vol-user-claims": ok(await login(client, app_headers,
                                                                                      "vic@example.com"))["accessToken"]},
                        link=True)
    code = provider.issue_code(again.authorization_url, "sub-vic", email="vic@example.com", email_verified=True)
    ok(await exchange(client, app_headers, query_of((await come_back(client, again, code)).headers["location"])["code"]))
    item = ok(await client.get(identities_path(account_id), headers=admin))["items"][0]
    assert (await client.delete(identities_path(account_id, item["id"]), headers=admin)).status_code == 204


async def test_a_passkey_and_an_identity_each_keep_the_other_the_last_way_in(
        client: httpx.AsyncClient, core: Core, app_headers: dict[str, str], admin: dict[str, str],
        provider: TinyProvider) -> None:
    """An account a provider made has no password: with a passkey added, either may go, never both."""
    from tests.api.code_support import set_site
    from tests.federation.support import RETURN_URL
    from tests.passkeys.authenticator import Authenticator
    from tests.passkeys.support import ORIGIN, PASSKEY_SETTINGS, Shopper, add_passkey, passkeys_path

    await set_site(core, federation={"return_urls": [RETURN_URL]}, passkeys=PASSKEY_SETTINGS)
    await add_provider(client, admin, provider)
    back = await sign_in(client, app_headers, provider, "sub-cnt", email="cnt@example.com", email_verified=True)
    ticket = ok(await exchange(client, app_headers, back["code"]))
    account_id = ticket["customerAccount"]["id"]
    shopper = Shopper(account_id, ticket["userId"], "cnt@example.com",
                      {**app_headers, "x-vol-user-claims": ticket["accessToken"]}, ticket)
    # a provider's sign-in is a fresh login: the shopper adds a passkey at once
    passkey = ok(await add_passkey(client, shopper, Authenticator(ORIGIN)))
    [identity] = ok(await client.get(identities_path(account_id), headers=admin))["items"]
    assert (await client.delete(identities_path(account_id, identity["id"]), headers=admin)).status_code == 204
    # the passkey is now the only way in: neither its shopper nor an administrator removes it
    for hdrs in (shopper.headers, admin):
        body = assert_error(await client.delete(passkeys_path(account_id, passkey["id"]), headers=hdrs), 409,
                            "VALIDATION_CONFLICT")
        assert "last way to sign in" in body["message"]
    assert len(ok(await client.get(passkeys_path(account_id), headers=admin))["items"]) == 1


async def test_an_account_a_provider_made_may_set_a_password_through_the_forgotten_password_mail(
        client: httpx.AsyncClient, core: Core, app_headers: dict[str, str], admin: dict[str, str],
        provider: TinyProvider, smtp_server: SmtpServer) -> None:
    """It has no password, but it signs in (with the provider): the reset mail goes to its verified address, so
    a provider that goes away does not strand it; a password then makes the identity no longer the last way in."""
    await enable(core)
    await add_provider(client, admin, provider)
    back = await sign_in(client, app_headers, provider, "sub-pwd", email="pwd@example.com", email_verified=True)
    account_id = ok(await exchange(client, app_headers, back["code"]))["customerAccount"]["id"]
    r = await client.post(f"{CUSTOMER}/accounts/Reset-Password", headers=app_headers,
                          json={"emailAddress": "pwd@example.com"})
    assert r.status_code == 200, r.text
    [mail] = await Mailbox(core, smtp_server).new()
    assert mail.rcpt_tos == ["pwd@example.com"]
    r = await client.post(f"{CUSTOMER}/accounts/Update-Forgotten-Password", headers=app_headers, json={
        "userName": "pwd@example.com", "confirmationCode": mail.code(), "newPassword": "a perfectly fine passphrase"})
    assert r.status_code == 200, r.text
    assert ok(await login(client, app_headers, "pwd@example.com", "a perfectly fine passphrase"))[
        "customerAccount"]["id"] == account_id
    [identity] = ok(await client.get(identities_path(account_id), headers=admin))["items"]
    assert (await client.delete(identities_path(account_id, identity["id"]), headers=admin)).status_code == 204


async def test_an_account_without_a_way_in_gets_no_reset_mail(
        client: httpx.AsyncClient, app_headers: dict[str, str], admin: dict[str, str], core: Core,
        smtp_server: SmtpServer) -> None:
    """An account an administrator added without a login (no password, passkey or identity) gets no code."""
    ok(await client.post(f"{CUSTOMER}/accounts", headers=admin, json={"emailAddress": "nologin@example.com"}))
    r = await client.post(f"{CUSTOMER}/accounts/Reset-Password", headers=app_headers,
                          json={"emailAddress": "nologin@example.com"})
    assert r.status_code == 200, r.text
    assert await Mailbox(core, smtp_server).new() == []
