"""Shopper passkeys in real Chromium: the storefront's test page (page/) calls navigator.credentials.create
and .get with PublicKeyCredential.parse*OptionsFromJSON and posts credential.toJSON() to its server, which
forwards to a live Ticketbooth with its app credential (storefront.py). A DevTools virtual authenticator
is each device's passkey store (support.py).

What it shows: a shopper signed in with a password registers a passkey; signs in with it without typing
a name (discoverable credential), for a given email (another shopper's email refused), and through the
autofill form (conditional mediation; and that request left pending until the shopper acts), each time
getting a CustomerAuthTicket that works (carrying the anonymous visit before it); a cloned authenticator
(the credential exported and replayed with an older sign counter) is refused and audited; a phishing copy
of the site at another origin, or the key used for another relying party id, is refused; one account
holds two passkeys from two devices, either signs in, and a removed one no longer does; a passkey signs in
while failed passwords lock the account (lifting the lock) and meets a site's "always" 2FA rule; and the
storefront making the same calls over GraphQL.

Chromium's virtual authenticator answers a conditional (autofill) request by itself when its automatic
presence simulation is on: no autofill list is shown or chosen from. With it off, the request stays
pending (focusing the field does not complete it; turning the simulation on later does not either).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import PASSWORD
from tests.live_support import new_address

from .conftest import Stack
from .storefront import PhishingProxy, Storefront
from .support import (
    Device,
    as_admin,
    b64url,
    current_account,
    events_of,
    jwt_claims,
    new_email,
    no_secret_in_page,
    password_login,
    refusal_reasons,
    register_account,
    sign_in_options,
)

DeviceFactory = Callable[[], Device]
PASSKEY_AMR = ["hwk", "user", "mfa"]


def enrolled(stack: Stack, device: Device, label: str, name: str = "Laptop") -> tuple[str, int, str]:
    """A new shopper signed in with a password on `device`, who added a passkey named `name` there, then
    signed out: (email, account id, the passkey's credential id, base64url)."""
    email = new_email(label)
    account_id = register_account(stack.storefront, email)
    device.open(stack.storefront.origin)
    signed_in = device.password_sign_in(email)
    assert signed_in["ok"] and signed_in["account"] == {"accountId": account_id, "emailAddress": email}, signed_in
    added = device.add_passkey(name)
    assert added["ok"], added
    assert added["passkey"]["credentialId"] == added["credentialId"]
    signed_out = device.act("signout")
    assert signed_out == {"action": "signout", "ok": True, "me": None}
    return email, account_id, str(added["credentialId"])


def signed_in_as(stack: Stack, device: Device, outcome: dict[str, Any], email: str, account_id: int,
                 storefront: Storefront | None = None) -> dict[str, Any]:
    """The page's outcome is a sign-in of `account_id`, its storefront session holds a ticket that works for
    that account (GET accounts/current), the page shows who signed in and never saw a token. The ticket."""
    sf = storefront or stack.storefront
    assert outcome["ok"], str(outcome)
    assert outcome["account"] == {"accountId": account_id, "emailAddress": email}
    assert outcome["me"] == {"id": account_id, "emailAddress": email}
    ticket = sf.ticket(device.session_id(sf.cookie))
    assert ticket["customerAccount"]["id"] == account_id and ticket.get("requires2FA", False) is False
    r = current_account(sf, ticket)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == account_id and r.json()["emailAddress"] == email
    no_secret_in_page(device, ticket, sf)
    assert device.page.text_content("#status") == f"Signed in as {email}"
    return ticket


def refused(outcome: dict[str, Any]) -> None:
    """The browser made an assertion, and Ticketbooth refused it as it refuses a wrong password."""
    assert outcome["ok"] is False and outcome["status"] == 401, outcome
    assert outcome["errorCode"] == "INVALID_CREDENTIALS", outcome


def test_register_then_sign_in_without_a_name(stack: Stack, device: DeviceFactory) -> None:
    laptop = device()
    email, account_id, credential_id = enrolled(stack, laptop, "usernameless")
    sf = stack.storefront

    # What the registration asked of the authenticator: a discoverable credential, user verification, this rp.
    [options_call] = [c for c in sf.calls("/passkeys/registrationoptions") if c.session == laptop.session_id()]
    creation = options_call.answer["options"]
    assert creation["rp"]["id"] == "localhost"
    assert creation["authenticatorSelection"]["residentKey"] == "required"
    assert creation["authenticatorSelection"]["userVerification"] == "required"
    [stored] = laptop.credentials()
    assert b64url(stored["credentialId"]) == credential_id
    assert stored["rpId"] == "localhost" and stored["isResidentCredential"] is True

    # Signed out: the storefront's session has no ticket.
    assert laptop.act("passkey-list")["status"] == 401

    # Sign in with no name typed: the options name no credential (the authenticator offers what it holds).
    outcome = laptop.act("passkey-signin")
    assert outcome["mediation"] == "optional" and outcome["credentialId"] == credential_id
    ticket = signed_in_as(stack, laptop, outcome, email, account_id)
    options_call = [c for c in sf.calls("/authtickets/passkeys/options") if c.session == laptop.session_id()][-1]
    assert options_call.body == {} and options_call.status == 200
    request = options_call.answer["options"]
    assert request.get("allowCredentials", []) == []
    assert request["rpId"] == "localhost" and request["userVerification"] == "required"
    claims = jwt_claims(ticket)
    assert claims["amr"] == PASSKEY_AMR
    anonymous = sf.sessions[laptop.session_id()].anonymous  # the visit before the sign-in (cart carry-over)
    assert anonymous is not None and claims["prev_sub"] == jwt_claims(anonymous)["sub"] != claims["sub"]

    # The shopper's list of passkeys (through the page) holds it, under its name.
    listed = laptop.act("passkey-list")
    assert listed["ok"], listed
    [passkey] = listed["passkeys"]
    assert passkey["name"] == "Laptop" and passkey["credentialId"] == credential_id
    assert passkey["lastUsedOn"] is not None and passkey["backupEligible"] is False
    assert laptop.page.locator("#passkeys li span").all_inner_texts() == ["Laptop"]

    # The authenticator's counter moved on with the use; the audit trail has the registration and the use.
    assert laptop.credentials()[0]["signCount"] > stored["signCount"]
    events = events_of(sf, account_id)
    assert "passkey.registered" in events
    assert events.index("passkey.used") > events.index("passkey.registered")


def test_sign_in_for_a_given_email(stack: Stack, device: DeviceFactory) -> None:
    laptop = device()
    email, account_id, credential_id = enrolled(stack, laptop, "named")
    laptop.page.fill("#username", email)
    outcome = laptop.act("passkey-signin-username")
    assert outcome["credentialId"] == credential_id
    signed_in_as(stack, laptop, outcome, email, account_id)
    options_call = [c for c in stack.storefront.calls("/authtickets/passkeys/options")
                    if c.session == laptop.session_id()][-1]
    assert options_call.body == {"username": email}
    # Ticketbooth names no credential even for a known email (every passkey is discoverable): the options
    # of an email nobody has look the same, so they tell nobody who has an account.
    assert options_call.answer["options"].get("allowCredentials", []) == []
    known = sign_in_options(stack.storefront, email)
    unknown = sign_in_options(stack.storefront, new_email("nobody"))
    assert set(unknown) == set(known) and unknown["options"].keys() == known["options"].keys()
    assert {k: v for k, v in unknown["options"].items() if k != "challenge"} == {
        k: v for k, v in known["options"].items() if k != "challenge"}
    assert laptop.act("signout")["ok"]

    # The sign-in is for that email's account only: another shopper's email typed on this device, whose
    # authenticator answers with this account's passkey, is refused.
    other_email = new_email("namedother")
    other_id = register_account(stack.storefront, other_email)
    laptop.page.fill("#username", other_email)
    outcome = laptop.act("passkey-signin-username")
    assert outcome["credentialId"] == credential_id
    refused(outcome)
    assert refusal_reasons(stack.database_url, account_id) == ["other-user"]
    assert refusal_reasons(stack.database_url, other_id) == []


def test_autofill_conditional_mediation(stack: Stack, device: DeviceFactory) -> None:
    """The sign-in page loaded with ?autofill starts a conditional request at once (mediation "conditional",
    the email field has autocomplete="username webauthn"). Chromium's virtual authenticator environment
    answers it without any autofill choice being made (automatic presence simulation): no click, no typing."""
    laptop = device()
    email, account_id, credential_id = enrolled(stack, laptop, "autofill")
    assert laptop.page.get_attribute("#username", "autocomplete") == "username webauthn"
    laptop.open(stack.storefront.origin, "?autofill")
    outcome = laptop.wait_outcome(1)
    assert outcome["action"] == "autofill" and outcome["mediation"] == "conditional", outcome
    assert outcome["credentialId"] == credential_id
    signed_in_as(stack, laptop, outcome, email, account_id)
    options_call = [c for c in stack.storefront.calls("/authtickets/passkeys/options")
                    if c.session == laptop.session_id()][-1]
    assert options_call.body == {} and options_call.answer["options"].get("allowCredentials", []) == []
    assert laptop.page.evaluate("PublicKeyCredential.isConditionalMediationAvailable()") is True


def test_passkey_signs_in_while_the_password_is_locked(stack: Stack, device: DeviceFactory) -> None:
    """Ten wrong passwords (from two addresses: one alone is stopped at five) lock the account's password
    logins; the passkey still signs in, and lifts that lock, as a one-time passcode does."""
    laptop = device()
    email, account_id, _ = enrolled(stack, laptop, "locked")
    for address in (new_address(), new_address()):
        for _ in range(5):
            assert password_login(stack.storefront, email, "not the passphrase", address).status_code == 401
    assert "account.locked" in events_of(stack.storefront, account_id)
    assert as_admin(stack.storefront, f"/accounts/{account_id}")["isLocked"] is True
    # The right password is refused now (401 for the lock; 429 once the failures emptied the account's
    # login bucket, as here).
    assert password_login(stack.storefront, email, PASSWORD, new_address()).status_code in (401, 429)

    signed_in_as(stack, laptop, laptop.act("passkey-signin"), email, account_id)
    assert events_of(stack.storefront, account_id)[-2:] == ["account.unlocked", "passkey.used"]
    assert as_admin(stack.storefront, f"/accounts/{account_id}")["isLocked"] is False


def test_passkey_meets_the_sites_two_factor_rule(stack: Stack, device: DeviceFactory) -> None:
    """At a site whose two_factor is "always", a correct password gets a pending ticket (requires2FA, the
    mailed code to come); the passkey, a second factor in itself, signs in at once and meets every trigger."""
    laptop = device()
    email, account_id, credential_id = enrolled(stack, laptop, "strict")
    laptop.open(stack.strict.origin)
    pending = laptop.password_sign_in(email)
    assert pending["ok"] and pending["account"] == {"requires2FA": True} and pending["me"] is None, pending

    outcome = laptop.act("passkey-signin")
    assert outcome["credentialId"] == credential_id
    ticket = signed_in_as(stack, laptop, outcome, email, account_id, stack.strict)
    claims = jwt_claims(ticket)
    assert claims["site"] == stack.strict.site and claims["amr"] == PASSKEY_AMR
    assert set(claims["two_factor_met"]) == {"always", "new-device", "region-change"}


def test_autofill_waits_for_the_shopper(stack: Stack, device: DeviceFactory) -> None:
    """Without presence simulation the virtual authenticator answers nothing: the page's conditional request
    stays pending (as autofill does until the shopper picks a passkey), and the "Sign in with a passkey"
    button cancels it (AbortError) and signs in with the modal request."""
    laptop = device()
    email, account_id, credential_id = enrolled(stack, laptop, "pending")
    presence = {"authenticatorId": laptop.authenticator}
    laptop.cdp.send("WebAuthn.setAutomaticPresenceSimulation", {**presence, "enabled": False})
    laptop.open(stack.storefront.origin, "?autofill")
    laptop.page.wait_for_selector("body[data-autofill=pending]")  # the conditional get was called
    laptop.page.focus("#username")
    assert laptop.outcomes() == []  # pending: nothing answered, nothing sent to sign in
    session = laptop.session_id()
    assert [c.body for c in stack.storefront.calls("/authtickets/passkeys/options") if c.session == session][-1] == {}
    assert stack.storefront.calls("/authtickets/passkeys")[-1].session != session

    laptop.cdp.send("WebAuthn.setAutomaticPresenceSimulation", {**presence, "enabled": True})
    laptop.page.click("#passkey-signin")
    laptop.wait_outcome(2)
    outcomes = {o["action"]: o for o in laptop.outcomes()}
    assert outcomes["autofill"]["ok"] is False and outcomes["autofill"]["error"] == "AbortError", outcomes
    assert outcomes["passkey"]["credentialId"] == credential_id
    signed_in_as(stack, laptop, outcomes["passkey"], email, account_id)


def test_cloned_authenticator_is_refused_and_audited(stack: Stack, device: DeviceFactory) -> None:
    laptop = device()
    email, account_id, credential_id = enrolled(stack, laptop, "cloned")
    [exported] = laptop.credentials()  # the private key and the counter as they are now

    # The original signs in once more: its counter grows past the exported copy's.
    signed_in_as(stack, laptop, laptop.act("passkey-signin"), email, account_id)
    assert laptop.credentials()[0]["signCount"] > exported["signCount"]
    assert laptop.act("signout")["ok"]

    # Control: the same key with a counter ahead of everything seen is accepted (the copy itself is sound).
    ahead = device()
    ahead.add_credential({**exported, "signCount": exported["signCount"] + 50})
    ahead.open(stack.storefront.origin)
    signed_in_as(stack, ahead, ahead.act("passkey-signin"), email, account_id)

    # The clone: the exported copy, with its older counter, in another authenticator.
    clone = device()
    clone.add_credential(exported)
    clone.open(stack.storefront.origin)
    outcome = clone.act("passkey-signin")
    assert outcome["credentialId"] == credential_id
    refused(outcome)
    assert clone.page.text_content("#status") == "Signed out"
    assert stack.storefront.sessions[clone.session_id()].ticket is None
    events = events_of(stack.storefront, account_id)
    assert events.count("passkey.refused") == 1, events
    assert refusal_reasons(stack.database_url, account_id) == ["counter"]
    assert events.count("passkey.used") == 2  # the original's and the control's sign-ins, not the clone's


def test_phishing_origin_is_refused(stack: Stack, device: DeviceFactory,
                                    phishing: Callable[..., PhishingProxy]) -> None:
    """A copy of the site on another port of localhost: the same rp id, so the browser lets the passkey sign,
    but the origin in the signed client data is the copy's, which the site does not allow."""
    laptop = device()
    email, account_id, credential_id = enrolled(stack, laptop, "phished")
    proxy = phishing("localhost")
    laptop.open(proxy.origin)
    outcome = laptop.act("passkey-signin")
    assert outcome["credentialId"] == credential_id  # the authenticator did sign
    refused(outcome)
    assert stack.storefront.sessions[laptop.session_id()].ticket is None
    assert events_of(stack.storefront, account_id).count("passkey.refused") == 1
    assert refusal_reasons(stack.database_url, account_id) == ["ceremony"]

    # The same device at the real origin signs in (the refusal was the origin's).
    laptop.open(stack.storefront.origin)
    signed_in_as(stack, laptop, laptop.act("passkey-signin"), email, account_id)


def test_key_of_another_rp_id_is_refused(stack: Stack, device: DeviceFactory,
                                         phishing: Callable[..., PhishingProxy]) -> None:
    """The shopper's credential (same id, same private key) used for another relying party, evil.localhost:
    the page there may only ask for its own rp id, so the assertion's rpIdHash is evil.localhost's."""
    laptop = device()
    _, account_id, credential_id = enrolled(stack, laptop, "otherrp")
    [exported] = laptop.credentials()
    proxy = phishing("evil.localhost", rp_id="evil.localhost")
    elsewhere = device()
    elsewhere.add_credential({**exported, "rpId": "evil.localhost", "signCount": exported["signCount"] + 50})
    elsewhere.open(proxy.origin)
    outcome = elsewhere.act("passkey-signin")
    assert outcome["credentialId"] == credential_id
    refused(outcome)
    assert events_of(stack.storefront, account_id).count("passkey.refused") == 1
    assert refusal_reasons(stack.database_url, account_id) == ["ceremony"]

    # A passkey a browser made for evil.localhost itself is not one the site knows either.
    made_there = device()
    made_there.open(proxy.origin)
    created = made_there.page.evaluate("""async () => {
        const c = await navigator.credentials.create({publicKey: {
            rp: {id: "evil.localhost", name: "evil"}, challenge: crypto.getRandomValues(new Uint8Array(32)),
            user: {id: crypto.getRandomValues(new Uint8Array(16)), name: "x", displayName: "x"},
            pubKeyCredParams: [{type: "public-key", alg: -7}],
            authenticatorSelection: {residentKey: "required", userVerification: "required"}}});
        return c.id; }""")
    outcome = made_there.act("passkey-signin")
    assert outcome["credentialId"] == created
    refused(outcome)


def test_two_passkeys_on_one_account(stack: Stack, device: DeviceFactory) -> None:
    laptop, phone = device(), device()
    email, account_id, laptop_id = enrolled(stack, laptop, "twokeys", "Laptop")
    phone.open(stack.storefront.origin)
    assert phone.password_sign_in(email)["ok"]
    added = phone.add_passkey("Phone")
    assert added["ok"], added
    phone_id = str(added["credentialId"])
    assert phone_id != laptop_id
    # The second registration told the browser which credential the account already has.
    [options_call] = [c for c in stack.storefront.calls("/passkeys/registrationoptions") if c.session == phone.session_id()]
    assert [c["id"] for c in options_call.answer["options"].get("excludeCredentials", [])] == [laptop_id]

    listed = phone.act("passkey-list")
    assert sorted((p["name"], p["credentialId"]) for p in listed["passkeys"]) == sorted(
        [("Laptop", laptop_id), ("Phone", phone_id)])
    assert phone.act("signout")["ok"]

    for each, credential_id in ((laptop, laptop_id), (phone, phone_id)):
        each.open(stack.storefront.origin)
        outcome = each.act("passkey-signin")
        assert outcome["credentialId"] == credential_id
        signed_in_as(stack, each, outcome, email, account_id)
    # Signed in for the email, the phone's passkey answers as well.
    assert phone.act("signout")["ok"]
    phone.page.fill("#username", email)
    outcome = phone.act("passkey-signin-username")
    assert outcome["credentialId"] == phone_id
    signed_in_as(stack, phone, outcome, email, account_id)

    # The shopper removes the laptop's passkey on the phone: the laptop, which still holds it, is refused.
    assert phone.act("passkey-list")["ok"]
    count = len(phone.outcomes())
    phone.page.get_by_role("button", name="Remove Laptop").click()
    assert phone.wait_outcome(count + 1)["ok"]
    assert [p["name"] for p in phone.act("passkey-list")["passkeys"]] == ["Phone"]
    assert laptop.act("signout")["ok"]
    outcome = laptop.act("passkey-signin")
    assert outcome["credentialId"] == laptop_id
    refused(outcome)
    events = events_of(stack.storefront, account_id)
    assert events.count("passkey.registered") == 2 and events.count("passkey.removed") == 1


def test_storefront_over_graphql(stack: Stack, device: DeviceFactory) -> None:
    """The same page, its storefront making the passkey calls as GraphQL operations (the twins), as Kibo's
    storefront makes its calls: register, list, sign in without a name, a clone refused, remove."""
    sf = stack.storefront
    laptop = device()
    email = new_email("graphql")
    account_id = register_account(sf, email)
    laptop.open(sf.origin)
    sf.sessions[laptop.session_id()].graphql = True
    assert laptop.password_sign_in(email)["ok"]
    added = laptop.add_passkey("Laptop")
    assert added["ok"], added
    credential_id = added["credentialId"]
    assert added["passkey"]["credentialId"] == credential_id and added["passkey"]["name"] == "Laptop"
    [exported] = laptop.credentials()
    assert laptop.act("signout")["ok"]

    outcome = laptop.act("passkey-signin")
    ticket = signed_in_as(stack, laptop, outcome, email, account_id)
    assert jwt_claims(ticket)["amr"] == PASSKEY_AMR

    clone = device()
    clone.add_credential(exported)  # the counter of before the sign-in
    clone.open(sf.origin)
    sf.sessions[clone.session_id()].graphql = True
    outcome = clone.act("passkey-signin")
    assert outcome["credentialId"] == credential_id
    refused(outcome)
    assert refusal_reasons(stack.database_url, account_id) == ["counter"]

    [passkey] = laptop.act("passkey-list")["passkeys"]
    assert passkey["credentialId"] == credential_id and passkey["lastUsedOn"] is not None
    count = len(laptop.outcomes())
    laptop.page.get_by_role("button", name="Remove Laptop").click()
    assert laptop.wait_outcome(count + 1) == {"action": "remove", "ok": True, "removed": passkey["id"]}
    assert laptop.act("passkey-list")["passkeys"] == []

    # Every passkey call of these sessions went over GraphQL.
    sessions = {laptop.session_id(), clone.session_id()}
    paths = {f.path for f in sf.forwarded if f.session in sessions and (
        "passkey" in f.path.lower() or f.path.startswith("/graphql"))}
    assert paths == {f"/graphql#{op}" for op in ("registrationoptions", "register", "options", "signin", "list",
                                                  "remove")}, paths
