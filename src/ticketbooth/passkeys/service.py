"""The passkey flows of shoppers: registration (options, then the browser's attestation) by a shopper
signed in a moment ago, the account's passkeys listed, renamed and removed, and sign-in with a passkey
(options, then the browser's assertion) to the usual ticket.

- Passkeys are off at a site until its `passkeys.rp_id` is set (`SiteSettings.passkeys`): every flow
  then refuses with Conflict, saying so.
- Registration needs the shopper's own ticket, not an impersonation's, from a login (password, code or
  passkey or provider) within `fresh_login_seconds`: an application's credential alone, or a ticket that has lived
  long, cannot add a way into the account.
- Sign-in: every refusal is InvalidCredentials, the answer of a wrong password, after the same checks;
  the audit trail says why (`passkey.refused`, a fixed reason). A username's options look like anyone's
  (allowCredentials is always empty: every passkey here is discoverable), so they tell nobody whether
  the name exists. A passkey signs in while the password is locked by failed logins (and lifts that
  lock, as a one-time passcode does), never into an inactive account or one an administrator locked.
  What it proved (`PASSKEY_PROOF`) meets every site's 2FA rule. A B2B user signs in to their first B2B
  account by priority, as with a one-time passcode.
- Challenges work once (the store's conditional UPDATE), at the site and for the application that
  asked for them, within `challenge_seconds`; a sign counter that does not grow is a cloned
  authenticator (refused and audited), and its update is a compare-and-set, so of two answers carrying
  one counter value only one signs in.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ticketbooth.accounts.access import account_for, is_admin, owns
from ticketbooth.audit import service as audit
from ticketbooth.audit.service import Event
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import (
    Conflict,
    Forbidden,
    InvalidCredentials,
    NotFound,
    PasskeyRefused,
    PasswordChangeRequired,
)
from ticketbooth.domain.models import Account, IssuedTicket, Shopper
from ticketbooth.domain.policies import PasskeySettings, login_key
from ticketbooth.domain.text import clean_text
from ticketbooth.infra.tokens import new_hex
from ticketbooth.login import challenges, limits, ways_in
from ticketbooth.login.rules import may_log_in_without_password
from ticketbooth.passkeys import ceremony, rules
from ticketbooth.passkeys.persistence import PasskeysPersistence
from ticketbooth.passkeys.rules import Passkey, PasskeyChallenge, RelyingParty
from ticketbooth.tickets.service import PASSKEY_PROOF

MAX_USERNAME = 320
MAX_CHALLENGE_ID = 64


def _store(core: Core) -> PasskeysPersistence:
    return core.store


def _settings(caller: Caller) -> PasskeySettings:
    settings = caller.site.settings.passkeys
    if not settings.enabled:
        raise Conflict(f"Validation Conflict: passkeys are not enabled at site {caller.site.id} (its settings name "
                       "no passkeys.rp_id)")
    return settings


def _relying_party(caller: Caller) -> RelyingParty:
    return rules.relying_party(_settings(caller), caller.site.name)


async def _new_challenge(core: Core, caller: Caller, purpose: str, options: ceremony.Options,
                         account_id: int | None) -> str:
    settings, now = caller.site.settings.passkeys, core.clock.now()
    challenge = PasskeyChallenge(
        id=new_hex(16), purpose=purpose, tenant_id=caller.tenant.id, site_id=caller.site.id,
        application_id=caller.app.id, account_id=account_id, staff_id=None, challenge=options.challenge,
        rp_id=settings.rp_id, created_at=now, expires_at=now + timedelta(seconds=settings.challenge_seconds))
    await _store(core).insert_passkey_challenge(challenge)
    return challenge.id


async def _take_challenge(core: Core, caller: Caller, challenge_id: str | None, purposes: tuple[str, ...],
                          account_id: int | None = None) -> PasskeyChallenge | None:
    text = (challenge_id or "").strip()
    if not text or len(text) > MAX_CHALLENGE_ID:
        return None
    return await _store(core).take_passkey_challenge(text, purposes, caller.tenant.id, caller.site.id,
                                                     caller.app.id, core.clock.now(), account_id=account_id)


# -- registration ---------------------------------------------------------------------------------

async def _registering_account(core: Core, caller: Caller, shopper: Shopper | None, account_id: int) -> Account:
    """The account a shopper adds a passkey to: their own, with their own ticket (not an impersonation's,
    not an application's credential alone, not a B2B user's)."""
    if shopper is None or shopper.is_anonymous:
        raise Forbidden("Forbidden: adding a passkey needs the shopper's own ticket (x-vol-user-claims), from a "
                        "recent login; an application's credential alone cannot")
    if shopper.acting_client_id:
        raise Forbidden("Forbidden: an impersonation ticket may not add a passkey")
    if shopper.user_account_id is not None:
        raise Forbidden("Forbidden: passkeys are not offered to B2B users yet")
    account = await account_for(core, caller, shopper, account_id, with_parts=False, sensitive=True)
    if not owns(shopper, account):
        raise Forbidden("Forbidden: only the account's own shopper may add a passkey to it")
    return account


async def _require_fresh_login(core: Core, caller: Caller, shopper: Shopper) -> None:
    family = await core.store.get_family(shopper.family_id) if shopper.family_id else None
    seconds = core.settings.fresh_login_seconds
    if (family is None or family.revoked_at is not None or family.user_id != shopper.user_id
            or not rules.fresh_login(family.amr, family.created_at, core.clock.now(), seconds)):
        raise Forbidden(f"Forbidden: adding a passkey needs a login (password, code, passkey or provider) within the "
                        f"last {seconds} seconds; log in again")


async def registration_options(core: Core, caller: Caller, shopper: Shopper | None,
                               account_id: int) -> tuple[str, dict[str, Any]]:
    """The challenge id and the PublicKeyCredentialCreationOptionsJSON for the shopper's browser."""
    account = await _registering_account(core, caller, shopper, account_id)
    rp = _relying_party(caller)
    assert shopper is not None
    await _require_fresh_login(core, caller, shopper)
    await limits.check(core, caller, limits.Limit.REGISTRATION)
    existing = await _store(core).passkeys_of(account.id)
    if len(existing) >= rules.MAX_PASSKEYS:
        raise Conflict(f"Validation Conflict: an account holds at most {rules.MAX_PASSKEYS} passkeys")
    name = account.username or account.email or account.user_id
    display = " ".join(p for p in (account.profile.first_name, account.profile.last_name) if p) or name
    options = ceremony.registration_options(
        rp, user_handle=rules.user_handle(account.user_id), user_name=name, display_name=display,
        exclude=[p.credential_id for p in existing if p.rp_id == rp.rp_id],
        timeout_ms=caller.site.settings.passkeys.challenge_seconds * 1000)
    challenge_id = await _new_challenge(core, caller, rules.PURPOSE_REGISTER, options, account.id)
    return challenge_id, options.options


async def register(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, challenge_id: str | None,
                   credential: Any, name: str | None) -> Passkey:
    """Check the browser's answer to `registration_options` and keep the new passkey."""
    account = await _registering_account(core, caller, shopper, account_id)
    rp = _relying_party(caller)
    data = rules.credential_json(credential)
    challenge = await _take_challenge(core, caller, challenge_id, (rules.PURPOSE_REGISTER,), account.id)
    if challenge is None or challenge.account_id != account.id or challenge.rp_id != rp.rp_id:
        await _refused(core, caller, account.id, "challenge", "registration")
        raise PasskeyRefused("challenge", "Missing or invalid parameter: challengeId is unknown, used or expired; ask "
                                          "for new options")
    try:
        new = ceremony.verify_registration(rp, data, challenge.challenge)
    except PasskeyRefused as exc:
        await _refused(core, caller, account.id, exc.reason, "registration")
        raise
    existing = await _store(core).passkeys_of(account.id)
    if len(existing) >= rules.MAX_PASSKEYS:
        raise Conflict(f"Validation Conflict: an account holds at most {rules.MAX_PASSKEYS} passkeys")
    label = rules.passkey_name(name, (p.name for p in existing))
    now = core.clock.now()
    async with _store(core).transaction() as tx:
        kept = await tx.insert_passkey(Passkey(
            id=0, tenant_id=account.tenant_id, customer_set_id=account.customer_set_id, account_id=account.id,
            credential_id=new.credential_id, public_key=new.public_key, sign_count=new.sign_count, name=label,
            aaguid=new.aaguid, transports=new.transports, backup_eligible=new.backup_eligible,
            backed_up=new.backed_up, rp_id=rp.rp_id, created_at=now, last_used_at=None))
        await audit.record(core, Event.PASSKEY_REGISTERED, caller=caller, account_id=account.id, store=tx,
                           detail={"passkeyId": str(kept.id), "aaguid": kept.aaguid,
                                   "backupEligible": kept.backup_eligible})
    return kept


async def _refused(core: Core, caller: Caller, account_id: int | None, reason: str, stage: str) -> None:
    await audit.record(core, Event.PASSKEY_REFUSED, caller=caller, account_id=account_id,
                       detail={"reason": reason, "stage": stage})


# -- the account's passkeys -------------------------------------------------------------------------

async def passkeys(core: Core, caller: Caller, shopper: Shopper | None, account_id: int) -> list[Passkey]:
    """The account's passkeys (its shopper, or an application with customer:admin)."""
    account = await account_for(core, caller, shopper, account_id, with_parts=False)
    return await _store(core).passkeys_of(account.id)


async def _owned_passkey(core: Core, account: Account, passkey_id: int) -> Passkey:
    found = await _store(core).get_passkey(passkey_id)
    if found is None or found.account_id != account.id:
        raise NotFound(f"Item not found: passkey {passkey_id} does not exist")
    return found


async def rename(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, passkey_id: int,
                 name: str | None) -> Passkey:
    account = await account_for(core, caller, shopper, account_id, with_parts=False)
    found = await _owned_passkey(core, account, passkey_id)
    label = rules.passkey_name(clean_text(name, "name", rules.MAX_NAME, required=True), ())
    async with _store(core).transaction() as tx:
        if not await tx.rename_passkey(found.id, account.id, label):
            raise NotFound(f"Item not found: passkey {passkey_id} does not exist")
        await audit.record(core, Event.PASSKEY_RENAMED, caller=caller, account_id=account.id, store=tx,
                           detail={"passkeyId": str(found.id)})
    renamed = await _store(core).get_passkey(found.id)
    if renamed is None:
        raise NotFound(f"Item not found: passkey {passkey_id} does not exist")
    return renamed


async def remove(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, passkey_id: int) -> None:
    """Remove a passkey (its shopper, not an impersonation; or an application with customer:admin), unless it
    is the account's last way to sign in (no password, no other passkey, no linked identity: Conflict)."""
    account = await account_for(core, caller, shopper, account_id, with_parts=False, sensitive=True)
    found = await _owned_passkey(core, account, passkey_id)
    if await ways_in.count(core, account) <= 1:
        raise Conflict("Validation Conflict: this passkey is the account's last way to sign in (no password, no other "
                       "passkey, no linked identity); add one before removing it")
    async with _store(core).transaction() as tx:
        if not await tx.delete_passkey(found.id, account.id):
            raise NotFound(f"Item not found: passkey {passkey_id} does not exist")
        await audit.record(core, Event.PASSKEY_REMOVED, caller=caller, account_id=account.id, store=tx,
                           detail={"passkeyId": str(found.id), "by": "admin" if is_admin(caller) and not owns(
                               shopper, account) else "shopper"})



# -- sign-in ------------------------------------------------------------------------------------------

async def authentication_options(core: Core, caller: Caller, username: str | None) -> tuple[str, dict[str, Any]]:
    """The challenge id and the PublicKeyCredentialRequestOptionsJSON for a sign-in; with a username, the
    sign-in is for that name's account only, but the options look the same whether it exists or not."""
    rp = _relying_party(caller)
    await limits.check(core, caller, limits.Limit.LOGIN)
    name = clean_text(username, "username", MAX_USERNAME)
    purpose, account_id = rules.PURPOSE_SIGN_IN, None
    if name:
        purpose = rules.PURPOSE_SIGN_IN_NAMED
        found = await core.store.find_login(caller.site.customer_set_id, login_key(name))
        account_id = found[0].id if found else None
    options = ceremony.authentication_options(rp, timeout_ms=caller.site.settings.passkeys.challenge_seconds * 1000)
    challenge_id = await _new_challenge(core, caller, purpose, options, account_id)
    return challenge_id, options.options


def _invalid() -> InvalidCredentials:
    return InvalidCredentials("Invalid Credentials: the passkey was not accepted")


async def sign_in(core: Core, caller: Caller, challenge_id: str | None, credential: Any, *,
                  fingerprint: str | None = None, region: str | None = None,
                  previous: Shopper | None = None) -> IssuedTicket:
    """A ticket for the account whose passkey signed the challenge. Every refusal is InvalidCredentials
    (audited as `passkey.refused` with its reason)."""
    rp = _relying_party(caller)
    await limits.check(core, caller, limits.Limit.LOGIN)
    try:
        data = rules.credential_json(credential)
        claimed = ceremony.read_assertion(data)
    except (PasskeyRefused, ValueError) as exc:
        await _refused(core, caller, None, getattr(exc, "reason", ceremony.MALFORMED), "sign-in")
        raise _invalid() from None
    challenge = await _take_challenge(core, caller, challenge_id, rules.SIGN_IN_PURPOSES)
    if challenge is None or challenge.rp_id != rp.rp_id:
        await _refused(core, caller, None, "challenge", "sign-in")
        raise _invalid()
    passkey = await _store(core).passkey_by_credential(caller.site.customer_set_id, claimed.credential_id)
    if passkey is None or passkey.tenant_id != caller.tenant.id:
        await _refused(core, caller, None, "unknown-credential", "sign-in")
        raise _invalid()
    await limits.check_account(core, caller, limits.Limit.LOGIN, f"passkey:{passkey.account_id}")
    if challenge.purpose == rules.PURPOSE_SIGN_IN_NAMED and challenge.account_id != passkey.account_id:
        await _refused(core, caller, passkey.account_id, "other-user", "sign-in")
        raise _invalid()
    if passkey.rp_id != rp.rp_id:
        await _refused(core, caller, passkey.account_id, "relying-party", "sign-in")
        raise _invalid()
    account = await core.store.get_account(passkey.account_id, with_parts=False)
    if account is None:
        raise _invalid()
    try:
        verified = ceremony.verify_authentication(rp, data, challenge.challenge, public_key=passkey.public_key,
                                                  sign_count=passkey.sign_count,
                                                  user_handle=rules.user_handle(account.user_id))
    except PasskeyRefused as exc:
        await _refused(core, caller, account.id, exc.reason, "sign-in")
        raise _invalid() from None
    now = core.clock.now()
    gate = await core.store.login_gate(account.id)
    if gate is None or not may_log_in_without_password(gate, now):
        await _refused(core, caller, account.id, "account-unavailable", "sign-in")
        raise _invalid()
    if not await _store(core).use_passkey(passkey.id, passkey.sign_count, verified.new_sign_count,
                                          verified.backed_up, now):
        # another answer with this counter value was accepted a moment ago: one of them is a clone's
        await _refused(core, caller, account.id, ceremony.COUNTER, "sign-in")
        raise _invalid()
    if account.password_change_required:  # told only to whoever holds the passkey, as a password login tells
        await _refused(core, caller, account.id, "password-change-required", "sign-in")
        raise PasswordChangeRequired("Password Change Required: the password must be changed (Change-Password) "
                                     "before logging in")
    return await challenges.finish_login(
        core, caller, account, gate, now, used=(Event.PASSKEY_USED, {"passkeyId": str(passkey.id)}),
        unlocked_by="passkey-login", proof=PASSKEY_PROOF, two_factor=True, refused=_invalid,
        fingerprint=fingerprint, region=region,
        previous_anonymous=previous.user_id if previous and previous.is_anonymous else None)
