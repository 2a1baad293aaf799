"""Rules that need no I/O: tenant settings with their defaults, token lifetimes, the password policy,
and how logins and emails are compared."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal, get_args
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

# The longest a JWT or app token may live, whatever a tenant sets. Retired signing keys stay
# published this long, so every token they signed can still be verified until it expires.
MAX_ACCESS_TOKEN_MINUTES = 24 * 60
MAX_APP_TOKEN_SECONDS = 24 * 3600


class TokenLifetimes(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    access_token_minutes: int = Field(default=15, ge=1, le=MAX_ACCESS_TOKEN_MINUTES)
    refresh_token_minutes: int = Field(default=24 * 60, ge=1, le=365 * 24 * 60)
    """Registered shoppers: counted from login, not extended by a refresh (as Kibo)."""
    anonymous_refresh_days: int = Field(default=30, ge=1, le=365)
    """Anonymous shoppers: sliding, so guest carts are not orphaned."""
    max_access_token_minutes: int = Field(default=60, ge=1, le=MAX_ACCESS_TOKEN_MINUTES)
    """Cap on authTicketTtlMinutes asked for by an application with configure-token-durations."""
    max_refresh_token_minutes: int = Field(default=30 * 24 * 60, ge=1, le=365 * 24 * 60)
    """Cap on refreshTokenTtlMinutes asked for by an application with configure-token-durations."""
    app_token_seconds: int = Field(default=3600, ge=60, le=MAX_APP_TOKEN_SECONDS)
    app_refresh_token_days: int = Field(default=30, ge=1, le=365)
    impersonation_minutes: int = Field(default=15, ge=1, le=60)
    """Lifetime of an impersonation ticket (/authtickets/impersonatecart); it has no refresh token."""


class PasswordPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    rule: Literal["default", "kibo-legacy"] = "default"
    """default: length only (NIST 800-63B). kibo-legacy: Kibo's old rule, >= 6 with a letter and a digit."""
    min_length: int = Field(default=8, ge=6, le=128)
    max_length: int = Field(default=128, ge=8, le=1024)
    refuse_common: bool = True
    min_strength: int = Field(default=0, ge=0, le=4)
    """The zxcvbn score (0 very guessable .. 4 very unguessable) a new password must reach, scored
    with the account's email, username and names as words it must not lean on. 0 (default): off."""

    @model_validator(mode="after")
    def _bounds(self) -> PasswordPolicy:
        if self.min_length > self.max_length:
            raise ValueError("min_length must not exceed max_length")
        return self


RESET_URL_FIELDS = ("code", "userName")


class MailSettings(BaseModel):
    """How the tenant's mail is signed: its sender, and the storefront page a reset link opens."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    from_address: str = Field(default="no-reply@localhost", pattern=r"^[^@\s<>\"]{1,64}@[^@\s<>\"]{1,253}$")
    from_name: str = Field(default="", max_length=200, pattern=r"^[^\r\n]*$")
    reset_url: str = Field(default="", max_length=2000)
    """Link put in the password-reset mail, e.g. `https://shop.example/reset?code={code}&user={userName}`;
    the placeholders are replaced URL-encoded. Empty: the mail gives the code alone."""

    @model_validator(mode="after")
    def _reset_url(self) -> MailSettings:
        if self.reset_url:
            if not self.reset_url.startswith(("https://", "http://")) or "{code}" not in self.reset_url:
                raise ValueError("reset_url must be an http(s) URL with a {code} placeholder")
        return self


def reset_link(template: str, values: dict[str, str]) -> str | None:
    """The reset URL of `template` with `{code}` and `{userName}` replaced (URL-encoded); None when
    there is no template. Plain replacement, not str.format: a tenant's template is data, not code."""
    if not template:
        return None
    link = template
    for name in RESET_URL_FIELDS:
        link = link.replace("{" + name + "}", quote(values.get(name, ""), safe=""))
    return link


class CodeSettings(BaseModel):
    """Single-use codes mailed to shoppers."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    reset_code_hours: int = Field(default=72, ge=1, le=30 * 24)
    """How long a password-reset code works (Kibo: 72 hours)."""
    reset_max_failed_attempts: int = Field(default=5, ge=1, le=1000)
    """A reset code presented this many times with the wrong userName is void."""
    otp_code_minutes: int = Field(default=3, ge=1, le=60)
    """How long a 2FA or one-time-passcode code (6 digits) works (Kibo: 3 minutes)."""
    otp_max_failed_attempts: int = Field(default=3, ge=1, le=10)
    """The wrong tries that void a 2FA or one-time-passcode code (Kibo: 3)."""
    otp_resend_seconds: int = Field(default=30, ge=0, le=3600)
    """The least time between two mails of one code (a resend, or a new OTP request for the same account)."""
    otp_max_sends: int = Field(default=5, ge=1, le=20)
    """How often one code may be mailed (the first mail and its resends)."""


TwoFactorTrigger = Literal["always", "new-device", "region-change"]
TWO_FACTOR_TRIGGERS: tuple[TwoFactorTrigger, ...] = get_args(TwoFactorTrigger)


_PASSKEY_ORIGIN = re.compile(r"^(https://[a-z0-9.-]{1,253}|http://(localhost|127\.0\.0\.1|\[::1\]))(:[0-9]{1,5})?$")
_RP_ID = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


class PasskeySettings(BaseModel):
    """Passkeys (WebAuthn) at a site: the relying party its shoppers' passkeys are made for and the
    storefront origins the browser ceremony may come from."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    rp_id: str = Field(default="", max_length=253)
    """The relying party id: the storefront's domain (e.g. shop.example.com, or a parent domain of it such
    as example.com). A passkey works only for the id it was made for: changing it strands the shoppers'
    passkeys. Empty (the default): passkeys are off at this site."""
    rp_name: str = Field(default="", max_length=100, pattern=r"^[^\r\n]*$")
    """The name the browser shows when a shopper adds a passkey. Empty: the site's name."""
    origins: list[str] = Field(default_factory=list, max_length=20)
    """The exact origins (scheme://host[:port]) of the storefront pages that call the browser's passkey
    API, e.g. https://shop.example.com. Each host must be the relying party id or under it; https, or
    http for localhost only."""
    fresh_login_minutes: int = Field(default=5, ge=1, le=24 * 60)
    """Adding a passkey needs a sign-in (password, code or passkey) within this many minutes."""
    challenge_seconds: int = Field(default=300, ge=30, le=3600)
    """How long the browser has to answer a passkey ceremony (registration or sign-in)."""

    @model_validator(mode="after")
    def _origins_under_the_rp_id(self) -> PasskeySettings:
        if not self.rp_id:
            return self
        if not _RP_ID.match(self.rp_id):
            raise ValueError("rp_id must be a lower-case domain name, without scheme or port")
        if not self.origins:
            raise ValueError("origins must name at least one storefront origin when rp_id is set")
        for origin in self.origins:
            if not _PASSKEY_ORIGIN.match(origin):
                raise ValueError(f"origin {origin!r} must be https://host[:port] (http only for localhost)")
            host = urlsplit(origin).hostname or ""
            if host != self.rp_id and not host.endswith("." + self.rp_id):
                raise ValueError(f"origin {origin!r} is not on the relying party id {self.rp_id!r}")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.rp_id)


class SiteSettings(BaseModel):
    """What a storefront (site) switches on for its shoppers. Stored in `sites.settings`."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    two_factor: list[TwoFactorTrigger] = Field(default_factory=list, max_length=3)
    """When a correct password also needs an emailed code: "always", on a device fingerprint the account
    has not completed a login from ("new-device"), or from a region it has not ("region-change"). Empty
    (the default, as Kibo): never. A login that names no fingerprint (region) counts as a new one."""
    otp_login: bool = True
    """Log in with an emailed one-time passcode instead of a password (/otp/request, /otp/auth). On by
    default: it is what lets the owner of an account locked by failed passwords in. Refused all the same
    at a site whose `two_factor` holds "always": a mailed code alone is one factor."""

    passkeys: PasskeySettings = Field(default_factory=PasskeySettings)
    """Passkeys (WebAuthn) for this site's shoppers: off until `rp_id` is set."""

    def otp_allowed(self) -> bool:
        return self.otp_login and "always" not in self.two_factor


def meets_two_factor_rule(settings: SiteSettings, met: Iterable[str]) -> bool:
    """Whether a login that satisfied the 2FA triggers `met` may act at a site with `settings`: every
    trigger of the site must be among them (a login that went through a second factor meets them all; a
    password alone meets those of the site it was checked at, which found none due)."""
    return set(settings.two_factor) <= set(met)


class LockoutPolicy(BaseModel):
    """Failed password logins: counted per account (loginState shows them with the attempts left) and
    per (client address, account). The `max_failed_logins`-th consecutive failure locks the account
    for `lock_minutes` (new password logins are refused; sessions already open go on); an address
    that failed `max_failed_logins_per_address` times on one account has its further password
    attempts there refused (and not counted against the account), so one address alone cannot lock a
    shopper out while the per-address limit is below the per-account one (5 and 10 by default: two
    addresses can, which is what stops guessing spread over many)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    max_failed_logins: int = Field(default=10, ge=1, le=1000)
    """Consecutive failed password logins that lock the account."""
    lock_minutes: int = Field(default=30, ge=0, le=365 * 24 * 60)
    """How long an automatic lock lasts; 0: until unlocked (password reset, admin, Change-Password
    with unlockAccount)."""
    max_failed_logins_per_address: int = Field(default=5, ge=1, le=1000)
    """Failed password attempts (logins, and Change-Password with the old password) from one client
    address on one account, whichever of its login names is used, before that address's attempts on
    it are refused. They come back at this many per `address_window_minutes`."""
    address_window_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    """The period over which the per-address allowance refills completely."""
    failed_logins_event: int = Field(default=5, ge=0, le=1000)
    """The consecutive failed password logins of an account that publish a `customeraccount.loginfailed`
    event (events/, issue 17), once per run of failures (when the count reaches it); 0: never."""


def remaining_login_attempts(policy: LockoutPolicy, failed_logins: int) -> int:
    return max(0, policy.max_failed_logins - failed_logins)


def lock_in_force(is_locked: bool, lock_expires_at: datetime | None, now: datetime) -> bool:
    """Whether a lock still holds: a lock with an expiry counts only until then."""
    return is_locked and (lock_expires_at is None or lock_expires_at > now)


def lock_expiry(policy: LockoutPolicy, now: datetime) -> datetime | None:
    """When an automatic lock made at `now` ends (None: it lasts until unlocked)."""
    return now + timedelta(minutes=policy.lock_minutes) if policy.lock_minutes else None


class AuditSettings(BaseModel):
    """The audit trail of security events."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    keep_days: int = Field(default=365, ge=1, le=10 * 365)
    """Entries older than this are purged."""


class RateBucket(BaseModel):
    """One token bucket: `capacity` requests at once (the burst), refilled at `per_minute`."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    capacity: int = Field(ge=1, le=1_000_000)
    per_minute: float = Field(gt=0, le=6_000_000)

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


class RateLimit(BaseModel):
    """The limits of one class of endpoint. `per_address` is keyed on the client address (applications
    with customer:admin are exempt), `per_account` on the account or login name the request is about,
    `per_storefront_server` on the application, for the proven calls of an application flagged as a
    storefront's server (which are counted per address only when they forward the shopper's address).
    A bucket set to null, or `enabled: false`, switches that limit off: only ever explicitly."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    enabled: bool = True
    per_address: RateBucket | None
    per_account: RateBucket | None
    per_storefront_server: RateBucket | None


def _bucket(capacity: int, per_minute: float) -> dict[str, float]:
    return {"capacity": capacity, "per_minute": per_minute}


STOREFRONT_SERVER_SCALE = 50
"""A storefront server's default budget per class: this many times the per-address bucket (anonymous
tickets: 60,000 at once refilling 1,000 a second, over three times the 300 new visitors a second of a
busy storefront)."""


def _limits(per_address: dict[str, float], per_account: dict[str, float] | None) -> dict[str, object]:
    scaled = {"capacity": int(per_address["capacity"] * STOREFRONT_SERVER_SCALE),
              "per_minute": per_address["per_minute"] * STOREFRONT_SERVER_SCALE}
    return {"per_address": per_address, "per_account": per_account, "per_storefront_server": scaled}


# The defaults (README "Rate limits"). Per address they are generous, because a storefront backend
# that does not forward X-Forwarded-For through a trusted proxy calls from ONE address for all its
# shoppers; per account they are tight, because no shopper logs in or asks for codes that often.
RATE_LIMIT_DEFAULTS: dict[str, dict[str, object]] = {
    "login": _limits(_bucket(300, 300), _bucket(10, 1)),
    "refresh": _limits(_bucket(1200, 1200), _bucket(60, 30)),
    "anonymous": _limits(_bucket(1200, 1200), None),
    "registration": _limits(_bucket(120, 60), _bucket(10, 1)),
    "code_request": _limits(_bucket(300, 120), _bucket(5, 0.2)),
    "password_reset": _limits(_bucket(120, 60), _bucket(6, 0.2)),
    # Codes tried (2FA and one-time passcode). Per account it is a hard cap on guessing: 20 tries and
    # then 20 more a day, so a 6-digit code is found with a chance of about 1 in 25,000 a day at most.
    "code_verify": _limits(_bucket(120, 60), _bucket(20, 20 / (24 * 60))),
}


def _laid_over(default: dict[str, object], given: dict[str, object]) -> dict[str, object]:
    """`given` over `default`, one level down too: a bucket given in part keeps the default's other field."""
    merged = dict(default)
    for key, value in given.items():
        below = default.get(key)
        merged[key] = {**below, **value} if isinstance(below, dict) and isinstance(value, dict) else value
    return merged


class RateLimits(BaseModel):
    """Token-bucket rate limits per class of endpoint. A tenant's settings are laid over the defaults
    field by field, so `{"login": {"per_account": {"capacity": 20, "per_minute": 2}}}` changes only that."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    login: RateLimit
    refresh: RateLimit
    anonymous: RateLimit
    registration: RateLimit
    code_request: RateLimit
    password_reset: RateLimit
    code_verify: RateLimit

    @model_validator(mode="before")
    @classmethod
    def _over_defaults(cls, data: object) -> object:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            return data
        merged: dict[str, object] = {}
        for name, default in RATE_LIMIT_DEFAULTS.items():
            given = data.get(name)
            if isinstance(given, RateLimit):
                given = given.model_dump()
            merged[name] = _laid_over(default, given) if isinstance(given, dict) else (default if given is None else given)
        merged.update({k: v for k, v in data.items() if k not in RATE_LIMIT_DEFAULTS})  # extra=forbid names them
        return merged

    def of(self, name: str) -> RateLimit:
        """The limits of the class named `name` (a `services.limits.Limit` value, e.g. "code-request")."""
        limit: RateLimit = getattr(self, name.replace("-", "_"))
        return limit


class TenantSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    rate_limits: RateLimits = Field(default_factory=lambda: RateLimits.model_validate({}))

    tokens: TokenLifetimes = Field(default_factory=TokenLifetimes)
    password: PasswordPolicy = Field(default_factory=PasswordPolicy)
    mail: MailSettings = Field(default_factory=MailSettings)
    codes: CodeSettings = Field(default_factory=CodeSettings)
    lockout: LockoutPolicy = Field(default_factory=LockoutPolicy)
    audit: AuditSettings = Field(default_factory=AuditSettings)


def strength_problem(score: int | None, policy: PasswordPolicy) -> str | None:
    """How a password of zxcvbn `score` fails `policy.min_strength`; None when it passes or was not scored."""
    if score is None or score >= policy.min_strength:
        return None
    return f"is too easy to guess (strength {score} of 4; at least {policy.min_strength} is required)"


_WORDS = re.compile(r"[^\W_]{3,}")


def user_inputs(*values: str | None) -> list[str]:
    """The words a password must not lean on, from an account's email, username and names: each
    value whole, an email's local part, and every word of three or more letters or digits in them."""
    words: dict[str, None] = {}
    for value in values:
        if not value:
            continue
        value = value.strip().lower()[:200]
        words.setdefault(value)
        words.setdefault(value.partition("@")[0])
        for word in _WORDS.findall(value):
            words.setdefault(word)
    return [w for w in words if w]


def problems_with_password(password: str, policy: PasswordPolicy, is_common: bool) -> list[str]:
    """Every way `password` fails `policy`; empty when it passes. `is_common` comes from the bundled list."""
    problems: list[str] = []
    minimum = 6 if policy.rule == "kibo-legacy" else policy.min_length
    if len(password) < minimum:
        problems.append(f"must be at least {minimum} characters")
    if len(password) > policy.max_length:
        problems.append(f"must be at most {policy.max_length} characters")
    if policy.rule == "kibo-legacy" and not (
        any(c.isalpha() for c in password) and any(c.isdigit() for c in password)
    ):
        problems.append("must contain a letter and a digit")
    if policy.refuse_common and is_common:
        problems.append("is too common")
    return problems


def login_key(value: str) -> str:
    """The form in which usernames and emails are compared: NFKC-normalized, trimmed, case-folded and
    NFKC-normalized again. Case folding can undo the normal form (ß + a combining accent folds to
    'ss' + the accent, which NFKC composes), so without the second pass two spellings of one name
    could get different keys, and a key would not be its own key."""
    return fold_login(unicodedata.normalize("NFKC", value).strip())


def fold_login(value: str) -> str:
    """`login_key` without the trimming: the form of a fragment of a login name (a filter's prefix)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


def normalize_username(value: str) -> str:
    """How a username is stored: NFKC-normalized and trimmed, case kept as given."""
    return unicodedata.normalize("NFKC", value).strip()


def ticket_ttls(
    lifetimes: TokenLifetimes,
    *,
    anonymous: bool,
    requested_access_minutes: int | None = None,
    requested_refresh_minutes: int | None = None,
) -> tuple[timedelta, timedelta]:
    """Access and refresh lifetimes for a new token family. Requested values (only honoured when the
    caller's application may configure durations) are capped by the tenant's maximums."""
    access = lifetimes.access_token_minutes
    refresh = (
        lifetimes.anonymous_refresh_days * 24 * 60 if anonymous else lifetimes.refresh_token_minutes
    )
    if requested_access_minutes is not None:
        access = min(requested_access_minutes, lifetimes.max_access_token_minutes)
    if requested_refresh_minutes is not None:
        refresh = min(requested_refresh_minutes, lifetimes.max_refresh_token_minutes)
    return timedelta(minutes=access), timedelta(minutes=refresh)
