"""Staff passkeys through the console's pages, without a browser (both databases): a real software
authenticator (tests/passkeys/authenticator.py: EC keys, CBOR, signatures py_webauthn verifies unmodified)
answers the options the pages hold, as static/passkeys.js hands a browser's answer back.

Adding one needs a recent re-authentication; a passkey sign-in is a complete sign-in; the attacks: a
phishing origin, no user verification, a replayed answer, a cloned authenticator's counter, a credential
of nobody, another staff member's challenge, a locked or disabled staff member, another's passkey.
"""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.console.conftest import StaffFactory
from tests.console.ops_support import audit_rows, reauthenticate, stale
from tests.console.support import ConsoleClient, StaffMember, fresh_client
from tests.passkeys.authenticator import Authenticator, b64url
from ticketbooth.config import Settings, clean_console_origin
from ticketbooth.core import Core
from ticketbooth.infra.clock import ManualClock
from ticketbooth.staff import commands as staff_commands
from ticketbooth.staff import service as staff_service

ORIGIN = "https://console.example.test"
RP_ID = "console.example.test"
_OPTIONS = re.compile(r'data-options="([^"]*)"')
_CHALLENGE = re.compile(r'name="challenge" value="([^"]*)"')


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", refresh_grace_seconds=10,
                    console_origin=ORIGIN)


def ceremony_of(page: str) -> tuple[str, dict[str, Any]]:
    """The challenge id and the options of a ceremony page."""
    options, challenge = _OPTIONS.search(page), _CHALLENGE.search(page)
    assert options and challenge, page[:800]
    return challenge.group(1), json.loads(html.unescape(options.group(1)))


async def start_registration(member: StaffMember, name: str = "") -> tuple[str, dict[str, Any]]:
    r = await member.console.submit("/console/account/passkeys", "/console/account/passkeys/new", {"name": name})
    assert r.status_code == 200, r.text[:800]
    return ceremony_of(r.text)


async def add_passkey(member: StaffMember, key: Authenticator, name: str = "Laptop") -> httpx.Response:
    challenge, options = await start_registration(member, name)
    return await member.console.submit("/console/account/passkeys", "/console/account/passkeys", {
        "challenge": challenge, "credential": json.dumps(key.create(options)), "name": name})


async def start_sign_in(console: ConsoleClient) -> tuple[str, dict[str, Any]]:
    r = await console.submit("/console/sign-in", "/console/sign-in/passkey", {})
    assert r.status_code == 200, r.text[:800]
    return ceremony_of(r.text)


async def passkey_sign_in(console: ConsoleClient, key: Authenticator, **bend: Any) -> httpx.Response:
    challenge, options = await start_sign_in(console)
    return await console.submit("/console/sign-in", "/console/sign-in/passkey/verify", {
        "challenge": challenge, "credential": json.dumps(key.get(options, **bend))})


def details(rows: list[Any]) -> list[dict[str, Any]]:
    return [dict(r.detail or {}) for r in rows]


async def test_adding_a_passkey_needs_a_recent_reauthentication_then_signs_in_alone(
        core: Core, client: httpx.AsyncClient, clock: ManualClock, console_staff: StaffFactory) -> None:
    member = await console_staff("viewer")  # any role manages its own passkeys
    page = await member.console.get("/console/account/passkeys")
    assert page.status_code == 200 and "You have no passkey yet" in page.text
    stale(clock, core)
    r = await member.console.submit("/console/account/passkeys", "/console/account/passkeys/new", {"name": "x"})
    assert r.status_code == 303 and r.headers["location"].startswith("/console/reauth?next=")
    await reauthenticate(member, clock, "/console/account/passkeys")

    challenge, options = await start_registration(member, "Work laptop")
    assert options["rp"] == {"id": RP_ID, "name": "Ticketbooth console"}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert member.email not in options["user"]["id"]
    key = Authenticator(ORIGIN)
    credential = key.create(options)
    r = await member.console.submit("/console/account/passkeys", "/console/account/passkeys", {
        "challenge": challenge, "credential": json.dumps(credential), "name": "Work laptop"})
    assert r.status_code == 303 and r.headers["location"] == "/console/account/passkeys?done=added"
    page = await member.console.get(r.headers["location"])
    assert "Work laptop" in page.text and "The passkey is added" in page.text
    registered = details(await audit_rows(core, "staff.passkey.registered"))
    assert registered == [{"staff": member.email, "passkey": registered[0]["passkey"], "name": "Work laptop",
                           "backedUp": False}]
    # the same challenge once more: used up
    r = await member.console.submit("/console/account/passkeys", "/console/account/passkeys", {
        "challenge": challenge, "credential": json.dumps(Authenticator(ORIGIN).create(options)), "name": "again"})
    assert r.status_code == 400 and "expired or was used" in r.text

    # a new browser signs in with the passkey alone: a complete, recently authenticated sign-in
    browser = fresh_client(client)
    r = await passkey_sign_in(browser, key)
    assert r.status_code == 303 and r.headers["location"] == "/console", details(
        await audit_rows(core, "staff.sign-in-failed"))
    home = await browser.get("/console")
    assert home.status_code == 200 and f"Welcome, {member.email}" in home.text
    r = await browser.submit("/console/account/passkeys", "/console/account/passkeys/new", {})
    assert r.status_code == 200  # no re-authentication asked: the passkey proved it just now
    used = details(await audit_rows(core, "staff.passkey.used"))
    assert used == [{"staff": member.email, "passkey": registered[0]["passkey"], "name": "Work laptop"}]
    signed = details(await audit_rows(core, "staff.signed-in"))
    assert signed[-1]["method"] == "passkey"
    for row in await audit_rows(core, "staff.passkey.registered") + await audit_rows(core, "staff.passkey.used"):
        text = json.dumps(row.detail)
        assert credential["id"] not in text and options["challenge"] not in text
    await browser.http.aclose()


async def test_the_answers_of_an_attacker_are_refused(core: Core, client: httpx.AsyncClient, clock: ManualClock,
                                                      console_staff: StaffFactory) -> None:
    member = await console_staff("admin")
    key = Authenticator(ORIGIN)
    assert (await add_passkey(member, key)).status_code == 303
    browser = fresh_client(client)

    # a look-alike site relays the console's challenge: the browser names the phishing origin
    r = await passkey_sign_in(browser, key, origin="https://console-example.test")
    assert r.status_code == 401 and "did not sign you in" in r.text
    # no user verification (a passkey stands for password and code only with it)
    r = await passkey_sign_in(browser, key, uv=False)
    assert r.status_code == 401
    # an answer replayed: its challenge is used up
    challenge, options = await start_sign_in(browser)
    answer = json.dumps(key.get(options))
    fields = {"challenge": challenge, "credential": answer}
    assert (await browser.submit("/console/sign-in", "/console/sign-in/passkey/verify", fields)).status_code == 303
    other = fresh_client(client)
    assert (await other.submit("/console/sign-in", "/console/sign-in/passkey/verify", fields)).status_code == 401
    # a cloned authenticator: its counter is behind the one stored
    r = await passkey_sign_in(other, key, sign_count=1)
    assert r.status_code == 401
    refused = details(await audit_rows(core, "staff.passkey.refused"))
    assert [d["reason"] for d in refused] == ["ceremony", "user-verification", "counter"]
    # a credential nobody registered answers the same
    stranger = Authenticator(ORIGIN)
    challenge, options = await start_sign_in(other)
    stranger.create({**options, "rp": {"id": RP_ID, "name": "x"}, "user": {"id": "AAAA", "name": "x"},
                     "challenge": options["challenge"]})
    r = await other.submit("/console/sign-in", "/console/sign-in/passkey/verify", {
        "challenge": challenge, "credential": json.dumps(stranger.get(options))})
    assert r.status_code == 401 and "did not sign you in" in r.text
    # a garbled answer
    challenge, _ = await start_sign_in(other)
    r = await other.submit("/console/sign-in", "/console/sign-in/passkey/verify", {
        "challenge": challenge, "credential": "{not json"})
    assert r.status_code == 401
    failures = [d["reason"] for d in details(await audit_rows(core, "staff.sign-in-failed"))]
    assert sorted(failures) == ["bad-passkey", "bad-passkey", "challenge", "passkey-counter", "unknown", "unknown"]
    found = await staff_service.find(core, member.email)
    assert found.failed_count == 1  # the clone's answer counts towards the lock (the sign-in before reset it)
    await browser.http.aclose()
    await other.http.aclose()


async def test_a_registration_challenge_is_its_staff_members_and_needs_user_verification(
        core: Core, client: httpx.AsyncClient, console_staff: StaffFactory) -> None:
    ann, bob = await console_staff("support"), await console_staff("support")
    challenge, options = await start_registration(ann)
    key = Authenticator(ORIGIN)
    r = await bob.console.submit("/console/account/passkeys", "/console/account/passkeys", {
        "challenge": challenge, "credential": json.dumps(key.create(options))})
    assert r.status_code == 400  # Ann's challenge is not Bob's
    challenge, options = await start_registration(ann)
    r = await ann.console.submit("/console/account/passkeys", "/console/account/passkeys", {
        "challenge": challenge, "credential": json.dumps(key.create(options, uv=False))})
    assert r.status_code == 400 and "could not be verified" in r.text
    challenge, options = await start_registration(ann)
    r = await ann.console.submit("/console/account/passkeys", "/console/account/passkeys", {
        "challenge": challenge, "credential": json.dumps(key.create(options, origin="https://evil.example"))})
    assert r.status_code == 400
    assert await audit_rows(core, "staff.passkey.registered") == []
    assert (await ann.console.get("/console/account/passkeys")).text.count("Remove<") == 0


async def test_a_locked_or_disabled_staff_member_cannot_sign_in_with_a_passkey(
        core: Core, client: httpx.AsyncClient, clock: ManualClock, console_staff: StaffFactory) -> None:
    admin, member = await console_staff("admin"), await console_staff("support")
    key = Authenticator(ORIGIN)
    assert (await add_passkey(member, key)).status_code == 303
    browser = fresh_client(client)
    await staff_service.set_enabled(core, member.email, False)
    r = await passkey_sign_in(browser, key)
    assert r.status_code == 401 and "did not sign you in" in r.text
    await staff_service.set_enabled(core, member.email, True)
    # locked by failed sign-ins (from many addresses: one address alone is stopped before the lock)
    found = await staff_service.find(core, member.email)
    assert await core.store.record_staff_failure(found.id, clock.now(), 1, clock.now() + timedelta(minutes=30))
    assert (await staff_service.find(core, member.email)).locked(clock.now())
    r = await passkey_sign_in(fresh_client(client), key)
    assert r.status_code == 401
    reasons = [d["reason"] for d in details(await audit_rows(core, "staff.sign-in-failed")) if d.get("step") == "passkey"]
    assert reasons == ["disabled", "locked"]
    assert admin.email  # the admin exists: the console has someone to unlock


async def test_own_passkeys_are_renamed_and_removed_and_an_admin_removes_anothers(
        core: Core, client: httpx.AsyncClient, console_staff: StaffFactory) -> None:
    admin, member, viewer = await console_staff("admin"), await console_staff("support"), await console_staff("viewer")
    key = Authenticator(ORIGIN)
    assert (await add_passkey(member, key, "Phone")).status_code == 303
    page = (await member.console.get("/console/account/passkeys")).text
    passkey_id = re.search(r'/console/account/passkeys/(\d+)/rename', page)
    assert passkey_id
    pid = passkey_id.group(1)
    r = await member.console.submit("/console/account/passkeys", f"/console/account/passkeys/{pid}/rename",
                                    {"name": "  Old\x07 phone  "})
    assert r.status_code == 303 and "Old phone" in (await member.console.get("/console/account/passkeys")).text
    # another staff member's passkey is no one else's to rename or remove
    r = await viewer.console.submit("/console/account/passkeys", f"/console/account/passkeys/{pid}/remove", {})
    assert r.status_code == 404
    r = await viewer.console.submit("/console/account/passkeys", f"/console/account/passkeys/{pid}/rename",
                                    {"name": "mine"})
    assert r.status_code == 404
    r = await viewer.console.submit("/console/account/passkeys", "/console/account/passkeys/%C2%B2/remove", {})
    assert r.status_code == 404
    # only an admin removes another's passkeys (the staff page)
    staff_id = (await staff_service.find(core, member.email)).id
    for who in (viewer, member):
        r = await who.console.submit("/console", f"/console/staff/{staff_id}/remove-passkeys", {})
        assert r.status_code == 403
    staff_page = await admin.console.get("/console/staff")
    assert "Remove passkeys" in staff_page.text
    r = await admin.console.submit("/console/staff", f"/console/staff/{staff_id}/remove-passkeys", {})
    assert r.status_code == 303
    assert (await staff_service.find(core, member.email)).passkeys == 0
    removed = details(await audit_rows(core, "staff.passkey.removed"))
    assert removed == [{"staff": member.email, "removed": 1}]
    r = await passkey_sign_in(fresh_client(client), key)
    assert r.status_code == 401
    # the member's own Remove
    assert (await add_passkey(member, Authenticator(ORIGIN), "Key")).status_code == 303
    page = (await member.console.get("/console/account/passkeys")).text
    pid = re.search(r'/console/account/passkeys/(\d+)/remove', page).group(1)  # type: ignore[union-attr]
    r = await member.console.submit("/console/account/passkeys", f"/console/account/passkeys/{pid}/remove", {})
    assert r.status_code == 303 and "You have no passkey yet" in (await member.console.get(
        "/console/account/passkeys?done=removed")).text
    actors = [row.actor for row in await audit_rows(core, "staff.passkey.removed")]
    assert actors == [f"staff:{admin.email}", f"staff:{member.email}"]


async def test_a_passkey_confirms_it_is_them_before_a_sensitive_action(
        core: Core, client: httpx.AsyncClient, clock: ManualClock, console_staff: StaffFactory) -> None:
    member, other = await console_staff("admin"), await console_staff("admin")
    key, others = Authenticator(ORIGIN), Authenticator(ORIGIN)
    assert (await add_passkey(member, key)).status_code == 303
    assert (await add_passkey(other, others)).status_code == 303
    stale(clock, core)
    page = await member.console.get("/console/reauth?next=/console/staff")
    assert "Confirm with a passkey" in page.text
    reauth = "/console/reauth?next=/console/staff"

    async def confirm(authenticator: Authenticator) -> httpx.Response:
        r = await member.console.submit(reauth, "/console/reauth/passkey", {"next": "/console/staff"})
        assert r.status_code == 200, r.text[:500]
        challenge, options = ceremony_of(r.text)
        assert [c["id"] for c in options["allowCredentials"]] == [b64url(key.credentials[0].credential_id)]
        return await member.console.submit(reauth, "/console/reauth/passkey/verify", {
            "challenge": challenge, "next": "/console/staff",
            "credential": json.dumps(authenticator.get(options, credential=authenticator.credentials[0]))})

    # another staff member's passkey does not confirm it is this one
    r = await confirm(others)
    assert r.status_code == 401 and "did not confirm it is you" in r.text
    r = await member.console.submit("/console/staff", "/console/staff", {"email": "new@staff.example.test",
                                                                       "role": "viewer"})
    assert r.status_code == 303 and r.headers["location"].startswith("/console/reauth")  # still stale
    r = await confirm(key)
    assert r.status_code == 303 and r.headers["location"] == "/console/staff"
    r = await member.console.submit("/console/staff", "/console/staff", {"email": "new@staff.example.test",
                                                                       "role": "viewer"})
    assert r.status_code == 200 and "Staff member added" in r.text
    reauthenticated = details(await audit_rows(core, "staff.reauthenticated"))
    assert reauthenticated[-1]["method"] == "passkey" and reauthenticated[-1]["staff"] == member.email


async def test_reset_2fa_removes_the_passkeys_too(core: Core, client: httpx.AsyncClient,
                                                   console_staff: StaffFactory) -> None:
    member = await console_staff("support")
    key = Authenticator(ORIGIN)
    assert (await add_passkey(member, key)).status_code == 303
    assert (await staff_service.find(core, member.email)).passkeys == 1
    await staff_service.reset_second_factor(core, member.email)
    assert (await staff_service.find(core, member.email)).passkeys == 0
    assert (await passkey_sign_in(fresh_client(client), key)).status_code == 401
    reset = details(await audit_rows(core, "staff.second-factor-reset"))
    assert reset[-1]["passkeysRemoved"] == 1


async def test_without_a_console_origin_staff_passkeys_are_off(core: Core, client: httpx.AsyncClient,
                                                               console_staff: StaffFactory) -> None:
    core.settings.console_origin = ""
    member = await console_staff("admin")
    page = await member.console.get("/console/account/passkeys")
    assert "Staff passkeys are off" in page.text and "TICKETBOOTH_CONSOLE_ORIGIN" in page.text
    assert "/console/account/passkeys/new" not in page.text
    r = await member.console.submit("/console/account/passkeys", "/console/account/passkeys/new", {})
    assert r.status_code == 409 and "Staff passkeys are off" in r.text
    browser = fresh_client(client)
    assert "Sign in with a passkey" not in (await browser.get("/console/sign-in")).text
    r = await browser.submit("/console/sign-in", "/console/sign-in/passkey", {})
    assert r.status_code == 409 and "Staff passkeys are off" in r.text
    await browser.http.aclose()


async def test_the_passkey_forms_need_their_csrf_token(core: Core, client: httpx.AsyncClient,
                                                      console_staff: StaffFactory) -> None:
    member = await console_staff("support")
    key = Authenticator(ORIGIN)
    assert (await add_passkey(member, key)).status_code == 303
    browser = fresh_client(client)
    challenge, options = await start_sign_in(browser)
    answer = {"challenge": challenge, "credential": json.dumps(key.get(options))}
    r = await browser.post("/console/sign-in/passkey/verify", {**answer, "csrf": "forged"})
    assert r.status_code == 403 and "Nothing was changed" in r.text
    assert await audit_rows(core, "staff.passkey.used") == []
    for action in ("/console/account/passkeys/new", "/console/account/passkeys", "/console/reauth/passkey"):
        r = await member.console.post(action, {"name": "x"})
        assert r.status_code == 403, action
    assert len(await audit_rows(core, "staff.passkey.registered")) == 1
    r = await browser.submit("/console/sign-in", "/console/sign-in/passkey/verify", answer)
    assert r.status_code == 303  # the same answer with the form's token: the challenge was not spent


async def test_the_staff_commands_count_and_remove_passkeys(core: Core, console_staff: StaffFactory) -> None:
    member = await console_staff("support")
    assert (await add_passkey(member, Authenticator(ORIGIN), "One")).status_code == 303
    assert (await add_passkey(member, Authenticator(ORIGIN), "Two")).status_code == 303
    listed = await staff_commands.list_all(core, None)
    assert [m["passkeys"] for m in listed["items"] if m["email"] == member.email] == [2]
    out = await staff_commands.remove_passkeys(core, member.email)
    assert out["passkeysRemoved"] == 2 and out["passkeys"] == 0
    assert details(await audit_rows(core, "staff.passkey.removed")) == [{"staff": member.email, "removed": 2}]
    assert [r.actor for r in await audit_rows(core, "staff.passkey.removed")] == ["cli"]


def test_the_console_origin_setting_is_checked() -> None:
    assert clean_console_origin(" HTTPS://Console.Example.TEST/ ") == "https://console.example.test"
    assert clean_console_origin("http://localhost:8080") == "http://localhost:8080"
    assert clean_console_origin("") == ""
    for bad in ("http://console.example.test", "https://10.0.0.1", "https://console.example.test/console",
                "ftp://console.example.test", "console.example.test", "https://u:p@console.example.test"):
        with pytest.raises(ValueError):
            clean_console_origin(bad)
