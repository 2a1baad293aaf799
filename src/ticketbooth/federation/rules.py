"""The pure rules of OpenID Connect federation: which account a provider's identity signs in to (the linking
rule, written once here), whether a return URL is one of the site's, what a provider's alias, issuer claims and
scopes may be, and the records the flows hand around. No I/O: federation/flows.py asks the store and the
provider, then these rules decide.

The linking rule (issue 19, i19.md), in this order:
1. the (provider, subject) is linked already: that account (an inactive account, or one an administrator
   locked, is refused; a lock from failed passwords does not block);
2. a link flow (a signed-in shopper started it after a fresh login): link to that account, unless the identity
   is linked to another one (rule 1 saw it);
3. the provider says the email is verified AND the tenant trusts this provider's emails AND an account of the
   site's customer set has that email: link to it automatically and sign in;
4. verified email, an account has it, provider not trusted: `link_required` (sign in, then link);
5. no account has it: with `createAccounts` and a verified email, a new account (no password), linked, signed
   in; else `registration_closed` / `email_unverified`. An unverified email never links and is never looked up
   (the flow does not even ask the store), so the answers tell nothing about which emails have accounts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ticketbooth.domain.errors import InvalidParameter

ALIAS = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62})$")
DISPLAY_NAME_MAX = 200
CLIENT_ID_MAX = 500
CLIENT_SECRET_MAX = 4000
SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,100}$")
"""RFC 6749 section 3.3's scope-token characters."""
MAX_SCOPES = 20
DEFAULT_SCOPES = ("openid", "email", "profile")
SUBJECT_MAX = 255
EMAIL_MAX = 320
LEEWAY_SECONDS = 60
"""Clock skew allowed when checking an ID token's `exp` and `iat`."""
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
"""Asymmetric algorithms only: `none` and the HMAC family (keyed with the client secret) are refused."""


# -- records --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ProviderEndpoints:
    """What discovery told of a provider, kept with it (refreshed when the provider is saved again)."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_auth_methods: tuple[str, ...] = ("client_secret_basic",)
    response_mode: str = "query"
    """How the provider sends the shopper back: `query` (a GET with ?code=&state=) or `form_post` (a POST form:
    Apple's, when the email or name scope is asked)."""

    def as_json(self) -> dict[str, Any]:
        return {"authorization_endpoint": self.authorization_endpoint, "token_endpoint": self.token_endpoint,
                "jwks_uri": self.jwks_uri, "token_endpoint_auth_methods_supported": list(self.token_auth_methods),
                "response_mode": self.response_mode}

    @staticmethod
    def from_json(value: dict[str, Any]) -> ProviderEndpoints:
        return ProviderEndpoints(
            authorization_endpoint=str(value["authorization_endpoint"]), token_endpoint=str(value["token_endpoint"]),
            jwks_uri=str(value["jwks_uri"]),
            token_auth_methods=tuple(value.get("token_endpoint_auth_methods_supported") or ("client_secret_basic",)),
            response_mode=str(value.get("response_mode") or "query"))

    @property
    def client_auth(self) -> str:
        """How the client secret is sent to the token endpoint: HTTP Basic unless the provider offers only the
        form field (RFC 6749 2.3.1: Basic is the one every server must support)."""
        methods = self.token_auth_methods
        if "client_secret_basic" in methods or "client_secret_post" not in methods:
            return "client_secret_basic"
        return "client_secret_post"


@dataclass(frozen=True, slots=True)
class Provider:
    """A tenant's identity provider, without its client secret (sealed in the store: `secret` below)."""

    id: int
    tenant_id: int
    alias: str
    display_name: str
    issuer: str
    client_id: str
    scopes: tuple[str, ...]
    trust_email: bool
    create_accounts: bool
    is_enabled: bool
    endpoints: ProviderEndpoints
    has_secret: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LinkedIdentity:
    id: int
    tenant_id: int
    provider_id: int
    account_id: int
    subject: str
    email: str | None
    created_at: datetime
    last_used_at: datetime | None
    provider_alias: str = ""
    provider_name: str = ""


@dataclass(frozen=True, slots=True)
class Flow:
    """A sign-in under way: who started it (tenant, site, application), where it returns, for which provider,
    and, for a link flow, the account it links to. Its state and nonce are kept as hashes, its PKCE verifier
    sealed."""

    id: str
    tenant_id: int
    site_id: int
    application_id: int
    provider_id: int
    return_url: str
    nonce_hash: str
    verifier: bytes
    link_account_id: int | None
    previous_anonymous: str | None
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ExchangeGrant:
    """What a spent exchange code stood for: the account to sign in and how the provider proved it."""

    flow_id: str
    tenant_id: int
    site_id: int
    application_id: int
    account_id: int
    identity_id: int
    provider_mfa: bool
    previous_anonymous: str | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Assertion:
    """What a validated ID token says of the shopper."""

    subject: str
    email: str | None
    email_verified: bool
    given_name: str | None
    family_name: str | None
    mfa: bool


# -- provider input ------------------------------------------------------------------------------------------

def check_alias(value: str | None) -> str:
    alias = (value or "").strip().lower()
    if not ALIAS.match(alias) or alias.isdigit():
        raise InvalidParameter("alias", "Missing or invalid parameter: alias must be 1 to 63 lower-case letters, "
                               "digits, '-' or '_' (not only digits: an id is a number)", (value or "")[:70])
    return alias


def check_text(name: str, value: str | None, limit: int, *, required: bool = True) -> str:
    text = (value or "").strip()
    if (required and not text) or len(text) > limit or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} is required, at most {limit} printable "
                               "characters" if required else f"Missing or invalid parameter: {name} may be at most "
                               f"{limit} printable characters")
    return text


def check_scopes(value: list[str] | None) -> tuple[str, ...]:
    """The scopes asked of the provider: `openid` first and always, each once."""
    out = ["openid"]
    for raw in value or list(DEFAULT_SCOPES):
        scope = (raw or "").strip()
        if not SCOPE.match(scope):
            raise InvalidParameter("scopes", "Missing or invalid parameter: scopes must be scope tokens (RFC 6749 "
                                   "3.3)", scope[:100])
        if scope not in out:
            out.append(scope)
    if len(out) > MAX_SCOPES:
        raise InvalidParameter("scopes", f"Missing or invalid parameter: at most {MAX_SCOPES} scopes")
    return tuple(out)


# -- return URLs and the redirect back -----------------------------------------------------------------------

def return_url_allowed(url: str | None, allowed: list[str]) -> bool:
    """Whether `url` is, character for character, one of the site's return URLs (no prefix, no normalising:
    `https://shop.example/cb` does not admit `https://shop.example/cb/../evil` or `https://shop.example/cb?x`)."""
    return bool(url) and any(url == candidate for candidate in allowed)


def back_to(return_url: str, params: dict[str, str]) -> str:
    """The return URL with `params` added to its query (its own query kept)."""
    parts = urlsplit(return_url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


# -- the errors a return URL is told -------------------------------------------------------------------------

class SignInError(StrEnum):
    """The `error` a return URL gets when the sign-in did not end in a code (OAuth-style names)."""

    ACCESS_DENIED = "access_denied"
    """The shopper (or the provider) declined."""
    PROVIDER_ERROR = "provider_error"
    """The provider could not be reached, or answered the code exchange with an error."""
    INVALID_ID_TOKEN = "invalid_id_token"
    """The provider's ID token failed a check (signature, issuer, audience, expiry, nonce)."""
    LINK_REQUIRED = "link_required"
    """An account has this email, and the provider is not trusted for emails: sign in there, then link."""
    IDENTITY_LINKED_ELSEWHERE = "identity_linked_elsewhere"
    """A link flow for an identity that belongs to another account."""
    ACCOUNT_UNAVAILABLE = "account_unavailable"
    """The account is inactive or locked by an administrator."""
    EMAIL_UNVERIFIED = "email_unverified"
    """No linked account, and the provider did not say the email is verified: nothing is linked or created."""
    REGISTRATION_CLOSED = "registration_closed"
    """No account has the email, and this provider creates none."""
    PROVIDER_DISABLED = "provider_disabled"
    TEMPORARILY_UNAVAILABLE = "temporarily_unavailable"
    """Too many sign-ins from this address, or the service is busy: try again later."""


ERROR_DESCRIPTIONS: dict[SignInError, str] = {
    SignInError.ACCESS_DENIED: "The sign-in was declined at the provider.",
    SignInError.PROVIDER_ERROR: "The identity provider could not complete the sign-in.",
    SignInError.INVALID_ID_TOKEN: "The identity provider's answer failed validation.",
    SignInError.LINK_REQUIRED: "An account with this email address exists: sign in to it, then link this "
                               "provider from the account.",
    SignInError.IDENTITY_LINKED_ELSEWHERE: "This provider identity is linked to another account.",
    SignInError.ACCOUNT_UNAVAILABLE: "The account cannot sign in.",
    SignInError.EMAIL_UNVERIFIED: "The identity provider did not confirm the email address.",
    SignInError.REGISTRATION_CLOSED: "No account is linked to this identity, and new accounts are not created "
                                     "from this provider.",
    SignInError.PROVIDER_DISABLED: "This identity provider is not enabled.",
    SignInError.TEMPORARILY_UNAVAILABLE: "Too many sign-in attempts: try again later.",
}


# -- the linking rule ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AccountFacts:
    """What the rule needs to know of an account."""

    id: int
    is_active: bool
    locked_by_admin: bool

    @property
    def usable(self) -> bool:
        return self.is_active and not self.locked_by_admin


class Outcome(StrEnum):
    SIGN_IN = "sign-in"
    """The identity is linked to the account already."""
    LINK = "link"
    """Link the identity to the account, then sign in."""
    CREATE = "create"
    """Create an account (no password) for the email, link, sign in."""
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    account_id: int | None = None
    error: SignInError | None = None
    reason: str = ""
    """Which rule decided (for the audit trail)."""


def refuse(error: SignInError, reason: str) -> Decision:
    return Decision(Outcome.REFUSE, error=error, reason=reason)


def needs_email_lookup(linked: AccountFacts | None, link_target: AccountFacts | None, assertion: Assertion) -> bool:
    """Whether the flow should look up the account of the asserted email: only when neither rule 1 nor rule 2
    decides, and only for an email the provider says it verified (an unverified email is never looked up)."""
    return linked is None and link_target is None and assertion.email_verified and bool(assertion.email)


def decide(*, linked: AccountFacts | None, link_flow: bool, link_target: AccountFacts | None,
           assertion: Assertion, trust_email: bool, create_accounts: bool,
           email_account: AccountFacts | None) -> Decision:
    """The linking rule (module docstring). `linked`: the account the (provider, subject) is linked to, if
    any; `link_flow`: a signed-in shopper started the flow to link `link_target` (None when that account is
    gone); `email_account`: the account of the asserted email in the site's customer set, looked up only when
    `needs_email_lookup` said so."""
    if linked is not None:  # rule 1
        if link_flow and (link_target is None or link_target.id != linked.id):
            return refuse(SignInError.IDENTITY_LINKED_ELSEWHERE, "linked-elsewhere")
        if not linked.usable:
            return refuse(SignInError.ACCOUNT_UNAVAILABLE, "account-unavailable")
        return Decision(Outcome.SIGN_IN, linked.id, reason="linked")
    if link_flow:  # rule 2
        if link_target is None or not link_target.usable:
            return refuse(SignInError.ACCOUNT_UNAVAILABLE, "account-unavailable")
        return Decision(Outcome.LINK, link_target.id, reason="link-flow")
    if not assertion.email or not assertion.email_verified:
        return refuse(SignInError.EMAIL_UNVERIFIED, "email-unverified")
    if email_account is not None:
        if not trust_email:  # rule 4
            return refuse(SignInError.LINK_REQUIRED, "link-required")
        if not email_account.usable:
            return refuse(SignInError.ACCOUNT_UNAVAILABLE, "account-unavailable")
        return Decision(Outcome.LINK, email_account.id, reason="trusted-email")  # rule 3
    if not create_accounts:  # rule 5
        return refuse(SignInError.REGISTRATION_CLOSED, "registration-closed")
    return Decision(Outcome.CREATE, reason="created")


# -- what an ID token says -------------------------------------------------------------------------------

def _flag(value: object) -> bool:
    """An OIDC boolean claim: true, or the string "true" (Apple sends `email_verified` as a string)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _short(value: object, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > limit or any(ord(c) < 32 or ord(c) == 127 for c in text):
        return None
    return text


def assertion_of(claims: dict[str, Any]) -> Assertion:
    """The shopper as an ID token's (validated) claims describe them. `sub` is required (ValueError without
    one); an email that is not a plausible address counts as none."""
    subject = _short(claims.get("sub"), SUBJECT_MAX)
    if subject is None:
        raise ValueError("the ID token has no usable sub")
    email = _short(claims.get("email"), EMAIL_MAX)
    if email is not None and ("@" not in email or " " in email):
        email = None
    amr = claims.get("amr")
    mfa = isinstance(amr, list) and "mfa" in amr
    return Assertion(subject=subject, email=email, email_verified=email is not None and _flag(claims.get("email_verified")),
                     given_name=_short(claims.get("given_name"), 100), family_name=_short(claims.get("family_name"), 100),
                     mfa=mfa)


def audience_problem(claims: dict[str, Any], client_id: str) -> str | None:
    """OIDC Core 3.1.3.7 (3)-(5): our client id must be among `aud`; with several audiences `azp` must be
    present and be our client id; an `azp` present must be our client id."""
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        return "aud"
    azp = claims.get("azp")
    if len(audiences) > 1 and azp is None:
        return "azp"
    if azp is not None and azp != client_id:
        return "azp"
    return None
