"""Adding passkeys over REST (software authenticator, SQLite and PostgreSQL): who may add one (the shopper's
own ticket from a fresh login, nothing else), what the ceremony refuses, several passkeys per account, and
the account's passkeys listed, renamed and removed by the shopper or an administrator."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.api.support import REGISTER, assert_error, ok
from tests.passkeys.authenticator import AAGUID, Authenticator, Credential, b64url, unb64url
from tests.passkeys.support import (
    ORIGIN,
    RP_ID,
    Shopper,
    add_passkey,
    audit_rows,
    enable,
    event_rows,
    fresh_shopper,
    passkeys_path,
    registration_options,
)
from ticketbooth.core import Core
from ticketbooth.infra.clock import ManualClock

PASSKEY_KEYS = {"id", "name", "credentialId", "createdOn", "lastUsedOn", "backupEligible", "backedUp", "transports",
                "aaguid"}


@pytest.fixture
async def ann(client: httpx.AsyncClient, core: Core, app_headers: dict[str, str]) -> Shopper:
    await enable(core)
    return await fresh_shopper(client, app_headers, "ann@example.com")


async def test_options_ask_for_a_discoverable_credential_of_this_site(client: httpx.AsyncClient, ann: Shopper) -> None:
    answer = ok(await registration_options(client, ann))
    assert set(answer) == {"challengeId", "options"} and len(answer["challengeId"]) == 32
    options = answer["options"]
    assert options["rp"]["id"] == RP_ID and options["rp"]["name"]  # the site's name when rp_name is empty
    assert options["user"]["name"] == "ann@example.com"
    assert options["authenticatorSelection"] == {"residentKey": "required", "requireResidentKey": True,
                                                 "userVerification": "required"}
    assert options["excludeCredentials"] == [] and options["attestation"] == "none"
    assert options["timeout"] == 300_000


async def test_a_passkey_is_added_and_answered(client: httpx.AsyncClient, ann: Shopper, core: Core,
                                               clock: ManualClock) -> None:
    auth = Authenticator(ORIGIN, backup=True)
    kept = ok(await add_passkey(client, ann, auth, name="  My phone  "))
    assert set(kept) == PASSKEY_KEYS
    assert kept["name"] == "My phone" and kept["credentialId"] == b64url(auth.credentials[0].credential_id)
    assert kept["backupEligible"] is True and kept["backedUp"] is True and kept["lastUsedOn"] is None
    assert kept["transports"] == ["internal", "hybrid"]
    assert kept["aaguid"] == str(uuid.UUID(bytes=AAGUID))
    assert kept["createdOn"].startswith(clock.now().strftime("%Y-%m-%dT%H:%M"))


async def test_a_stale_session_cannot_add_a_passkey(client: httpx.AsyncClient, core: Core, clock: ManualClock,
                                                    app_headers: dict[str, str]) -> None:
    await enable(core)
    # the ticket of a registration proves no login
    registered = ok(await client.post(REGISTER, headers=app_headers, json={
        "account": {"emailAddress": "bo@example.com"}, "password": "a perfectly fine passphrase"}))
    hdrs = {**app_headers, "x-vol-user-claims": registered["accessToken"]}
    r = await client.post(passkeys_path(registered["customerAccount"]["id"], "registrationoptions"), headers=hdrs,
                          json={})
    assert "within the last 5 minutes" in assert_error(r, 403, "FORBIDDEN")["message"]
    # a password login goes stale after fresh_login_minutes (5)
    ann = await fresh_shopper(client, app_headers, "ann@example.com")
    clock.advance(timedelta(minutes=5, seconds=1))
    assert_error(await registration_options(client, ann), 403, "FORBIDDEN")
    await enable(core, passkeys={"fresh_login_minutes": 10})
    assert ok(await registration_options(client, ann))["challengeId"]


async def test_only_the_shoppers_own_ticket_adds_a_passkey(client: httpx.AsyncClient, ann: Shopper, core: Core,
                                                           app_headers: dict[str, str], admin: dict[str, str],
                                                           csr: dict[str, str]) -> None:
    path = passkeys_path(ann.account_id, "registrationoptions")
    # an application's credential alone: the storefront's, or an administrator's
    for hdrs in (app_headers, admin):
        assert "application's credential alone" in assert_error(
            await client.post(path, headers=hdrs, json={}), 403, "FORBIDDEN")["message"]
    # an impersonation ticket
    acting = ok(await client.post("/api/commerce/customer/authtickets/impersonatecart", headers=csr,
                                  json={"accountId": ann.account_id, "userId": ann.user_id}))
    r = await client.post(path, headers={**csr, "x-vol-user-claims": acting["accessToken"]}, json={})
    assert "impersonation" in assert_error(r, 403, "FORBIDDEN")["message"]
    # another shopper's ticket, on its own or next to an administrator's credential
    bob = await fresh_shopper(client, app_headers, "bob@example.com")
    assert_error(await client.post(path, headers=bob.headers, json={}), 403, "FORBIDDEN")
    r = await client.post(path, headers={**admin, "x-vol-user-claims": bob.headers["x-vol-user-claims"]}, json={})
    assert_error(r, 403, "FORBIDDEN")
    # and the attestation step asks the same
    options = ok(await registration_options(client, ann))
    credential = Authenticator(ORIGIN).create(options["options"])
    body = {"challengeId": options["challengeId"], "credential": credential}
    for hdrs in (app_headers, admin, bob.headers):
        assert_error(await client.post(passkeys_path(ann.account_id), headers=hdrs, json=body), 403, "FORBIDDEN")
    # the challenge was made for ann's account: bob cannot spend it on his
    r = await client.post(passkeys_path(bob.account_id), headers=bob.headers, json=body)
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "credential")
    assert ok(await client.post(passkeys_path(ann.account_id), headers=ann.headers, json=body))["name"] == "Passkey"
    assert ok(await client.get(passkeys_path(bob.account_id), headers=bob.headers))["totalCount"] == 0


async def _answer(client: httpx.AsyncClient, ann: Shopper, **bend: Any) -> tuple[httpx.Response, dict[str, Any]]:
    options = ok(await registration_options(client, ann))
    body = {"challengeId": options["challengeId"], "credential": Authenticator(ORIGIN).create(options["options"], **bend)}
    return await client.post(passkeys_path(ann.account_id), headers=ann.headers, json=body), body


@pytest.mark.parametrize(("bend", "reason"), [
    ({"origin": "https://evil.example"}, "ceremony"),
    ({"origin": "http://shop.example.com"}, "ceremony"),
    ({"rp_id": "example.com"}, "ceremony"),
    ({"challenge": b64url(b"\x01" * 32)}, "ceremony"),
    ({"uv": False}, "user-verification"),
])
async def test_a_bent_attestation_is_refused_and_audited(client: httpx.AsyncClient, ann: Shopper, core: Core,
                                                         bend: dict[str, Any], reason: str) -> None:
    r, _ = await _answer(client, ann, **bend)
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "credential")
    refused = [row for row in await audit_rows(core) if row["event"] == "passkey.refused"]
    assert [row["detail"] for row in refused] == [{"reason": reason, "stage": "registration"}]
    assert refused[0]["account_id"] == ann.account_id
    assert ok(await client.get(passkeys_path(ann.account_id), headers=ann.headers))["totalCount"] == 0


async def test_a_challenge_works_once_and_expires(client: httpx.AsyncClient, ann: Shopper, clock: ManualClock) -> None:
    r, body = await _answer(client, ann)
    ok(r)
    again = await client.post(passkeys_path(ann.account_id), headers=ann.headers, json=body)
    assert "ask for new options" in assert_error(again, 400, "MISSING_OR_INVALID_PARAMETER", "credential")["message"]
    options = ok(await registration_options(client, ann))
    credential = Authenticator(ORIGIN).create(options["options"])
    clock.advance(timedelta(seconds=301))
    late = await client.post(passkeys_path(ann.account_id), headers=ann.headers,
                             json={"challengeId": options["challengeId"], "credential": credential})
    assert_error(late, 400, "MISSING_OR_INVALID_PARAMETER", "credential")
    for junk in ({"challengeId": "nope", "credential": credential}, {"credential": credential},
                 {"challengeId": options["challengeId"], "credential": "text"},
                 {"challengeId": options["challengeId"], "credential": {"id": 1}}):
        assert_error(await client.post(passkeys_path(ann.account_id), headers=ann.headers, json=junk), 400)


async def test_several_passkeys_per_account(client: httpx.AsyncClient, ann: Shopper, core: Core) -> None:
    laptop, phone = Authenticator(ORIGIN), Authenticator(ORIGIN)
    first = ok(await add_passkey(client, ann, laptop))
    # the next options exclude the passkeys the account has: the same authenticator is not added twice
    options = ok(await registration_options(client, ann))["options"]
    assert options["excludeCredentials"] == [{"id": first["credentialId"], "type": "public-key"}]
    with pytest.raises(RuntimeError, match="InvalidStateError"):
        laptop.create(options)
    second = ok(await add_passkey(client, ann, phone))
    third = ok(await add_passkey(client, ann, Authenticator(ORIGIN), name="Passkey"))
    assert [first["name"], second["name"], third["name"]] == ["Passkey", "Passkey 2", "Passkey"]
    listed = ok(await client.get(passkeys_path(ann.account_id), headers=ann.headers))
    assert listed["totalCount"] == 3 and [p["id"] for p in listed["items"]] == [first["id"], second["id"], third["id"]]
    assert listed["startIndex"] == 0 and listed["pageCount"] == 1


async def test_a_registered_credential_cannot_be_registered_again(client: httpx.AsyncClient, ann: Shopper,
                                                                  core: Core, app_headers: dict[str, str]) -> None:
    """Not by its owner, and not by another account of the customer set claiming its credential id."""
    auth = Authenticator(ORIGIN)
    ok(await add_passkey(client, ann, auth))
    held = auth.credentials[0]
    options = ok(await registration_options(client, ann))
    body = {"challengeId": options["challengeId"], "credential": auth.create(options["options"], reuse=held)}
    assert_error(await client.post(passkeys_path(ann.account_id), headers=ann.headers, json=body), 409,
                 "VALIDATION_CONFLICT")
    bob = await fresh_shopper(client, app_headers, "bob@example.com")
    options = ok(await registration_options(client, bob))
    # bob's own key under ann's credential id (an authenticator of his making can claim any id)
    claimed = Credential(held.credential_id, ec.generate_private_key(ec.SECP256R1()), RP_ID,
                         unb64url(options["options"]["user"]["id"]))
    mine = Authenticator(ORIGIN).create(options["options"], reuse=claimed)
    r = await client.post(passkeys_path(bob.account_id), headers=bob.headers,
                          json={"challengeId": options["challengeId"], "credential": mine})
    assert_error(r, 409, "VALIDATION_CONFLICT")
    # nor by naming it in the JSON over the credential the attestation made
    options = ok(await registration_options(client, bob))
    mine = Authenticator(ORIGIN).create(options["options"])
    mine["id"] = mine["rawId"] = b64url(held.credential_id)
    r = await client.post(passkeys_path(bob.account_id), headers=bob.headers,
                          json={"challengeId": options["challengeId"], "credential": mine})
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "credential")
    assert ok(await client.get(passkeys_path(bob.account_id), headers=bob.headers))["totalCount"] == 0


async def test_rename_and_remove_by_the_shopper_and_an_administrator(
        client: httpx.AsyncClient, ann: Shopper, core: Core, admin: dict[str, str], app_headers: dict[str, str],
        csr: dict[str, str]) -> None:
    one = ok(await add_passkey(client, ann, Authenticator(ORIGIN)))
    two = ok(await add_passkey(client, ann, Authenticator(ORIGIN)))
    renamed = ok(await client.put(passkeys_path(ann.account_id, one["id"]), headers=ann.headers, json={"name": "Work"}))
    assert renamed["name"] == "Work" and renamed["id"] == one["id"]
    by_admin = ok(await client.put(passkeys_path(ann.account_id, two["id"]), headers=admin, json={"Name": "Key"}))
    assert by_admin["name"] == "Key"
    for bad in ({"name": ""}, {}, {"name": "x" * 101}, {"name": "a\u0007b"}):
        assert_error(await client.put(passkeys_path(ann.account_id, one["id"]), headers=ann.headers, json=bad),
                     400, "MISSING_OR_INVALID_PARAMETER", "name")
    listed = ok(await client.get(passkeys_path(ann.account_id), headers=admin))
    assert [p["name"] for p in listed["items"]] == ["Work", "Key"]
    # someone else: the storefront alone, another shopper, an impersonation (removal)
    bob = await fresh_shopper(client, app_headers, "bob@example.com")
    for hdrs in (app_headers, bob.headers):
        assert_error(await client.get(passkeys_path(ann.account_id), headers=hdrs), 403, "FORBIDDEN")
        assert_error(await client.delete(passkeys_path(ann.account_id, one["id"]), headers=hdrs), 403, "FORBIDDEN")
        assert_error(await client.put(passkeys_path(ann.account_id, one["id"]), headers=hdrs, json={"name": "x"}),
                     403, "FORBIDDEN")
    acting = ok(await client.post("/api/commerce/customer/authtickets/impersonatecart", headers=csr,
                                  json={"accountId": ann.account_id, "userId": ann.user_id}))
    r = await client.delete(passkeys_path(ann.account_id, one["id"]),
                            headers={**csr, "x-vol-user-claims": acting["accessToken"]})
    assert_error(r, 403, "FORBIDDEN")
    # a passkey of another account, or none, is not found
    assert_error(await client.delete(passkeys_path(bob.account_id, one["id"]), headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.delete(passkeys_path(ann.account_id, 999999), headers=ann.headers), 404)
    r = await client.delete(passkeys_path(ann.account_id, one["id"]), headers=ann.headers)
    assert r.status_code == 204 and r.content == b""
    r = await client.delete(passkeys_path(ann.account_id, two["id"]), headers=admin)
    assert r.status_code == 204
    assert_error(await client.delete(passkeys_path(ann.account_id, two["id"]), headers=admin), 404, "ITEM_NOT_FOUND")
    assert ok(await client.get(passkeys_path(ann.account_id), headers=ann.headers))["items"] == []
    # the trail and the events
    trail = [(row["event"], row["detail"]) for row in await audit_rows(core)]
    assert trail == [
        ("passkey.registered", {"passkeyId": one["id"], "aaguid": one["aaguid"], "backupEligible": False}),
        ("passkey.registered", {"passkeyId": two["id"], "aaguid": two["aaguid"], "backupEligible": False}),
        ("passkey.renamed", {"passkeyId": one["id"]}),
        ("passkey.renamed", {"passkeyId": two["id"]}),
        ("passkey.removed", {"passkeyId": one["id"], "by": "shopper"}),
        ("passkey.removed", {"passkeyId": two["id"], "by": "admin"}),
    ]
    events = [(e["topic"], e["entity_id"], e["extended_properties"]) for e in await event_rows(core)]
    assert events == [
        ("customeraccount.passkeyadded", str(ann.account_id), {"passkeyId": one["id"]}),
        ("customeraccount.passkeyadded", str(ann.account_id), {"passkeyId": two["id"]}),
        ("customeraccount.passkeyremoved", str(ann.account_id), {"passkeyId": one["id"]}),
        ("customeraccount.passkeyremoved", str(ann.account_id), {"passkeyId": two["id"]}),
    ]


async def test_a_site_without_passkeys_says_so(client: httpx.AsyncClient, core: Core,
                                               app_headers: dict[str, str]) -> None:
    ann = await fresh_shopper(client, app_headers, "ann@example.com")
    body = assert_error(await registration_options(client, ann), 409, "VALIDATION_CONFLICT")
    assert "passkeys are not enabled" in body["message"]
    assert_error(await client.post(passkeys_path(ann.account_id), headers=ann.headers,
                                   json={"challengeId": "x", "credential": {}}), 409, "VALIDATION_CONFLICT")
    # listing still works (an account keeps its passkeys when a site turns them off)
    assert ok(await client.get(passkeys_path(ann.account_id), headers=ann.headers))["totalCount"] == 0
