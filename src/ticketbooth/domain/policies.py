"""Rules that need no I/O: tenant settings with their defaults, token lifetimes, the password policy,
and how logins and emails are compared."""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, model_validator

# The longest a JWT or app token may live, whatever a tenant sets. Retired signing keys stay
# published this long, so every token they signed can still be verified until it expires.
MAX_ACCESS_TOKEN_MINUTES = 24 * 60
MAX_APP_TOKEN_SECONDS = 24 * 3600


class TokenLifetimes(BaseModel):
    model_config = ConfigDict(extra="forbid")

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


class PasswordPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: Literal["default", "kibo-legacy"] = "default"
    """default: length only (NIST 800-63B). kibo-legacy: Kibo's old rule, >= 6 with a letter and a digit."""
    min_length: int = Field(default=8, ge=6, le=128)
    max_length: int = Field(default=128, ge=8, le=1024)
    refuse_common: bool = True

    @model_validator(mode="after")
    def _bounds(self) -> PasswordPolicy:
        if self.min_length > self.max_length:
            raise ValueError("min_length must not exceed max_length")
        return self


RESET_URL_FIELDS = ("code", "userName")


class MailSettings(BaseModel):
    """How the tenant's mail is signed: its sender, and the storefront page a reset link opens."""

    model_config = ConfigDict(extra="forbid")

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

    model_config = ConfigDict(extra="forbid")

    reset_code_hours: int = Field(default=72, ge=1, le=30 * 24)
    """How long a password-reset code works (Kibo: 72 hours)."""
    reset_max_failed_attempts: int = Field(default=5, ge=1, le=1000)
    """A reset code presented this many times with the wrong userName is void."""


class LockoutPolicy(BaseModel):
    """Failed password logins. They are counted now (loginState shows them with the attempts left);
    locking an account automatically when they run out is not done yet (a later change)."""

    model_config = ConfigDict(extra="forbid")

    max_failed_logins: int = Field(default=10, ge=1, le=1000)
    """Failed password logins allowed before the account is (later: automatically) locked."""


def remaining_login_attempts(policy: LockoutPolicy, failed_logins: int) -> int:
    return max(0, policy.max_failed_logins - failed_logins)


class TenantSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokens: TokenLifetimes = Field(default_factory=TokenLifetimes)
    password: PasswordPolicy = Field(default_factory=PasswordPolicy)
    mail: MailSettings = Field(default_factory=MailSettings)
    codes: CodeSettings = Field(default_factory=CodeSettings)
    lockout: LockoutPolicy = Field(default_factory=LockoutPolicy)


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
    """The form in which usernames and emails are compared: NFKC-normalized, case-folded, trimmed."""
    return unicodedata.normalize("NFKC", value).strip().casefold()


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
