"""Signing in with a passkey over REST (software authenticator, SQLite and PostgreSQL): usernameless and for
a username, what the ceremony refuses (every refusal the answer of a wrong password), a cloned authenticator,
two answers racing with one counter value, locks, the site's 2FA rule, and what is recorded."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import update

from tests.api.support import CURRENT, anonymous, anonymous_id, assert_error, login, ok
from tests.conftest import SITE
from tests.passkeys.authenticator import Authenticator, b64url, clone
from tests.passkeys.support import (
    ORIGIN,
    SIGN_IN,
    Shopper,
    add_passkey,
    audit_rows,
    enable,
    fresh_shopper,
    passkeys_path,
    sign_in,
    sign_in_options,
)
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.infra.clock import ManualClock

OTHER_SITE_OF_THE_SET = 201


@pytest.fixture
async def ann(client: httpx.AsyncClient, core: Core, app_headers: dict[str, str]) -> Shopper:
    await enable(core)
    return await fresh_shopper(client, app_headers, "ann@example.com")


@pytest.fixture
async def key(client: httpx.AsyncClient, ann: Shopper) -> Authenticator:
    """Ann's authenticator, holding her passkey."""
    auth = Authenticator(ORIGIN)
    ok(await add_passkey(client, ann, auth))
    return auth


async def _refusals(core: Core) -> list[Any]:
    return [row["detail"]["reason"] for row in await audit_rows(core) if row["event"] == "passkey.refused"]


async def test_usernameless_sign_in(client: httpx.AsyncClient, core: Core, app_headers: dict[str, str], ann: Shopper,
                                   key: Authenticator, clock: ManualClock) -> None:
    options = await sign_in_options(client, app_headers)
    assert set(options) == {"challengeId", "options"}
    assert options["options"]["allowCredentials"] == [] and options["options"]["userVerification"] == "required"
    assert options["options"]["rpId"] == "shop.example.com" and options["options"]["timeout"] == 300_000
    clock.advance(timedelta(minutes=1))
    credential = key.get(options["options"])
    ticket = ok(await client.post(SIGN_IN, headers=app_headers, json={
        "challengeId": options["challengeId"], "credential": credential, "fingerprint": "laptop"}))
    assert ticket["userId"] == ann.user_id and ticket["customerAccount"]["emailAddress"] == "ann@example.com"
    assert ticket["requires2FA"] is False and ticket["refreshToken"]
    claims = jwt.decode(ticket["jwtAccessToken"], options={"verify_signature": False})
    assert claims["amr"] == ["hwk", "user", "mfa"]
    me = ok(await client.get(CURRENT, headers={**app_headers, "x-vol-user-claims": ticket["accessToken"]}))
    assert me["id"] == ann.account_id
    listed = ok(await client.get(passkeys_path(ann.account_id), headers=ann.headers))["items"]
    assert listed[0]["lastUsedOn"] == clock.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    used = [row for row in await audit_rows(core) if row["event"] == "passkey.used"]
    assert [(row["account_id"], row["detail"]) for row in used] == [(ann.account_id, {"passkeyId": listed[0]["id"]})]


async def test_a_passkey_sign_in_may_add_a_passkey(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                   ann: Shopper, key: Authenticator) -> None:
    """A passkey login is a fresh login: the shopper adds a second passkey from it."""
    ticket = ok(await sign_in(client, app_headers, key))
    again = Shopper(ann.account_id, ann.user_id, ann.email,
                    {**app_headers, "x-vol-user-claims": ticket["accessToken"]}, ticket)
    ok(await add_passkey(client, again, Authenticator(ORIGIN)))


async def test_sign_in_for_a_username(client: httpx.AsyncClient, core: Core, app_headers: dict[str, str],
                                      ann: Shopper, key: Authenticator) -> None:
    ticket = ok(await sign_in(client, app_headers, key, username="ANN@example.com"))
    assert ticket["userId"] == ann.user_id
    # a username names the account: another's passkey does not sign in for it
    bob = await fresh_shopper(client, app_headers, "bob@example.com")
    assert_error(await sign_in(client, app_headers, key, username=bob.email), 401, "INVALID_CREDENTIALS")
    assert_error(await sign_in(client, app_headers, key, username="nobody@example.com"), 401, "INVALID_CREDENTIALS")
    assert await _refusals(core) == ["other-user", "other-user"]


async def test_options_tell_no_one_whether_a_username_exists(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                             ann: Shopper, key: Authenticator) -> None:
    def shape(options: dict[str, Any]) -> dict[str, Any]:
        return {**options["options"], "challenge": len(options["options"]["challenge"]),
                "challengeId": len(options["challengeId"])}

    known = shape(await sign_in_options(client, app_headers, "ann@example.com"))
    unknown = shape(await sign_in_options(client, app_headers, "nobody@example.com"))
    usernameless = shape(await sign_in_options(client, app_headers))
    assert known == unknown == usernameless
    assert known["allowCredentials"] == []


@pytest.mark.parametrize(("bend", "reason"), [
    ({"origin": "https://evil.example"}, "ceremony"),
    ({"origin": "https://shop.example.com:8443"}, "ceremony"),
    ({"rp_id": "example.com"}, "ceremony"),
    ({"challenge": b64url(b"\x02" * 32)}, "ceremony"),
    ({"uv": False}, "user-verification"),
    ({"up": False}, "ceremony"),
    ({"user_handle": b"f" * 32}, "user-handle"),
])
async def test_a_bent_assertion_is_a_wrong_password(client: httpx.AsyncClient, core: Core, app_headers: dict[str, str],
                                                    ann: Shopper, key: Authenticator, bend: dict[str, Any],
                                                    reason: str) -> None:
    body = assert_error(await sign_in(client, app_headers, key, **bend), 401, "INVALID_CREDENTIALS")
    assert body["message"] == "Invalid Credentials: the passkey was not accepted"
    assert await _refusals(core) == [reason]
    assert ok(await client.get(passkeys_path(ann.account_id), headers=ann.headers))["items"][0]["lastUsedOn"] is None


async def test_a_signature_of_another_key_is_refused(client: httpx.AsyncClient, core: Core,
                                                     app_headers: dict[str, str], ann: Shopper,
                                                     key: Authenticator) -> None:
    options = await sign_in_options(client, app_headers)
    forged = Authenticator(ORIGIN)
    forged.create({"rp": {"id": "shop.example.com"}, "user": {"id": b64url(ann.user_id.encode())},
                   "challenge": b64url(b"\x00" * 32)})
    answer = forged.get(options["options"])
    answer["id"] = answer["rawId"] = b64url(key.credentials[0].credential_id)
    r = await client.post(SIGN_IN, headers=app_headers, json={"challengeId": options["challengeId"], "credential": answer})
    assert_error(r, 401, "INVALID_CREDENTIALS")
    assert await _refusals(core) == ["signature"]


async def test_a_challenge_works_once_where_it_was_made(client: httpx.AsyncClient, core: Core, clock: ManualClock,
                                                        app_headers: dict[str, str], admin: dict[str, str],
                                                        ann: Shopper, key: Authenticator) -> None:
    options = await sign_in_options(client, app_headers)
    body = {"challengeId": options["challengeId"], "credential": key.get(options["options"])}
    # not at another site of the customer set, not by another application
    await enable(core, OTHER_SITE_OF_THE_SET)
    other_site = {**app_headers, "x-vol-site": str(OTHER_SITE_OF_THE_SET)}
    assert_error(await client.post(SIGN_IN, headers=other_site, json=body), 401, "INVALID_CREDENTIALS")
    assert_error(await client.post(SIGN_IN, headers=admin, json=body), 401, "INVALID_CREDENTIALS")
    ok(await client.post(SIGN_IN, headers=app_headers, json=body))
    # once only, even with a new signature over it
    assert_error(await client.post(SIGN_IN, headers=app_headers, json=body), 401, "INVALID_CREDENTIALS")
    body["credential"] = key.get(options["options"])
    assert_error(await client.post(SIGN_IN, headers=app_headers, json=body), 401, "INVALID_CREDENTIALS")
    # within challenge_seconds
    options = await sign_in_options(client, app_headers)
    clock.advance(timedelta(seconds=301))
    body = {"challengeId": options["challengeId"], "credential": key.get(options["options"])}
    assert_error(await client.post(SIGN_IN, headers=app_headers, json=body), 401, "INVALID_CREDENTIALS")
    assert await _refusals(core) == ["challenge"] * 5
    # no challenge, junk
    for junk in ({"credential": key.get(options["options"])}, {"challengeId": options["challengeId"]},
                 {"challengeId": "x" * 500, "credential": {}}, {"challengeId": 5, "credential": []}):
        r = await client.post(SIGN_IN, headers=app_headers, json=junk)
        assert r.status_code in (400, 401), r.text
        assert_error(r, r.status_code)


async def test_a_cloned_authenticator_is_refused_and_audited(client: httpx.AsyncClient, core: Core,
                                                             app_headers: dict[str, str], ann: Shopper,
                                                             key: Authenticator) -> None:
    copy = clone(key.credentials[0], ORIGIN)  # copied at counter 1 (its registration left it at 0)
    ok(await sign_in(client, app_headers, key))  # the owner: counter 1
    ok(await sign_in(client, app_headers, key))  # counter 2
    assert_error(await sign_in(client, app_headers, copy), 401, "INVALID_CREDENTIALS")  # the clone says 1
    assert await _refusals(core) == ["counter"]
    ok(await sign_in(client, app_headers, key))  # the owner still signs in (counter 3)
    refused = [row for row in await audit_rows(core) if row["event"] == "passkey.refused"]
    assert refused[0]["account_id"] == ann.account_id and refused[0]["detail"] == {"reason": "counter",
                                                                                   "stage": "sign-in"}


async def test_two_answers_with_one_counter_value_one_wins(client: httpx.AsyncClient, core: Core,
                                                           app_headers: dict[str, str], ann: Shopper,
                                                           key: Authenticator) -> None:
    """A clone and its original answering two challenges with the same counter at once: the counter's
    compare-and-set lets exactly one of them in."""
    first, second = await sign_in_options(client, app_headers), await sign_in_options(client, app_headers)
    held = key.credentials[0]
    a = key.get(first["options"], sign_count=7)
    b = key.get(second["options"], credential=held, sign_count=7)
    answers = await asyncio.gather(
        client.post(SIGN_IN, headers=app_headers, json={"challengeId": first["challengeId"], "credential": a}),
        client.post(SIGN_IN, headers=app_headers, json={"challengeId": second["challengeId"], "credential": b}))
    assert sorted(r.status_code for r in answers) == [200, 401]
    assert await _refusals(core) == ["counter"]


async def test_sign_in_lifts_a_lock_of_failed_passwords(client: httpx.AsyncClient, core: Core, clock: ManualClock,
                                                        app_headers: dict[str, str], admin: dict[str, str],
                                                        ann: Shopper, key: Authenticator) -> None:
    async with core.store.engine.begin() as conn:  # locked as failed passwords lock it
        await conn.execute(update(t.accounts).where(t.accounts.c.id == ann.account_id).values(
            is_locked=True, locked_at=clock.now(), lock_expires_at=clock.now() + timedelta(minutes=30),
            failed_login_count=10))
    assert_error(await login(client, app_headers, ann.email), 401, "INVALID_CREDENTIALS")
    ok(await sign_in(client, app_headers, key))
    state = ok(await client.get(f"/api/commerce/customer/accounts/{ann.account_id}/loginstate", headers=admin))
    assert state["isLocked"] is False and state["failedLoginAttemptCount"] == 0
    unlocked = [row for row in await audit_rows(core, "account.unlocked")]
    assert [row["detail"] for row in unlocked] == [{"by": "passkey-login"}]
    ok(await login(client, app_headers, ann.email))


async def test_an_inactive_or_administrator_locked_account_is_refused(
        client: httpx.AsyncClient, core: Core, app_headers: dict[str, str], admin: dict[str, str], ann: Shopper,
        key: Authenticator) -> None:
    locked = await client.post(f"/api/commerce/customer/accounts/{ann.account_id}/Set-Login-Locked", headers=admin,
                               content=b"true")
    assert locked.status_code == 200, locked.text
    assert_error(await sign_in(client, app_headers, key), 401, "INVALID_CREDENTIALS")
    await client.post(f"/api/commerce/customer/accounts/{ann.account_id}/Set-Login-Locked", headers=admin,
                      content=b"false")
    ok(await sign_in(client, app_headers, key))
    async with core.store.engine.begin() as conn:
        await conn.execute(update(t.accounts).where(t.accounts.c.id == ann.account_id).values(is_active=False))
    assert_error(await sign_in(client, app_headers, key), 401, "INVALID_CREDENTIALS")
    assert await _refusals(core) == ["account-unavailable", "account-unavailable"]


async def test_a_site_that_always_asks_two_factors_takes_a_passkey_alone(
        client: httpx.AsyncClient, core: Core, app_headers: dict[str, str], ann: Shopper, key: Authenticator) -> None:
    await enable(core, two_factor=["always"])
    ticket = ok(await sign_in(client, app_headers, key))
    assert ticket["requires2FA"] is False and ticket["accessToken"]
    hdrs = {**app_headers, "x-vol-user-claims": ticket["accessToken"]}
    assert ok(await client.get(CURRENT, headers=hdrs))["id"] == ann.account_id
    # a password alone gets a pending ticket there
    assert ok(await login(client, app_headers, ann.email))["requires2FA"] is True


async def test_a_site_without_passkeys_refuses_clearly(client: httpx.AsyncClient, core: Core,
                                                       app_headers: dict[str, str], ann: Shopper,
                                                       key: Authenticator) -> None:
    options = await sign_in_options(client, app_headers)
    body = {"challengeId": options["challengeId"], "credential": key.get(options["options"])}
    await enable(core, passkeys={"rp_id": ""})
    for r in (await client.post(f"{SIGN_IN}/options", headers=app_headers, json={}),
              await client.post(SIGN_IN, headers=app_headers, json=body)):
        assert f"passkeys are not enabled at site {SITE}" in assert_error(r, 409, "VALIDATION_CONFLICT")["message"]
    # and a passkey made for another relying party does not sign in at a site that names another
    await enable(core, passkeys={"rp_id": "example.com", "origins": ["https://example.com"]})
    options = await sign_in_options(client, app_headers)
    answer = key.get(options["options"], origin="https://example.com", rp_id="example.com",
                     credential=key.credentials[0])
    r = await client.post(SIGN_IN, headers=app_headers, json={"challengeId": options["challengeId"], "credential": answer})
    assert_error(r, 401, "INVALID_CREDENTIALS")
    assert await _refusals(core) == ["relying-party"]


async def test_only_the_applications_own_credential_signs_in(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                             ann: Shopper, key: Authenticator) -> None:
    for path in (f"{SIGN_IN}/options", SIGN_IN):
        r = await client.post(path, headers={"Authorization": f"Bearer {ann.ticket['jwtAccessToken']}"}, json={})
        assert_error(r, 401, "UNAUTHORIZED")
        assert_error(await client.post(path, json={}), 401, "UNAUTHORIZED")


async def test_an_anonymous_visit_is_taken_over(client: httpx.AsyncClient, core: Core, app_headers: dict[str, str],
                                                ann: Shopper, key: Authenticator) -> None:
    visit = await anonymous(client, app_headers)
    hdrs = {**app_headers, "x-vol-user-claims": visit["accessToken"]}
    ticket = ok(await sign_in(client, hdrs, key))
    assert ticket["userId"] == ann.user_id
    async with core.store.engine.connect() as conn:
        rows = (await conn.execute(t.events.select().where(t.events.c.topic == "customeraccount.loginsucceeded")
                                   .order_by(t.events.c.id.desc()))).mappings().all()
    assert rows[0]["extended_properties"]["previousAnonymousUserId"] == anonymous_id(visit)


async def test_nothing_secret_is_recorded(client: httpx.AsyncClient, core: Core, app_headers: dict[str, str],
                                          ann: Shopper, key: Authenticator) -> None:
    options = await sign_in_options(client, app_headers)
    answer = key.get(options["options"])
    ok(await client.post(SIGN_IN, headers=app_headers, json={"challengeId": options["challengeId"], "credential": answer}))
    assert_error(await sign_in(client, app_headers, key, origin="https://evil.example"), 401)
    held = key.credentials[0]
    numbers = held.key.public_key().public_numbers()
    secrets = [options["options"]["challenge"], options["challengeId"], answer["response"]["signature"],
               answer["response"]["authenticatorData"], answer["response"]["clientDataJSON"],
               b64url(held.cose_public_key()), base64.b64encode(held.cose_public_key()).decode(),
               format(numbers.x, "x"), b64url(numbers.x.to_bytes(32, "big"))]
    async with core.store.engine.connect() as conn:
        audit = [dict(r._mapping) for r in await conn.execute(t.audit_entries.select())]
        events = [dict(r._mapping) for r in await conn.execute(t.events.select())]
    text = json.dumps([audit, events], default=str)
    assert "passkey.used" in text and "passkey.refused" in text
    for secret in secrets:
        assert secret not in text


async def test_a_deleted_accounts_passkey_signs_in_nowhere(client: httpx.AsyncClient, core: Core,
                                                          app_headers: dict[str, str], admin: dict[str, str],
                                                          ann: Shopper, key: Authenticator) -> None:
    r = await client.delete(f"/api/commerce/customer/accounts/{ann.account_id}", headers=admin)
    assert r.status_code in (200, 204), r.text
    assert_error(await sign_in(client, app_headers, key), 401, "INVALID_CREDENTIALS")
    assert await _refusals(core) == ["unknown-credential"]  # its passkeys went with it
