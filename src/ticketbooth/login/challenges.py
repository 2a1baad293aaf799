"""Codes mailed to shoppers to log in: the second factor of a password login (2FA) and the
one-time-passcode login (OTP) that needs no password.

Both mail a 6-digit code that works once, for `CodeSettings.otp_code_minutes` (3), and is void after
`otp_max_failed_attempts` (3) wrong tries. Only a keyed hash of a code is stored (HMAC-SHA256 under a
key derived from the server secret, with the challenge id mixed in: a 6-digit code's plain hash is
reversed by trying all million).

- 2FA: when the site's triggers ask for it (`SiteSettings.two_factor`: "always", "new-device",
  "region-change"), a correct password answers a pending ticket (`requires2FA`, the userId and an
  access token good only for /2fa/request and /2fa/auth while the code lives) and mails the code;
  /2fa/auth with the code opens the token family the login would have opened. Kibo's SDK model
  {userId, otpCode} without the pending token (the user's newest pending login of the caller's
  application) works too, but a userId is no secret: wrong codes sent that way spend an allowance and a
  code-verify budget of their own, never the code's tries or the pending token's budget.
- OTP (`SiteSettings.otp_login`): /otp/request mails a code to an account's address, answering the
  same, after the same work, whether or not the account exists; /otp/auth logs in with it. An
  account locked by failed passwords still gets in this way (and the lock is lifted: the owner
  proved the mailbox, as a password reset does); an inactive account, or one an administrator
  locked, does not; one that must change its password gets PasswordChangeRequired, no ticket. A site
  whose `two_factor` holds "always" refuses OTP login: the mailed code alone is one factor.
- What the login proved goes on its token family (`tickets.LoginProof`): a password and a code meet
  every site's 2FA rule; a code alone meets "new-device" and "region-change" (the mailbox is what they
  ask for), not "always".

Code requests and code attempts are rate limited per address and per account (`Limit.CODE_REQUEST`,
`Limit.CODE_VERIFY`), keyed on the account whichever of its names a request gives, and on the name when no
account has it, so an unknown name is limited alike; each code may be mailed at most
`otp_max_sends` times, `otp_resend_seconds` apart. A resend gives a new code but not new tries.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ticketbooth.audit import service as audit
from ticketbooth.audit.service import Event
from ticketbooth.b2b import login as b2b_login
from ticketbooth.b2b.login import is_b2b_user
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import (
    Forbidden,
    InvalidCredentials,
    InvalidOtp,
    PasswordChangeRequired,
    TooManyRequests,
)
from ticketbooth.domain.models import (
    KIND_FINGERPRINT,
    KIND_REGION,
    MAIL_LOGIN_CODE,
    MAIL_TWO_FACTOR_CODE,
    NO_ACCOUNT,
    PURPOSE_OTP,
    PURPOSE_TWO_FACTOR,
    Account,
    Challenge,
    IssuedTicket,
    Shopper,
)
from ticketbooth.domain.policies import login_key
from ticketbooth.domain.text import required_text
from ticketbooth.infra.tokens import at_rest, new_digits, new_hex
from ticketbooth.login import limits
from ticketbooth.login.rules import (
    CODE_DIGITS,
    MAX_CODE,
    LoginGate,
    may_use_code,
    normalize_code,
    two_factor_reasons,
)
from ticketbooth.mail import service as mail
from ticketbooth.tickets.service import CODE_PROOF, TWO_FACTOR_PROOF, LoginProof, lifetimes_for, open_family

PENDING_TOKEN_BYTES = 32
MAX_IDENTIFIER = 320
NOBODY = "nobody@invalid"
_CODE_KEY_LABEL = b"ticketbooth login codes"
_DEVICE_KEY_LABEL = b"ticketbooth known devices"


# -- keyed hashes ---------------------------------------------------------------------------------

def _key(core: Core, label: bytes) -> bytes:
    return hmac.new(core.refresh_secret, label, hashlib.sha256).digest()


def code_hash(core: Core, challenge_id: str, code: str) -> str:
    return hmac.new(_key(core, _CODE_KEY_LABEL), f"{challenge_id}\x00{code}".encode(), hashlib.sha256).hexdigest()


def device_hash(core: Core, account_id: int, kind: str, value: str | None) -> str | None:
    """The stored form of a fingerprint or region (None when none was given): keyed, and per account, so
    the table tells neither the values nor which accounts share a device."""
    text = (value or "").strip()
    if not text:
        return None
    if kind == KIND_REGION:
        text = text.casefold()
    message = f"{account_id}\x00{kind}\x00{text}".encode("utf-8", "surrogatepass")
    return hmac.new(_key(core, _DEVICE_KEY_LABEL), message, hashlib.sha256).hexdigest()


def devices(core: Core, account_id: int, fingerprint: str | None, region: str | None) -> list[tuple[str, str]]:
    """A login's fingerprint and region as the account's known devices (kind, keyed hash): what a completed
    login remembers, so no 2FA code is asked for them later."""
    found = []
    for kind, value in ((KIND_FINGERPRINT, fingerprint), (KIND_REGION, region)):
        hashed = device_hash(core, account_id, kind, value)
        if hashed is not None:
            found.append((kind, hashed))
    return found


# -- mail -----------------------------------------------------------------------------------------

def _values(core: Core, caller: Caller, account: Account | None, code: str) -> dict[str, Any]:
    return {
        "code": code, "minutes": caller.tenant.settings.codes.otp_code_minutes,
        "user_name": (account.username or account.email or "") if account else "",
        "first_name": account.profile.first_name if account else None,
    }


def _budget_key(account_id: int | None, identifier: str = "") -> str:
    """The limiter key of the code budgets (requests and attempts): the account's, whichever of its names
    (email address, username) a request gives, so a second name does not buy a second budget. A name no
    account has gets a key of its own that behaves the same (and can never be an account's key)."""
    return f"code-account:{account_id}" if account_id is not None else f"code:{login_key(identifier)}"


# -- 2FA ------------------------------------------------------------------------------------------

async def begin_two_factor(
    core: Core, caller: Caller, account: Account, *, fingerprint: str | None, region: str | None,
    previous_anonymous: str | None, access_ttl: timedelta, refresh_ttl: timedelta,
    b2b_account_id: int | None = None,
) -> IssuedTicket | None:
    """After a correct password: None when the site asks no second factor of this login; else mail a
    code and answer the pending ticket. A B2B user's login keeps the B2B account it is for
    (`b2b_account_id`) until the code completes it."""
    settings = caller.site.settings
    if not settings.two_factor:
        return None
    given = devices(core, account.id, fingerprint, region)
    by_kind = dict(given)
    known = await core.store.known_device_hashes(account.id) if settings.two_factor != ["always"] else set()
    reasons = two_factor_reasons(settings, known, by_kind.get(KIND_FINGERPRINT), by_kind.get(KIND_REGION))
    if not reasons:
        return None
    if not account.email:
        raise InvalidCredentials("Invalid Credentials: this site needs a second factor, and the account has no "
                                 "email address to send it to")
    now, codes = core.clock.now(), caller.tenant.settings.codes
    expires = now + timedelta(minutes=codes.otp_code_minutes)
    challenge = Challenge(
        id=new_hex(16), purpose=PURPOSE_TWO_FACTOR, account_id=account.id, tenant_id=caller.tenant.id,
        site_id=caller.site.id, application_id=caller.app.id, created_at=now, expires_at=expires, used_at=None,
        failed_attempts=0, sends=1, last_sent_at=now,
        context={
            "access_seconds": int(access_ttl.total_seconds()), "refresh_seconds": int(refresh_ttl.total_seconds()),
            "previous_anonymous": previous_anonymous, "devices": [list(d) for d in given],
            "b2b_account_id": b2b_account_id,
        },
    )
    code, token = new_digits(CODE_DIGITS), new_hex(PENDING_TOKEN_BYTES)
    async with core.store.transaction() as tx:
        await tx.insert_challenge(challenge, code_hash(core, challenge.id, code), at_rest(token))
        await mail.enqueue(core, tx, caller.tenant, MAIL_TWO_FACTOR_CODE, account.email, account.profile.locale_code,
                           _values(core, caller, account, code))
        await audit.record(core, Event.TWO_FACTOR_SENT, caller=caller, account_id=account.id,
                           detail={"reasons": reasons}, store=tx)
    core.mail.wake()
    return IssuedTicket(
        access_token=token, access_expires_at=expires, refresh_token=None, refresh_expires_at=None, jwt=None,
        user_id=account.user_id, account=None, requires_2fa=True,
    )


def _bad_pending() -> InvalidOtp:
    return InvalidOtp("Invalid OTP: the verification code or its pending ticket is not valid, has expired or has "
                      "been used")


def _wanted_user(user_id: str | None) -> str:
    """A userId as sent with a code and no pending token; InvalidOtp when there is none to look up."""
    wanted = (user_id or "").strip().lower()
    if not wanted or len(wanted) > 64:
        raise _bad_pending()
    return wanted


async def _pending(core: Core, caller: Caller, token: str | None, user_id: str | None = None) -> Challenge:
    """The live 2FA challenge of a pending ticket's access token, for the caller's tenant, application and
    customer set. Without a token, the newest one of the user `user_id` (Kibo's SDK model names only the
    userId and the code), under the same checks and only while that way is open: a userId is no secret,
    so the wrong codes sent with it alone count apart from the token's (see `complete_two_factor`)."""
    text = (token or "").strip()
    if len(text) > 256 or not (text or user_id):
        raise _bad_pending()
    if text:
        challenge = await core.store.challenge_by_token(at_rest(text))
    else:
        challenge = await core.store.latest_challenge_of_user(_wanted_user(user_id), PURPOSE_TWO_FACTOR)
    codes, now = caller.tenant.settings.codes, core.clock.now()
    if (challenge is None or challenge.purpose != PURPOSE_TWO_FACTOR or challenge.tenant_id != caller.tenant.id
            or challenge.application_id != caller.app.id
            or not challenge.is_live(now, codes.otp_max_failed_attempts)
            or (not text and not challenge.open_to_user_id(now, codes.otp_max_failed_attempts))):
        raise _bad_pending()
    if challenge.site_id != caller.site.id:
        site = await core.directory.site(challenge.site_id)
        if site is None or site.customer_set_id != caller.site.customer_set_id:
            raise _bad_pending()
    return challenge


async def caller_of_pending_token(core: Core, token: str, client_address: str, user_agent: str) -> Caller | None:
    """The caller a pending 2FA ticket was issued to, for a client that sends the pending access token
    alone as its Bearer credential (Kibo's SDK configured with it as its access token): the application,
    tenant and site of the login. None when `token` is no live pending ticket of an enabled application."""
    text = token.strip()
    if not text or len(text) > 256:
        return None
    challenge = await core.store.challenge_by_token(at_rest(text))
    if challenge is None or challenge.purpose != PURPOSE_TWO_FACTOR or challenge.used_at is not None:
        return None
    app = await core.store.get_application_by_id(challenge.application_id)
    tenant = await core.directory.tenant(challenge.tenant_id)
    site = await core.directory.site(challenge.site_id)
    if app is None or not app.enabled or tenant is None or site is None:
        return None
    return Caller(app=app, tenant=tenant, site=site, client_address=client_address, user_agent=user_agent)


async def _code_account(core: Core, challenge: Challenge) -> Account:
    account = await core.store.get_account(challenge.account_id, with_parts=False)
    if account is None or not account.email:
        raise _bad_pending()
    return account


async def resend_two_factor(core: Core, caller: Caller, token: str | None) -> None:
    """Mail a new code for a pending 2FA login (the earlier code stops working; the wrong tries so far
    still count). Refused with TooManyRequests within `otp_resend_seconds` of the last mail, after
    `otp_max_sends` mails, or when the account's code-request limit is reached."""
    challenge = await _pending(core, caller, token)
    account = await _code_account(core, challenge)
    assert account.email is not None
    await limits.check(core, caller, limits.Limit.CODE_REQUEST, _budget_key(account.id))
    await _resend(core, caller, challenge, account, MAIL_TWO_FACTOR_CODE, Event.TWO_FACTOR_SENT, quiet=False)


async def _resend(core: Core, caller: Caller, challenge: Challenge, account: Account, kind: str, event: Event,
                  *, quiet: bool) -> bool:
    """Give the challenge a new code and mail it, if its resend rules allow; when they do not, raise
    TooManyRequests, or with `quiet` return False (an OTP request must not tell)."""
    assert account.email is not None
    now, codes = core.clock.now(), caller.tenant.settings.codes
    gap = timedelta(seconds=codes.otp_resend_seconds)
    wait = challenge.last_sent_at + gap - now
    if challenge.sends >= codes.otp_max_sends or wait > timedelta(0):
        if quiet:
            return False
        if challenge.sends >= codes.otp_max_sends:
            raise TooManyRequests("Too Many Requests: no more codes are sent for this login; log in again",
                                  math.ceil((challenge.expires_at - now).total_seconds()))
        raise TooManyRequests("Too Many Requests: a code was sent a moment ago", math.ceil(wait.total_seconds()))
    code = new_digits(CODE_DIGITS)
    async with core.store.transaction() as tx:
        renewed = await tx.resend_challenge(
            challenge.id, code_hash(core, challenge.id, code), now, now + timedelta(minutes=codes.otp_code_minutes),
            sent_before=now - gap, max_sends=codes.otp_max_sends, max_failed=codes.otp_max_failed_attempts)
        if renewed:
            await mail.enqueue(core, tx, caller.tenant, kind, account.email, account.profile.locale_code,
                               _values(core, caller, account, code))
            await audit.record(core, event, caller=caller, account_id=account.id, detail={"resend": True}, store=tx)
    if not renewed:  # a parallel request renewed it a moment ago
        if quiet:
            return False
        raise TooManyRequests("Too Many Requests: a code was sent a moment ago", max(1, codes.otp_resend_seconds))
    core.mail.wake()
    return True


async def complete_two_factor(core: Core, caller: Caller, token: str | None, user_id: str | None,
                              code: str | None) -> IssuedTicket:
    """Finish a pending 2FA login with its code: the token family the login would have opened. A wrong,
    expired or spent code, or another user's id, is InvalidOtp (and a wrong try).

    With the pending token (which only the client that passed the password holds) a wrong code is one
    of the code's `otp_max_failed_attempts` tries, and attempts take from the account's code-verify
    budget. With only the userId (Kibo's SDK model {userId, otpCode}, next to the application's
    credential) the right code finishes the login too, but a userId is in every ticket the shopper
    holds: so a wrong code sent that way spends an allowance of its own (as many wrong codes per
    challenge, after which that way is closed, the right code included) and a code-verify budget of its
    own, and never the code's tries or the token's budget. Whoever knows a userId thus cannot void the
    owner's code nor make the owner wait. The userId budget is taken before the lookup, so an unknown
    userId is limited and answered exactly as a known one."""
    by_token = bool((token or "").strip())
    if by_token:
        challenge = await _pending(core, caller, token)
        await limits.check(core, caller, limits.Limit.CODE_VERIFY, f"2fa:{challenge.account_id}")
    else:
        wanted = _wanted_user(user_id)
        await limits.check(core, caller, limits.Limit.CODE_VERIFY, f"2fa-user:{wanted}")
        challenge = await _pending(core, caller, None, wanted)
    account = await _code_account(core, challenge)
    codes, now = caller.tenant.settings.codes, core.clock.now()
    gate = await core.store.login_gate(account.id)
    if gate is None or not gate.is_active or (gate.is_locked and not (
            gate.lock_expires_at is not None and gate.lock_expires_at <= now)):
        # locked or disabled since the password was checked
        await audit.record(core, Event.TWO_FACTOR_FAILED, caller=caller, account_id=account.id,
                           detail={"reason": "account-unavailable"})
        raise _bad_pending()
    right_user = (user_id or "").strip().lower() in ("", account.user_id)
    given = normalize_code(code) if right_user else ""  # another user's id: a wrong try
    spend = core.store.spend_challenge if by_token else core.store.spend_challenge_by_user_id
    if not await spend(challenge.id, code_hash(core, challenge.id, given), now, codes.otp_max_failed_attempts):
        await audit.record(core, Event.TWO_FACTOR_FAILED, caller=caller, account_id=account.id,
                           detail={"reason": "wrong-code" if right_user else "other-user",
                                   "with": "pending-token" if by_token else "user-id"})
        raise _bad_pending()
    context = challenge.context
    await core.store.record_code_login(account.id, now, two_factor=True, unlock=False)
    await core.store.remember_devices(account.id, [(str(k), str(v)) for k, v in context.get("devices", [])], now)
    await audit.record(core, Event.TWO_FACTOR_VERIFIED, caller=caller, account_id=account.id)
    full = await core.store.get_account(account.id)
    assert full is not None
    previous = context.get("previous_anonymous")
    scope = None
    if is_b2b_user(full):  # the B2B account the password login chose, if the user may still use it
        chosen = context.get("b2b_account_id")
        scope = await b2b_login.scope_for_login(core, full, chosen if isinstance(chosen, int) else None)
        if scope is None:
            raise _bad_pending()
    return await open_family(
        core, core.store, caller, user_id=account.user_id, account=full,
        previous_anonymous=str(previous) if previous else None,
        access_ttl=timedelta(seconds=int(context["access_seconds"])),
        refresh_ttl=timedelta(seconds=int(context["refresh_seconds"])), proof=TWO_FACTOR_PROOF, b2b=scope,
    )


# -- one-time-passcode login ------------------------------------------------------------------------

def _require_otp_site(caller: Caller) -> None:
    """Refuse OTP login where the site has it off, or always asks two factors: a mailed code alone is one
    (asking for the password as well would be a password login with 2FA, which the site has)."""
    if not caller.site.settings.otp_login:
        raise Forbidden(f"Forbidden: one-time-passcode login is not enabled for site {caller.site.id}")
    if not caller.site.settings.otp_allowed():
        raise Forbidden(f"Forbidden: site {caller.site.id} asks two factors of every login, and a one-time passcode "
                        "is one; log in with the password and the code it mails")


async def _code_login_account(core: Core, caller: Caller, limit: limits.Limit,
                              email: str) -> tuple[Account | None, LoginGate | None]:
    """The account that logs in with `email` in the site's customer set, when it may log in with a
    code (else None), after the same reads for every answer; first one token of `limit` from the
    per-address bucket, then, once the name is looked up, from the budget of the account it names."""
    await limits.check(core, caller, limit)
    found = await core.store.find_login(caller.site.customer_set_id, login_key(email))
    await limits.check_account(core, caller, limit, _budget_key(found[0].id if found else None, email))
    account = found[0] if found and found[0].email else None
    gate = await core.store.login_gate(account.id if account else NO_ACCOUNT)
    if account is None or not may_use_code(gate, core.clock.now()):
        return None, gate
    return account, gate


async def request_otp(core: Core, caller: Caller, email: str | None) -> None:
    """Mail a login code to the account that logs in with `email` (its email address or username), when
    that account may log in with a code. Every request answers the same after the same work; a request
    while a code is live mails a new one (within that code's resend rules) or, silently, nothing."""
    _require_otp_site(caller)
    identifier = required_text("email", email, MAX_IDENTIFIER)
    account, _ = await _code_login_account(core, caller, limits.Limit.CODE_REQUEST, identifier)
    latest = await core.store.latest_challenge(account.id if account else NO_ACCOUNT, PURPOSE_OTP)
    now, codes, tenant = core.clock.now(), caller.tenant.settings.codes, caller.tenant
    if account is not None and latest is not None and latest.is_live(now, codes.otp_max_failed_attempts):
        if await _resend(core, caller, latest, account, MAIL_LOGIN_CODE, Event.OTP_SENT, quiet=True):
            return
        account = None  # nothing goes out now: the same work as for nobody
    code = new_digits(CODE_DIGITS)
    values = _values(core, caller, account, code)
    if account is None or account.email is None:
        rendered = mail.render(core, tenant, MAIL_LOGIN_CODE, NOBODY, None, values)
        await core.store.rehearse_challenge(core.mail.seal(tenant.id, MAIL_LOGIN_CODE, rendered), now)
        return
    challenge = Challenge(
        id=new_hex(16), purpose=PURPOSE_OTP, account_id=account.id, tenant_id=tenant.id, site_id=caller.site.id,
        application_id=caller.app.id, created_at=now, expires_at=now + timedelta(minutes=codes.otp_code_minutes),
        used_at=None, failed_attempts=0, sends=1, last_sent_at=now, context={},
    )
    async with core.store.transaction() as tx:
        await tx.insert_challenge(challenge, code_hash(core, challenge.id, code), None, replace=True)
        await mail.enqueue(core, tx, tenant, MAIL_LOGIN_CODE, account.email, account.profile.locale_code, values)
        await audit.record(core, Event.OTP_SENT, caller=caller, account_id=account.id, store=tx)
    core.mail.wake()


async def login_with_otp(core: Core, caller: Caller, email: str | None, code: str | None,
                         fingerprint: str | None = None, region: str | None = None,
                         previous: Shopper | None = None) -> IssuedTicket:
    """A ticket for the account that logs in with `email`, given the live code last mailed to it. A
    wrong, expired or spent code and an unknown or refused account are one answer, InvalidOtp. The
    fingerprint and region become known devices of the account (no second factor for them later), and
    a lock from failed password logins is lifted."""
    _require_otp_site(caller)
    identifier = required_text("email", email, MAX_IDENTIFIER)
    given = normalize_code(required_text("otpCode", code, MAX_CODE))
    account, gate = await _code_login_account(core, caller, limits.Limit.CODE_VERIFY, identifier)
    latest = await core.store.latest_challenge(account.id if account else NO_ACCOUNT, PURPOSE_OTP)
    now, codes = core.clock.now(), caller.tenant.settings.codes
    challenge_id = latest.id if account is not None and latest is not None else ""
    spent = await core.store.spend_challenge(challenge_id, code_hash(core, challenge_id, given), now,
                                             codes.otp_max_failed_attempts)
    if not spent or account is None or gate is None:
        reason = "wrong-code" if account is not None and latest is not None else "no-code"
        await audit.record(core, Event.OTP_FAILED, caller=caller, account_id=account.id if account else None,
                           detail={"reason": reason if account is not None else "unknown-or-refused"})
        raise _bad_pending()
    if account.password_change_required:  # told only to whoever holds the mailed code, as a password login tells
        await audit.record(core, Event.OTP_FAILED, caller=caller, account_id=account.id,
                           detail={"reason": "password-change-required"})
        raise PasswordChangeRequired("Password Change Required: the password must be changed (Change-Password) "
                                     "before logging in")
    return await finish_login(
        core, caller, account, gate, now, used=(Event.OTP_VERIFIED, None), unlocked_by="otp-login",
        proof=CODE_PROOF, two_factor=False, refused=_bad_pending, fingerprint=fingerprint, region=region,
        previous_anonymous=previous.user_id if previous and previous.is_anonymous else None)


async def finish_login(
    core: Core, caller: Caller, account: Account, gate: LoginGate, now: datetime, *,
    used: tuple[Event, dict[str, Any] | None], unlocked_by: str, proof: LoginProof, two_factor: bool,
    refused: Callable[[], Exception], previous_anonymous: str | None, fingerprint: str | None = None,
    region: str | None = None, remember_devices: bool = True, second_factor: bool = False,
) -> IssuedTicket:
    """The end of a login without a password (a mailed code, a passkey, a provider's sign-in), once the factor
    is proven and the account found usable: in one transaction the login recorded, a lock it got through (one
    reached by failed passwords) lifted and audited `unlocked_by`, and the factor's own audit entry `used`;
    the fingerprint and region remembered as known devices; a B2B user's first account by priority (the login
    names none; when none is usable, `refused()`); with `second_factor`, the site's 2FA asked as after a
    password (a pending ticket); else the ticket of a new session with `proof`."""
    unlock = gate.is_locked
    async with core.store.transaction() as tx:  # the unlock, its audit entries and the login's record together
        await tx.record_code_login(account.id, now, two_factor=two_factor, unlock=unlock)
        if unlock:
            await audit.record(core, Event.ACCOUNT_UNLOCKED, caller=caller, account_id=account.id,
                               detail={"by": unlocked_by}, store=tx)
        await audit.record(core, used[0], caller=caller, account_id=account.id, detail=used[1], store=tx)
    if remember_devices:
        await core.store.remember_devices(account.id, devices(core, account.id, fingerprint, region), now)
    full = await core.store.get_account(account.id)
    if full is None:
        raise refused()
    scope = None
    if is_b2b_user(full):
        scope = await b2b_login.scope_for_login(core, full, None)
        if scope is None:
            raise refused()
    access_ttl, refresh_ttl = lifetimes_for(caller, False, None)
    if second_factor:
        pending = await begin_two_factor(
            core, caller, full, fingerprint=fingerprint, region=region, previous_anonymous=previous_anonymous,
            access_ttl=access_ttl, refresh_ttl=refresh_ttl, b2b_account_id=scope.account.id if scope else None)
        if pending is not None:
            return pending
    return await open_family(core, core.store, caller, user_id=full.user_id, account=full,
                             previous_anonymous=previous_anonymous, access_ttl=access_ttl, refresh_ttl=refresh_ttl,
                             proof=proof, b2b=scope)
