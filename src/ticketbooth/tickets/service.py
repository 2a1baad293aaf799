"""Shopper tickets: anonymous tickets, opening a token family (for a login: see `password_login` and
`challenges`), refresh with rotation inside a token family, and turning a presented token back into
the shopper it belongs to.

A ticket is an opaque access token, a refresh token and a signed JWT. Only SHA-256 hashes of the
two tokens are stored. A refresh token's successor is derived from it with the server secret
(`infra.tokens.derive`), so a replay inside the grace window is answered with the very same
successor although no plaintext token is ever stored.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ticketbooth.accounts.views import shopper_view
from ticketbooth.applications.service import TICKET_TOKEN_TYPE, TOKEN_USE_SHOPPER
from ticketbooth.audit import service as audit
from ticketbooth.b2b import login as b2b_login
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.behaviors import encode_behaviors
from ticketbooth.domain.errors import (
    InvalidAccessToken,
    InvalidParameter,
    InvalidRefreshToken,
    NotFound,
)
from ticketbooth.domain.models import (
    BEHAVIOR_CONFIGURE_TOKEN_DURATIONS,
    REVOKED_BY_ACCOUNT_SWITCH,
    REVOKED_BY_ACCOUNT_UNAVAILABLE,
    Account,
    B2BScope,
    IssuedTicket,
    Shopper,
    TicketRecord,
    TokenFamily,
)
from ticketbooth.domain.policies import TWO_FACTOR_TRIGGERS, meets_two_factor_rule, ticket_ttls
from ticketbooth.events import rules as topics
from ticketbooth.events import service as events
from ticketbooth.infra.tokens import at_rest, derive, new_hex
from ticketbooth.login import limits
from ticketbooth.tickets.persistence import TokenFamilies
from ticketbooth.tickets.rules import (
    REPLAY_REVOKE_REASON,
    Replay,
    family_expiry_after_rotation,
    refresh_expired,
    replay_answer,
    successor_refresh_expiry,
)

ACCESS_TOKEN_BYTES = 32
REFRESH_TOKEN_BYTES = 16


@dataclass(frozen=True, slots=True)
class LoginProof:
    """What a login proved, kept on its token family and in its JWTs: `methods` (RFC 8176 `amr` values)
    and the site 2FA triggers it satisfied (`two_factor_met`). Its tickets act only at the sites of the
    customer set whose triggers are all among those (`meets_site_rule`), so a login at a site without
    2FA is no way into a sibling site that asks for it."""

    methods: tuple[str, ...]
    two_factor_met: tuple[str, ...]

    @staticmethod
    def password(caller: Caller) -> LoginProof:
        """A right password where no second factor was due: it meets the triggers of the site that
        checked it (none of them applied), no other site's."""
        return LoginProof(("pwd",), tuple(caller.site.settings.two_factor))

    @staticmethod
    def site(caller: Caller) -> LoginProof:
        """A family opened for an account without a shopper's login (registration, an administrator's
        Create-Login, an impersonation): it meets the rule of the site it was opened at."""
        return LoginProof((), tuple(caller.site.settings.two_factor))


TWO_FACTOR_PROOF = LoginProof(("pwd", "otp", "mfa"), TWO_FACTOR_TRIGGERS)
"""A password and the code mailed for it: two factors, whatever a site asks."""
CODE_PROOF = LoginProof(("otp",), ("new-device", "region-change"))
"""A one-time passcode alone: the mailbox, which is what a new device or region is asked to prove; one
factor, so not what a site that always asks two wants (where OTP login is refused)."""
PASSKEY_PROOF = LoginProof(("hwk", "user", "mfa"), TWO_FACTOR_TRIGGERS)
"""A passkey (passkeys/): a device-bound key with the user verified on it, phishing resistant: two
factors, whatever a site asks."""


def meets_site_rule(caller: Caller, account_id: int | None, two_factor_met: str | list[Any] | None) -> bool:
    """Whether a shopper's ticket (opaque, JWT or refresh token) may act at the caller's site: an
    anonymous visitor's anywhere in its customer set; a login's only where every 2FA trigger of the site
    is among those the login satisfied (`two_factor_met`, as stored or as the JWT claim). The one check
    of the site rule for every way a ticket is presented."""
    if account_id is None:
        return True
    met = two_factor_met.split() if isinstance(two_factor_met, str) else [str(m) for m in two_factor_met or ()]
    return meets_two_factor_rule(caller.site.settings, met)


@dataclass(frozen=True, slots=True)
class RequestedLifetimes:
    access_minutes: int | None = None
    refresh_minutes: int | None = None


def lifetimes_for(caller: Caller, anonymous: bool, requested: RequestedLifetimes | None) -> tuple[timedelta, timedelta]:
    """Token lifetimes for a new family. Requested values count only for an application with the
    configure-token-durations behavior, and are capped by the tenant's settings."""
    honoured = requested if requested and caller.app.has(BEHAVIOR_CONFIGURE_TOKEN_DURATIONS) else None
    access = honoured.access_minutes if honoured else None
    refresh = honoured.refresh_minutes if honoured else None
    for name, value in (("authTicketTtlMinutes", access), ("refreshTokenTtlMinutes", refresh)):
        if value is not None and value <= 0:
            raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be a positive number", value)
    return ticket_ttls(
        caller.tenant.settings.tokens, anonymous=anonymous, requested_access_minutes=access,
        requested_refresh_minutes=refresh,
    )


async def issue_anonymous(core: Core, caller: Caller) -> IssuedTicket:
    await limits.check(core, caller, limits.Limit.ANONYMOUS)
    access_ttl, refresh_ttl = lifetimes_for(caller, True, None)
    return await open_family(
        core, core.store, caller, user_id=new_hex(16), account=None, previous_anonymous=None,
        access_ttl=access_ttl, refresh_ttl=refresh_ttl,
    )


async def open_family(
    core: Core, store: TokenFamilies, caller: Caller, *, user_id: str, account: Account | None,
    previous_anonymous: str | None, access_ttl: timedelta, refresh_ttl: timedelta,
    acting_client_id: str | None = None, extra_claims: dict[str, Any] | None = None,
    proof: LoginProof | None = None, b2b: B2BScope | None = None, started_at: datetime | None = None,
) -> IssuedTicket:
    """Start a token family (one login or one anonymous visit) and issue its first ticket. An
    impersonation names the acting application (`acting_client_id`: the JWT's `act` claim) and may add
    claims of its own (`extra_claims`, such as `cart_id`). `proof` is what the login proved; an
    account's family opened without one meets the rule of the caller's site (`LoginProof.site`).
    A B2B user's login gives `b2b` (b2b/login.py): the family is then for the B2B account, with the
    user's own row as `user_account_id`, and its JWTs carry the user's behaviors there. `started_at`:
    when the login was, for a family that takes another's place (a B2B user switching accounts)."""
    now = core.clock.now()
    if account is not None and proof is None:
        proof = LoginProof.site(caller)
    if b2b is not None:
        account = b2b.account
    family = TokenFamily(
        id=new_hex(16), tenant_id=caller.tenant.id, site_id=caller.site.id,
        customer_set_id=caller.site.customer_set_id, application_id=caller.app.id,
        client_id=caller.app.client_id, user_id=user_id, account_id=account.id if account else None,
        is_anonymous=account is None, previous_anonymous_user_id=previous_anonymous, created_at=started_at or now,
        expires_at=now + refresh_ttl, access_ttl_seconds=int(access_ttl.total_seconds()),
        refresh_ttl_seconds=int(refresh_ttl.total_seconds()),
        client_address=caller.client_address or None, user_agent=caller.user_agent or None,
        acting_client_id=acting_client_id,
        amr=" ".join(proof.methods) if proof and proof.methods else None,
        two_factor_met=" ".join(proof.two_factor_met) if proof else None,
        user_account_id=b2b.user_account_id if b2b is not None else None,
    )
    refresh_token, access_token = new_hex(REFRESH_TOKEN_BYTES), new_hex(ACCESS_TOKEN_BYTES)
    record = _record(family, refresh_token, access_token, 0, now, family.expires_at)
    login = None  # an anonymous visit or an impersonation is no login: no event
    if account is not None and acting_client_id is None:  # a login: its event, written with its session
        login = events.row(core, topics.LOGIN_SUCCEEDED, entity_id=account.id, caller=caller, extended={
            "userId": user_id, "sessionId": family.id, "previousAnonymousUserId": previous_anonymous})
    await store.insert_family(family, record, login)
    return await _hand_out(core, family, record, refresh_token, access_token, account, extra_claims,
                           b2b.behaviors if b2b is not None else NO_BEHAVIORS)


def _record(family: TokenFamily, refresh_token: str, access_token: str, generation: int, now: datetime,
            refresh_expires: datetime) -> TicketRecord:
    return TicketRecord(
        refresh_hash=at_rest(refresh_token), access_hash=at_rest(access_token), family_id=family.id,
        generation=generation, jti=new_hex(16), issued_at=now,
        access_expires_at=min(now + timedelta(seconds=family.access_ttl_seconds), refresh_expires),
        refresh_expires_at=refresh_expires,
    )


NO_BEHAVIORS: frozenset[int] = frozenset()


async def _hand_out(core: Core, family: TokenFamily, record: TicketRecord, refresh_token: str,
                    access_token: str, account: Account | None,
                    extra_claims: dict[str, Any] | None = None, behaviors: frozenset[int] = NO_BEHAVIORS) -> IssuedTicket:
    jwt = await core.keys.sign({**_claims(family, record, behaviors), **(extra_claims or {})}, TICKET_TOKEN_TYPE)
    if account is not None:
        account = await shopper_view(core, account)  # a ticket goes to the storefront
    return IssuedTicket(
        access_token=access_token, access_expires_at=record.access_expires_at, refresh_token=refresh_token,
        refresh_expires_at=record.refresh_expires_at, jwt=jwt, user_id=family.user_id, account=account,
        is_anonymous=family.is_anonymous,
    )


def _claims(family: TokenFamily, record: TicketRecord, behaviors: frozenset[int] = NO_BEHAVIORS) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": family.user_id, "iat": int(record.issued_at.timestamp()), "nbf": int(record.issued_at.timestamp()),
        "exp": int(record.access_expires_at.timestamp()), "jti": record.jti, "sid": family.id,
        "token_use": TOKEN_USE_SHOPPER, "tenant": family.tenant_id, "site": family.site_id,
        "customer_set": family.customer_set_id, "account_id": family.account_id, "anon": family.is_anonymous,
        "client_id": family.client_id,
    }
    if family.previous_anonymous_user_id:
        claims["prev_sub"] = family.previous_anonymous_user_id
    if family.acting_client_id:
        claims["act"] = {"client_id": family.acting_client_id}  # RFC 8693: who acts as the shopper
    if family.amr:
        claims["amr"] = family.amr.split()  # RFC 8176: how the shopper logged in
    if family.account_id is not None:
        claims["two_factor_met"] = (family.two_factor_met or "").split()
    if family.user_account_id is not None:
        claims["user_account_id"] = family.user_account_id  # a B2B user's ticket: their own row
    claims[KIBO_USER_CLAIMS] = _kibo_claims(family, record, claims["exp"], behaviors)
    return claims


KIBO_USER_CLAIMS = "https://www.kibocommerce.com/user_claims"
"""The claim Kibo's storefronts read after a login (its `bv` must be an array); beside ours, not instead."""
KIBO_ENV = "ticketbooth"
"""`env` of Kibo's claim: Kibo names its environment there; no client reads it."""


def _kibo_claims(family: TokenFamily, record: TicketRecord, exp: int,
                 behaviors: frozenset[int] = NO_BEHAVIORS) -> dict[str, Any]:
    """Kibo's user claims (KIBO_COMPAT section 8): `rnd` a nonce (the start of the JWT's `jti`), `anon`
    "1"/"0", `uid` the shopper's user id (the anonymous visitor's too, as `sub`), `bv` the behaviors (none
    for a B2C shopper; a B2B user's in the account of the ticket), `st` the subject type, `b` the tenant,
    site and (registered only) account: a B2B user's ticket names the B2B account."""
    scope: dict[str, int] = {"TenantId": family.tenant_id, "SiteId": family.site_id}
    if family.account_id is not None:
        scope["AccountId"] = family.account_id
    return {"rnd": record.jti[:8], "anon": "1" if family.is_anonymous else "0", "uid": family.user_id,
            "bv": encode_behaviors(behaviors), "env": KIBO_ENV, "exp": exp, "st": "Shopper", "b": scope}


# -- refresh -------------------------------------------------------------------------------------

def _refused(reason: str = "the refresh token is not valid") -> InvalidRefreshToken:
    return InvalidRefreshToken(f"Invalid Refresh Token: {reason}")


async def refresh(core: Core, caller: Caller, refresh_token: str | None, account_id: int | None = None) -> IssuedTicket:
    """Rotate a refresh token, by the rule of tickets/rules.py: the first use yields a successor; a
    replay of a used token within the grace window, while its successor is unused, yields that same
    successor (parallel tabs, lost responses); any other replay revokes the whole family."""
    if not refresh_token:
        raise InvalidParameter("refreshToken", "Missing or invalid parameter: refreshToken is required")
    refresh_token = refresh_token.strip().lower()
    await limits.check(core, caller, limits.Limit.REFRESH)
    now = core.clock.now()
    found = await core.store.ticket_by_refresh(at_rest(refresh_token))
    if found is None:
        raise _refused()
    record, family = found
    await limits.check_account(core, caller, limits.Limit.REFRESH, f"family:{family.id}")
    switching = account_id is not None and account_id != family.account_id
    if (family.tenant_id != caller.tenant.id or family.customer_set_id != caller.site.customer_set_id
            or (switching and family.user_account_id is None)):
        raise _refused()
    if family.revoked_at is not None:
        raise _refused("the session has been ended")
    if not meets_site_rule(caller, family.account_id, family.two_factor_met):
        raise _refused("the login of this session does not meet this site's two-factor rule; log in here")
    if family.acting_client_id is not None:
        raise _refused()  # an impersonation's refresh token is never handed out; refuse it all the same
    if refresh_expired(record, family, now):
        raise _refused("the refresh token has expired")
    if switching:
        assert account_id is not None
        return await _switch(core, caller, record, family, account_id, now)
    account, behaviors = await _live_account(core, family, now)

    successor_refresh = derive(core.refresh_secret, "refresh", refresh_token, REFRESH_TOKEN_BYTES)
    successor_access = derive(core.refresh_secret, "access", refresh_token, ACCESS_TOKEN_BYTES)
    first_used_at = record.used_at
    if first_used_at is None:
        refresh_expires = successor_refresh_expiry(family, now)
        successor = _record(family, successor_refresh, successor_access, record.generation + 1, now, refresh_expires)
        if await core.store.rotate(record.refresh_hash, successor, now, family_expiry_after_rotation(family, now)):
            return await _hand_out(core, family, successor, successor_refresh, successor_access, account,
                                   behaviors=behaviors)
        first_used_at = now  # another request rotated it a moment ago: this one is a replay

    again = await core.store.ticket_by_refresh(at_rest(successor_refresh))
    grace = timedelta(seconds=core.settings.refresh_grace_seconds)
    if again is not None and replay_answer(first_used_at, now, grace, again) is Replay.SAME_SUCCESSOR:
        return await _hand_out(core, again[1], again[0], successor_refresh, successor_access, account,
                               behaviors=behaviors)
    async with core.store.transaction() as tx:
        if await tx.revoke_family(family.id, now, REPLAY_REVOKE_REASON):
            await audit.record(core, audit.Event.REFRESH_REPLAYED, caller=caller, account_id=family.account_id,
                               detail={"sessionId": family.id, "generation": record.generation}, store=tx)
            await events.publish(core, tx, topics.REFRESH_REPLAYED, entity_id=family.account_id or family.user_id,
                                 caller=caller, extended={"sessionId": family.id})
    raise _refused("the refresh token has already been used")


async def _switch(core: Core, caller: Caller, record: TicketRecord, family: TokenFamily, account_id: int,
                  now: datetime) -> IssuedTicket:
    """A B2B user's refresh with another `accountId`: a new session for that account takes this one's place
    (same login time, same end, same proof), if the user may use that account; this one ends. Only an unused
    refresh token switches. Any refusal is the answer to a bad refresh token, and leaves this session as it
    was (it is the user's still: refreshing without accountId goes on working)."""
    assert family.user_account_id is not None
    scope = await b2b_login.scope_of(core, account_id, family.user_account_id)
    if scope is None or record.used_at is not None:
        raise _refused()
    proof = LoginProof(tuple((family.amr or "").split()), tuple((family.two_factor_met or "").split()))
    async with core.store.transaction() as tx:
        if not await tx.revoke_family(family.id, now, REVOKED_BY_ACCOUNT_SWITCH):
            raise _refused("the session has been ended")
        return await open_family(
            core, tx, caller, user_id=family.user_id, account=None, previous_anonymous=None,
            access_ttl=timedelta(seconds=family.access_ttl_seconds), refresh_ttl=family.expires_at - now,
            proof=proof, b2b=scope, started_at=family.created_at)


async def _live_account(core: Core, family: TokenFamily, now: datetime) -> tuple[Account | None, frozenset[int]]:
    """The family's account and the behaviors of its tickets, or None for an anonymous family. A family
    whose account is gone, inactive or locked by an administrator is revoked. A lock reached by failed
    passwords stops new logins only: the owner's sessions go on through it (else anyone could end them by
    failing on purpose). A B2B user's family (`user_account_id`) is checked and its behaviors read afresh
    (b2b/login.py): a removed user, an inactive membership or account, a user locked by an administrator
    end it."""
    if family.account_id is None:
        return None, NO_BEHAVIORS
    if family.user_account_id is not None:
        scope = await b2b_login.scope_of(core, family.account_id, family.user_account_id)
        if scope is None:
            await core.store.revoke_family(family.id, now, REVOKED_BY_ACCOUNT_UNAVAILABLE)
            raise _refused("the account is not available")
        return scope.account, scope.behaviors
    account = await core.store.get_account(family.account_id)
    if account is None or not account.is_active or (account.settle_lock(now).is_locked and account.locked_by_admin):
        await core.store.revoke_family(family.id, now, REVOKED_BY_ACCOUNT_UNAVAILABLE)
        raise _refused("the account is not available")
    return account, NO_BEHAVIORS


# -- who is the shopper --------------------------------------------------------------------------

def _token_refused() -> InvalidAccessToken:
    return InvalidAccessToken("Invalid Access Token: the shopper access token is not valid")


def _below_site_rule() -> InvalidAccessToken:
    return InvalidAccessToken("Invalid Access Token: the shopper's login does not meet this site's two-factor rule; "
                              "log in at this site")


async def shopper_from_access_token(core: Core, caller: Caller, access_token: str) -> Shopper:
    """The shopper of an opaque ticket access token (as sent in x-vol-user-claims). Revocation of its
    family takes effect at once."""
    found = await core.store.ticket_by_access(at_rest(access_token.strip()))
    if found is None:
        raise _token_refused()
    record, family = found
    if (record.access_expires_at <= core.clock.now() or family.revoked_at is not None
            or family.tenant_id != caller.tenant.id or family.customer_set_id != caller.site.customer_set_id):
        raise _token_refused()
    if not meets_site_rule(caller, family.account_id, family.two_factor_met):
        raise _below_site_rule()
    return Shopper(
        user_id=family.user_id, account_id=family.account_id, is_anonymous=family.is_anonymous,
        tenant_id=family.tenant_id, site_id=family.site_id, customer_set_id=family.customer_set_id,
        family_id=family.id, client_id=family.client_id, acting_client_id=family.acting_client_id,
        logged_in_at=family.created_at, user_account_id=family.user_account_id,
    )


async def check_session(core: Core, shopper: Shopper) -> Shopper:
    """Refuse a registered shopper's ticket JWT whose session (token family) has ended. A JWT is
    checked without the database, so it works until it expires even after "log out everywhere", a
    password change or an admin's revocation; reads accept that, but a request that may change
    something asks here first, so an ended session cannot change the account (finding 3 of issue 13).
    An anonymous shopper has no account to change: not worth a read. The shopper is returned with the
    time of their login (`logged_in_at`)."""
    if shopper.is_anonymous:
        return shopper
    family = await core.store.get_family(shopper.family_id) if shopper.family_id else None
    if (family is None or family.revoked_at is not None or family.user_id != shopper.user_id
            or family.expires_at <= core.clock.now()):
        raise _token_refused()
    return dataclasses.replace(shopper, logged_in_at=family.created_at)


def shopper_from_claims(caller: Caller, claims: dict[str, Any]) -> Shopper:
    """The shopper of a verified ticket JWT, if it was issued for the caller's tenant and customer set."""
    if (claims.get("token_use") != TOKEN_USE_SHOPPER or claims.get("tenant") != caller.tenant.id
            or claims.get("customer_set") != caller.site.customer_set_id):
        raise _token_refused()
    account_id = claims.get("account_id")
    met = claims.get("two_factor_met")
    if not meets_site_rule(caller, account_id if isinstance(account_id, int) else None,
                           met if isinstance(met, list) else None):
        raise _below_site_rule()
    act = claims.get("act")
    acting = act.get("client_id") if isinstance(act, dict) else None
    user_account_id = claims.get("user_account_id")
    return Shopper(
        user_id=str(claims["sub"]), account_id=account_id if isinstance(account_id, int) else None,
        is_anonymous=bool(claims.get("anon")), tenant_id=caller.tenant.id, site_id=int(claims.get("site", 0)),
        customer_set_id=caller.site.customer_set_id, family_id=str(claims.get("sid", "")),
        client_id=str(claims.get("client_id", "")), acting_client_id=str(acting) if acting else None,
        user_account_id=user_account_id if isinstance(user_account_id, int) else None,
    )


async def current_account(core: Core, shopper: Shopper | None) -> Account:
    if shopper is None:
        raise InvalidAccessToken("Invalid Access Token: a shopper ticket is required")
    if shopper.account_id is None:
        raise NotFound("Item not found: the current shopper is anonymous and has no account")
    if shopper.user_account_id is not None:  # a B2B user: the B2B account of their ticket
        scope = await b2b_login.scope_of(core, shopper.account_id, shopper.user_account_id)
        if scope is None or scope.account.user_id != shopper.user_id:
            raise _token_refused()
        return await shopper_view(core, scope.account.settle_lock(core.clock.now()))
    account = await core.store.get_account(shopper.account_id)
    # the user id too: a ticket JWT outlives a deleted account, whose id SQLite may give a later one
    if (account is None or not account.is_active or account.customer_set_id != shopper.customer_set_id
            or account.user_id != shopper.user_id):
        raise _token_refused()
    return await shopper_view(core, account.settle_lock(core.clock.now()))
