"""Signing in with an OpenID Connect provider over REST, end to end against a small real provider
(tests/federation/provider.py), on SQLite and PostgreSQL: the code flow, the linking rule, the exchange code's
single use and binding, the refusals of the callback, and what the sign-in leaves in the audit trail."""

from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.code_support import set_site
from tests.api.support import assert_error, login, ok, register
from tests.conftest import SITE, app_token, headers
from tests.federation.provider import CLIENT_SECRET, TinyProvider
from tests.federation.support import (
    AUTHORIZE,
    CALLBACK,
    RETURN_URL,
    add_provider,
    come_back,
    enable,
    exchange,
    identities_path,
    query_of,
    set_tenant,
    sign_in,
    start,
)
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.infra.clock import ManualClock


def _jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


@pytest.fixture
async def ready(client: httpx.AsyncClient, core: Core, admin: dict[str, str], provider: TinyProvider) -> dict[str, Any]:
    await enable(core)
    return await add_provider(client, admin, provider)


async def test_first_sign_in_creates_the_account_and_the_same_identity_comes_back_to_it(
        client: httpx.AsyncClient, app_headers: dict[str, str], admin: dict[str, str], provider: TinyProvider,
        ready: dict[str, Any]) -> None:
    back = await sign_in(client, app_headers, provider, "sub-ann", email="ann@example.com", email_verified=True,
                         given_name="Ann", family_name="Lee")
    ticket = ok(await exchange(client, app_headers, back["code"]))
    account = ticket["customerAccount"]
    assert account["emailAddress"] == "ann@example.com" and account["firstName"] == "Ann"
    assert ticket["refreshToken"] and not ticket["requires2FA"]
    claims = _jwt_claims(ticket["jwtAccessToken"])
    assert claims["amr"] == ["fed"] and claims["account_id"] == account["id"]
    # the shopper's ticket works, and the account lists its identity
    mine = {**app_headers, "x-vol-user-claims": ticket["accessToken"]}
    listed = ok(await client.get(identities_path(account["id"]), headers=mine))
    assert [(i["providerAlias"], i["subject"], i["emailAddress"]) for i in listed["items"]] == [
        ("tiny", "sub-ann", "ann@example.com")]
    assert listed["items"][0]["providerId"] == ready["id"] and listed["items"][0]["lastUsedOn"]
    # the same identity again: the same account, no second one
    again = ok(await exchange(client, app_headers, (await sign_in(
        client, app_headers, provider, "sub-ann", email="ann@example.com", email_verified=True))["code"]))
    assert again["customerAccount"]["id"] == account["id"]
    assert ok(await client.get(identities_path(account["id"]), headers=admin))["totalCount"] == 1


async def test_the_exchange_code_works_once_only_for_the_application_that_started(
        client: httpx.AsyncClient, app_headers: dict[str, str], admin: dict[str, str], provider: TinyProvider,
        ready: dict[str, Any]) -> None:
    code = (await sign_in(client, app_headers, provider, "sub-bo", email="bo@example.com", email_verified=True))["code"]
    ok(await exchange(client, app_headers, code))
    assert_error(await exchange(client, app_headers, code), 401, "INVALID_EXCHANGE_CODE")  # replayed
    # another application of the tenant cannot redeem a code, and its attempt spends it
    code = (await sign_in(client, app_headers, provider, "sub-bo", email="bo@example.com", email_verified=True))["code"]
    assert_error(await exchange(client, admin, code), 401, "INVALID_EXCHANGE_CODE")
    assert_error(await exchange(client, app_headers, code), 401, "INVALID_EXCHANGE_CODE")
    # nor at another site than the one that started
    code = (await sign_in(client, app_headers, provider, "sub-bo", email="bo@example.com", email_verified=True))["code"]
    other_site = headers(await app_token(client), site=201)
    assert_error(await exchange(client, other_site, code), 401, "INVALID_EXCHANGE_CODE")
    # a code from a flow the storefront did not start in this session (flowId given) is refused
    code = (await sign_in(client, app_headers, provider, "sub-bo", email="bo@example.com", email_verified=True))["code"]
    assert_error(await exchange(client, app_headers, code, flowId="0" * 32), 401, "INVALID_EXCHANGE_CODE")
    assert_error(await exchange(client, app_headers, "made-up"), 401, "INVALID_EXCHANGE_CODE")
    assert_error(await exchange(client, app_headers, ""), 400, "MISSING_OR_INVALID_PARAMETER")


async def test_the_exchange_code_lapses(client: httpx.AsyncClient, app_headers: dict[str, str], clock: ManualClock,
                                        provider: TinyProvider, ready: dict[str, Any]) -> None:
    code = (await sign_in(client, app_headers, provider, "sub-cy", email="cy@example.com", email_verified=True))["code"]
    clock.advance(timedelta(seconds=121))
    assert_error(await exchange(client, app_headers, code), 401, "INVALID_EXCHANGE_CODE")


async def test_flow_id_binds_the_code_to_the_flow(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                  provider: TinyProvider, ready: dict[str, Any]) -> None:
    started = await start(client, app_headers)
    answer = await come_back(client, started, provider.issue_code(started.authorization_url, "sub-di",
                                                                  email="di@example.com", email_verified=True))
    code = query_of(answer.headers["location"])["code"]
    ticket = ok(await exchange(client, app_headers, code, flowId=started.flow_id))
    assert ticket["customerAccount"]["emailAddress"] == "di@example.com"


async def test_return_url_must_be_one_of_the_sites(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                   ready: dict[str, Any]) -> None:
    for url in ("https://evil.example.com/cb", RETURN_URL + "&x=1", RETURN_URL.upper(), "", RETURN_URL + "#f"):
        r = await client.post(AUTHORIZE, headers=app_headers, json={"provider": "tiny", "returnUrl": url})
        assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "returnUrl")
    # a site without return URLs has federation off
    other = headers(await app_token(client), site=201)
    assert_error(await client.post(AUTHORIZE, headers=other, json={"provider": "tiny", "returnUrl": RETURN_URL}),
                 400, "MISSING_OR_INVALID_PARAMETER", "returnUrl")
    r = await client.post(AUTHORIZE, headers=app_headers, json={"provider": "nobody", "returnUrl": RETURN_URL})
    assert_error(r, 404, "ITEM_NOT_FOUND")


async def test_authorize_answers_a_pkce_authorization_url(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                          provider: TinyProvider, ready: dict[str, Any]) -> None:
    started = await start(client, app_headers, provider=str(ready["id"]))  # by id as well as by alias
    assert started.authorization_url.startswith(provider.issuer + "/authorize?")
    query = query_of(started.authorization_url)
    assert query["response_type"] == "code" and query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == "https://id.example.test/api/commerce/customer/authtickets/oidc/callback"
    assert query["scope"] == "openid email profile" and len(query["state"]) >= 40 and len(query["nonce"]) >= 40
    assert "code_verifier" not in query
    # state and nonce are kept as hashes only; the verifier sealed
    async with client_core(client).store.engine.connect() as conn:
        row = (await conn.execute(select(t.federation_flows))).mappings().one()
    assert query["state"] not in json.dumps({k: str(v) for k, v in row.items()})
    assert query["nonce"] not in json.dumps({k: str(v) for k, v in row.items()})


def client_core(client: httpx.AsyncClient) -> Core:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    core: Core = transport.app.state.core  # type: ignore[attr-defined]
    return core


async def test_callback_state_is_single_use_and_a_bad_state_redirects_nowhere(
        client: httpx.AsyncClient, app_headers: dict[str, str], clock: ManualClock, provider: TinyProvider,
        ready: dict[str, Any]) -> None:
    started = await start(client, app_headers)
    code = provider.issue_code(started.authorization_url, "sub-ed", email="ed@example.com", email_verified=True)
    assert (await come_back(client, started, code)).status_code == 303
    replay = await come_back(client, started, code)
    assert replay.status_code == 400 and "location" not in replay.headers
    assert "text/html" in replay.headers["content-type"] and replay.headers["cache-control"] == "no-store"
    tampered = await come_back(client, started, code, state=started.state[:-2] + "xx")
    assert tampered.status_code == 400 and "location" not in tampered.headers
    assert (await client.get(CALLBACK)).status_code == 400
    # a flow lapses
    late = await start(client, app_headers)
    clock.advance(timedelta(minutes=11))
    assert (await come_back(client, late, "whatever")).status_code == 400


async def test_id_token_checks(client: httpx.AsyncClient, app_headers: dict[str, str], clock: ManualClock,
                               provider: TinyProvider, ready: dict[str, Any]) -> None:
    verified = {"email": "fay@example.com", "email_verified": True}
    now = int(clock.now().timestamp())
    cases: list[tuple[dict[str, Any], str | None]] = [
        ({"nonce": "not-the-flows"}, None),
        ({"exp": now - 120, "iat": now - 600}, None),
        ({"iss": "https://other.example"}, None),
        ({"aud": "someone-else"}, None),
        ({"aud": ["ticketbooth-client", "other"]}, None),  # several audiences and no azp
        ({"aud": "ticketbooth-client", "azp": "other"}, None),
        ({"iat": now + 3600, "exp": now + 4000}, None),
    ]
    for extra, _ in cases:
        started = await start(client, app_headers)
        code = provider.issue_code(started.authorization_url, "sub-fay", **{**verified, **extra})
        back = query_of((await come_back(client, started, code)).headers["location"])
        assert back["error"] == "invalid_id_token", extra
        assert "code" not in back
    # a small skew is fine: expired 30 seconds ago
    started = await start(client, app_headers)
    code = provider.issue_code(started.authorization_url, "sub-fay", **verified, exp=now - 30)
    assert "code" in query_of((await come_back(client, started, code)).headers["location"])
    # several audiences with our azp
    started = await start(client, app_headers)
    code = provider.issue_code(started.authorization_url, "sub-fay", **verified, aud=["ticketbooth-client", "x"],
                               azp="ticketbooth-client")
    assert "code" in query_of((await come_back(client, started, code)).headers["location"])


async def test_a_token_signed_with_another_key_is_refused_and_rotation_is_followed(
        client: httpx.AsyncClient, app_headers: dict[str, str], clock: ManualClock, provider: TinyProvider,
        ready: dict[str, Any]) -> None:
    from joserfc.jwk import ECKey

    # a key of the same kid that is not the provider's: the signature fails
    started = await start(client, app_headers)
    code = provider.issue_code(started.authorization_url, "sub-gus", email="gus@example.com", email_verified=True)
    provider.forge = ECKey.generate_key("P-256", parameters={"kid": provider.keys[0].kid or "", "use": "sig"})
    back = query_of((await come_back(client, started, code)).headers["location"])
    assert back["error"] == "invalid_id_token"
    provider.forge = None
    # the provider rotates to a new kid: the keys are fetched again, once
    provider.rotate()
    clock.advance(timedelta(seconds=61))
    fetched = provider.jwks_requests
    back = await sign_in(client, app_headers, provider, "sub-gus", email="gus@example.com", email_verified=True)
    assert "code" in back and provider.jwks_requests == fetched + 1
    # unknown kids do not make us fetch again within the floor
    provider.rotate()
    back = await sign_in(client, app_headers, provider, "sub-gus", email="gus@example.com", email_verified=True)
    assert back["error"] == "invalid_id_token" and provider.jwks_requests == fetched + 1


async def test_unverified_email_never_links_nor_creates(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                        admin: dict[str, str], core: Core, provider: TinyProvider,
                                                        ready: dict[str, Any]) -> None:
    await register(client, app_headers, "hal@example.com")
    ok(await client.put(f"/api/commerce/customer/identityproviders/{ready['id']}", headers=admin,
                        json={"trustEmail": True}))
    for verified in (False, "false", None):
        extra = {"email_verified": verified} if verified is not None else {}
        back = await sign_in(client, app_headers, provider, "sub-hal", email="hal@example.com", **extra)
        assert back["error"] == "email_unverified"
        back = await sign_in(client, app_headers, provider, "sub-new", email="nobody-yet@example.com", **extra)
        assert back["error"] == "email_unverified"
    async with core.store.engine.connect() as conn:
        assert (await conn.execute(select(t.linked_identities))).first() is None
        emails = (await conn.execute(select(t.accounts.c.email))).scalars().all()
    assert "nobody-yet@example.com" not in emails


async def test_trusted_verified_email_links_the_existing_account(
        client: httpx.AsyncClient, app_headers: dict[str, str], admin: dict[str, str], provider: TinyProvider,
        ready: dict[str, Any]) -> None:
    mine = await register(client, app_headers, "ivy@example.com")
    ok(await client.put(f"/api/commerce/customer/identityproviders/{ready['id']}", headers=admin,
                        json={"trustEmail": True}))
    back = await sign_in(client, app_headers, provider, "sub-ivy", email="IVY@example.com", email_verified="true")
    ticket = ok(await exchange(client, app_headers, back["code"]))
    assert ticket["customerAccount"]["id"] == mine["customerAccount"]["id"]


async def test_untrusted_email_requires_sign_in_then_link(
        client: httpx.AsyncClient, app_headers: dict[str, str], clock: ManualClock, provider: TinyProvider,
        ready: dict[str, Any]) -> None:
    mine = await register(client, app_headers, "jo@example.com")
    account_id = mine["customerAccount"]["id"]
    back = await sign_in(client, app_headers, provider, "sub-jo", email="jo@example.com", email_verified=True)
    assert back["error"] == "link_required" and back["error_description"]
    # the shopper signs in with the password, then links (a fresh login)
    clock.advance(timedelta(minutes=10))
    ticket = ok(await login(client, app_headers, "jo@example.com"))
    shopper = {**app_headers, "x-vol-user-claims": ticket["accessToken"]}
    started = await start(client, shopper, link=True)
    code = provider.issue_code(started.authorization_url, "sub-jo", email="jo@example.com", email_verified=True)
    back = query_of((await come_back(client, started, code)).headers["location"])
    linked = ok(await exchange(client, app_headers, back["code"]))
    assert linked["customerAccount"]["id"] == account_id
    # from now on the provider alone signs in to it
    again = await sign_in(client, app_headers, provider, "sub-jo", email="jo@example.com", email_verified=True)
    assert ok(await exchange(client, app_headers, again["code"]))["customerAccount"]["id"] == account_id


async def test_link_needs_a_fresh_login_and_the_identity_free(
        client: httpx.AsyncClient, app_headers: dict[str, str], clock: ManualClock, provider: TinyProvider,
        ready: dict[str, Any]) -> None:
    ticket = (await register(client, app_headers, "kim@example.com"))
    shopper = {**app_headers, "x-vol-user-claims": ticket["accessToken"]}
    clock.advance(timedelta(minutes=6))
    r = await client.post(AUTHORIZE, headers=shopper, json={"provider": "tiny", "returnUrl": RETURN_URL, "link": True})
    assert_error(r, 403, "FORBIDDEN")
    r = await client.post(AUTHORIZE, headers=app_headers, json={"provider": "tiny", "returnUrl": RETURN_URL,
                                                                "link": True})
    assert_error(r, 401, "INVALID_ACCESS_TOKEN")
    # an identity already linked to another account is not linked again
    other = await sign_in(client, app_headers, provider, "sub-taken", email="taken@example.com", email_verified=True)
    ok(await exchange(client, app_headers, other["code"]))
    fresh = ok(await login(client, app_headers, "kim@example.com"))
    started = await start(client, {**app_headers, "x-vol-user-claims": fresh["accessToken"]}, link=True)
    code = provider.issue_code(started.authorization_url, "sub-taken", email="taken@example.com", email_verified=True)
    back = query_of((await come_back(client, started, code)).headers["location"])
    assert back["error"] == "identity_linked_elsewhere"


async def test_registration_closed_and_disabled_provider(
        client: httpx.AsyncClient, app_headers: dict[str, str], admin: dict[str, str], provider: TinyProvider,
        ready: dict[str, Any]) -> None:
    path = f"/api/commerce/customer/identityproviders/{ready['id']}"
    ok(await client.put(path, headers=admin, json={"createAccounts": False}))
    back = await sign_in(client, app_headers, provider, "sub-lu", email="lu@example.com", email_verified=True)
    assert back["error"] == "registration_closed"
    started = await start(client, app_headers)
    ok(await client.put(path, headers=admin, json={"isEnabled": False}))
    code = provider.issue_code(started.authorization_url, "sub-lu", email="lu@example.com", email_verified=True)
    assert query_of((await come_back(client, started, code)).headers["location"])["error"] == "provider_disabled"
    assert_error(await client.post(AUTHORIZE, headers=app_headers, json={"provider": "tiny", "returnUrl": RETURN_URL}),
                 404, "ITEM_NOT_FOUND")


async def test_provider_declined_and_token_endpoint_failures(
        client: httpx.AsyncClient, app_headers: dict[str, str], provider: TinyProvider, ready: dict[str, Any]) -> None:
    started = await start(client, app_headers)
    r = await client.get(CALLBACK, params={"state": started.state, "error": "access_denied"})
    assert query_of(r.headers["location"])["error"] == "access_denied"
    started = await start(client, app_headers)
    r = await come_back(client, started, "a-code-the-provider-never-issued")
    assert query_of(r.headers["location"])["error"] == "provider_error"


async def test_form_post_callback(client: httpx.AsyncClient, app_headers: dict[str, str], provider: TinyProvider,
                                  ready: dict[str, Any]) -> None:
    started = await start(client, app_headers)
    code = provider.issue_code(started.authorization_url, "sub-mo", email="mo@example.com", email_verified=True)
    r = await client.post(CALLBACK, data={"code": code, "state": started.state})
    assert r.status_code == 303 and "code" in query_of(r.headers["location"])
    assert (await client.post(CALLBACK, content=b"\x00\xff", headers={"content-type": "text/plain"})).status_code == 400


async def test_site_two_factor_applies_unless_the_provider_asserted_mfa(
        client: httpx.AsyncClient, core: Core, app_headers: dict[str, str], provider: TinyProvider,
        ready: dict[str, Any]) -> None:
    await set_site(core, SITE, two_factor=["always"], federation={"return_urls": [RETURN_URL]})
    back = await sign_in(client, app_headers, provider, "sub-ned", email="ned@example.com", email_verified=True)
    pending = ok(await exchange(client, app_headers, back["code"]))
    assert pending["requires2FA"] and pending["refreshToken"] is None
    back = await sign_in(client, app_headers, provider, "sub-ned", email="ned@example.com", email_verified=True,
                         amr=["pwd", "mfa"])
    ticket = ok(await exchange(client, app_headers, back["code"]))
    assert not ticket["requires2FA"] and _jwt_claims(ticket["jwtAccessToken"])["amr"] == ["fed", "mfa"]


async def test_secret_id_parameter_for_kibo_storefronts(client: httpx.AsyncClient, core: Core,
                                                        app_headers: dict[str, str], provider: TinyProvider,
                                                        ready: dict[str, Any]) -> None:
    await enable(core, code_parameter="secretId")
    started = await start(client, app_headers)
    code = provider.issue_code(started.authorization_url, "sub-ola", email="ola@example.com", email_verified=True)
    back = query_of((await come_back(client, started, code)).headers["location"])
    assert "code" not in back and ok(await exchange(client, app_headers, back["secretId"]))["userId"]


async def test_rate_limits(client: httpx.AsyncClient, core: Core, app_headers: dict[str, str],
                           ready: dict[str, Any]) -> None:
    await set_tenant(core, rate_limits={"federation": {"per_address": {"capacity": 2, "per_minute": 1}}})
    for _ in range(2):
        await start(client, app_headers)
    r = await client.post(AUTHORIZE, headers=app_headers, json={"provider": "tiny", "returnUrl": RETURN_URL})
    assert_error(r, 429, "TOO_MANY_REQUESTS")
    assert_error(await exchange(client, app_headers, "x" * 40), 429, "TOO_MANY_REQUESTS")


async def test_no_secret_in_logs_audit_events_or_errors(
        client: httpx.AsyncClient, core: Core, app_headers: dict[str, str], admin: dict[str, str],
        provider: TinyProvider, ready: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ticketbooth")
    seen: list[str] = [CLIENT_SECRET]
    errors: list[str] = []
    for extra in ({}, {"nonce": "wrong-nonce"}):
        started = await start(client, app_headers)
        query = query_of(started.authorization_url)
        seen += [query["state"], query["nonce"]]
        code = provider.issue_code(started.authorization_url, "sub-pia", email="pia@example.com",
                                   email_verified=True, **extra)
        seen.append(code)
        r = await come_back(client, started, code)
        back = query_of(r.headers["location"])
        if "code" not in back:  # the refusal's redirect
            errors.append(r.headers["location"])
            continue
        seen.append(back["code"])
        ticket = ok(await exchange(client, app_headers, back["code"]))
        seen += [ticket["accessToken"], ticket["refreshToken"]]
        errors.append((await exchange(client, app_headers, back["code"])).text)  # replayed
        errors.append((await exchange(client, admin, back["code"])).text)  # another application
        errors.append((await come_back(client, started, code)).text)  # the state again
    async with core.store.engine.connect() as conn:
        audit = json.dumps([dict(r) for r in (await conn.execute(select(t.audit_entries))).mappings()], default=str)
        events = json.dumps([dict(r) for r in (await conn.execute(select(t.events))).mappings()], default=str)
        sealed = (await conn.execute(select(t.identity_providers.c.client_secret))).scalar_one()
    assert CLIENT_SECRET.encode() not in bytes(sealed)
    logs = "\n".join(record.getMessage() for record in caplog.records)
    assert len(errors) == 4
    for secret in seen:
        assert secret not in audit and secret not in events and secret not in logs
        assert all(secret not in text for text in errors)
    assert "identity.linked" in audit and "identity.used" in audit and "account.created" in audit
    assert "customeraccount.identitylinked" in events


async def test_the_guest_carts_anonymous_ticket_is_carried_to_the_sign_in(
        client: httpx.AsyncClient, app_headers: dict[str, str], provider: TinyProvider, ready: dict[str, Any]) -> None:
    guest = ok(await client.get("/api/commerce/customer/authtickets/anonymousshopper", headers=app_headers))
    guest_id = _jwt_claims(guest["jwtAccessToken"])["sub"]
    started = await start(client, {**app_headers, "x-vol-user-claims": guest["accessToken"]})
    code = provider.issue_code(started.authorization_url, "sub-guest", email="guest@example.com", email_verified=True)
    back = query_of((await come_back(client, started, code)).headers["location"])
    ticket = ok(await exchange(client, app_headers, back["code"]))
    assert _jwt_claims(ticket["jwtAccessToken"])["prev_sub"] == guest_id
