"""Pure rules of staff accounts: roles and what each may do, the records the flows pass around, session
timeouts, the shape of TOTP and recovery codes. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ticketbooth.domain.policies import lock_in_force


class Role(StrEnum):
    VIEWER = "viewer"
    SUPPORT = "support"
    ADMIN = "admin"


ROLES = tuple(Role)
"""Lowest first: each role may do what the roles before it may, and more."""


class Action(StrEnum):
    """What a staff member may ask of the console. Every page handler that changes something names one
    and asks `may` (console/context.py `StaffContext.require`)."""

    VIEW = "view"
    """Read pages: customers, their sessions and trail, settings, applications (never a secret)."""
    # support
    LOCK = "lock"
    UNLOCK = "unlock"
    END_SESSIONS = "end-sessions"
    SEND_RESET = "send-reset"
    REQUIRE_PASSWORD_CHANGE = "require-password-change"
    IMPERSONATE = "impersonate"
    EDIT_CUSTOMER = "edit-customer"
    END_STAFF_SESSION = "end-staff-session"
    """End another staff member's console session (a stolen laptop): support and admin."""
    # admin
    MANAGE_APPLICATIONS = "manage-applications"
    ROTATE_KEYS = "rotate-keys"
    EDIT_SETTINGS = "edit-settings"
    MANAGE_WEBHOOKS = "manage-webhooks"
    MANAGE_STAFF = "manage-staff"
    # issue 19: passkeys and identity providers
    REMOVE_SIGN_IN_METHOD = "remove-sign-in-method"
    """Remove a customer's passkey or unlink an identity of a provider (a lost phone, a taken-over
    provider account): support and admin."""
    MANAGE_IDENTITY_PROVIDERS = "manage-identity-providers"
    """Add, change, switch off and delete the tenant's identity providers (OpenID Connect): admin."""


_LEAST_ROLE: dict[Action, Role] = {
    Action.VIEW: Role.VIEWER,
    Action.LOCK: Role.SUPPORT,
    Action.UNLOCK: Role.SUPPORT,
    Action.END_SESSIONS: Role.SUPPORT,
    Action.SEND_RESET: Role.SUPPORT,
    Action.REQUIRE_PASSWORD_CHANGE: Role.SUPPORT,
    Action.IMPERSONATE: Role.SUPPORT,
    Action.EDIT_CUSTOMER: Role.SUPPORT,
    Action.END_STAFF_SESSION: Role.SUPPORT,
    Action.MANAGE_APPLICATIONS: Role.ADMIN,
    Action.ROTATE_KEYS: Role.ADMIN,
    Action.EDIT_SETTINGS: Role.ADMIN,
    Action.MANAGE_WEBHOOKS: Role.ADMIN,
    Action.MANAGE_STAFF: Role.ADMIN,
    Action.REMOVE_SIGN_IN_METHOD: Role.SUPPORT,
    Action.MANAGE_IDENTITY_PROVIDERS: Role.ADMIN,
}


def may(role: str, action: str) -> bool:
    """Whether a staff member of `role` may do `action`: the one place this is decided. An unknown role
    or action may nothing."""
    try:
        wanted, have = _LEAST_ROLE[Action(action)], Role(role)
    except ValueError:
        return False
    return ROLES.index(have) >= ROLES.index(wanted)


def parse_role(value: str | None) -> Role | None:
    try:
        return Role((value or "").strip().lower())
    except ValueError:
        return None


# -- records -----------------------------------------------------------------------------------------

STATUS_INVITED = "invited"
"""Created, the enrolment link not used yet: cannot sign in."""
STATUS_ACTIVE = "active"
STATUS_DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class Staff:
    id: int
    tenant_id: int
    email: str
    role: Role
    status: str
    created_at: datetime
    created_by: str | None
    last_sign_in_at: datetime | None = None
    failed_count: int = 0
    is_locked: bool = False
    lock_expires_at: datetime | None = None
    has_totp: bool = False
    recovery_codes_left: int = 0
    passkeys: int = 0
    """How many passkeys the staff member holds (staff/passkeys.py)."""

    @property
    def actor(self) -> str:
        """The name written in audit entries (and as the console caller's client id): `staff:<email>`."""
        return f"staff:{self.email}"

    def locked(self, now: datetime) -> bool:
        return lock_in_force(self.is_locked, self.lock_expires_at, now)


@dataclass(frozen=True, slots=True)
class StaffLogin:
    """What a sign-in needs of a staff member, read in one statement (secrets included: never shown)."""

    staff: Staff
    password_hash: str | None
    totp_secret: str | None
    """Sealed (infra/totp.py `seal`)."""
    totp_last_step: int | None


STAGE_PENDING = "pending"
"""The password was right; the second factor is awaited. Grants nothing but the code form."""
STAGE_SIGNED_IN = "signed-in"


@dataclass(frozen=True, slots=True)
class StaffSession:
    id: int
    staff_id: int
    stage: str
    created_at: datetime
    last_seen_at: datetime
    authenticated_at: datetime
    """When the staff member last proved password and second factor (sign-in or re-authentication)."""
    client_address: str | None
    user_agent: str | None
    ended_at: datetime | None = None
    ended_by: str | None = None


# Why a staff session ended (stored in staff_sessions.ended_by)
ENDED_BY_SIGN_OUT = "sign-out"
ENDED_BY_REVOKED = "revoked"
ENDED_BY_DISABLED = "staff-disabled"
ENDED_BY_RESET_2FA = "second-factor-reset"
ENDED_BY_NEXT_STAGE = "next-stage"
"""A pending session replaced by the signed-in one (a new token: no session fixation)."""

PENDING_LIFETIME = timedelta(minutes=5)
"""How long a half sign-in (password right, code awaited) lasts."""


def session_live(session: StaffSession, now: datetime, idle: timedelta, absolute: timedelta) -> bool:
    """A session may be used: not ended, used within `idle`, younger than `absolute` (a pending one:
    younger than PENDING_LIFETIME)."""
    if session.ended_at is not None:
        return False
    if session.stage == STAGE_PENDING:
        return now - session.created_at < PENDING_LIFETIME
    return now - session.last_seen_at < idle and now - session.created_at < absolute


def recently_authenticated(session: StaffSession, now: datetime, window: timedelta) -> bool:
    return session.stage == STAGE_SIGNED_IN and now - session.authenticated_at < window


# -- codes ---------------------------------------------------------------------------------------------

TOTP_DIGITS = 6
TOTP_PERIOD_SECONDS = 30
TOTP_WINDOW_STEPS = 1
"""Codes of the step before and after the current one are accepted too (clocks drift)."""
RECOVERY_CODES = 10
_TOTP = re.compile(r"^\d{6}$")
_RECOVERY = re.compile(r"^[a-z0-9]{5}-?[a-z0-9]{5}$")


def clean_code(value: str | None) -> str:
    """A typed code without spaces, lower case (recovery codes are shown as xxxxx-xxxxx)."""
    return "".join((value or "").split()).lower()[:64]


def is_totp_code(code: str) -> bool:
    return bool(_TOTP.match(code))


def is_recovery_code(code: str) -> bool:
    return bool(_RECOVERY.match(code))


def recovery_code_key(code: str) -> str:
    """The form a recovery code is hashed in: without its dash."""
    return code.replace("-", "")


# -- passkeys (staff/passkeys.py) -----------------------------------------------------------------------

MAX_PASSKEYS = 10
"""Passkeys one staff member may hold (a phone, a laptop, a security key or two...)."""
PASSKEY_NAME_MAX = 64
CHALLENGE_REGISTER = "staff-register"
"""The purpose of a stored ceremony challenge (table passkey_challenges): a staff member adding a passkey."""
CHALLENGE_SIGN_IN = "staff-sign-in"
"""The purpose of a stored ceremony challenge: a console sign-in with a passkey (nobody named yet)."""
CHALLENGE_REAUTH = "staff-reauth"
"""The purpose of a stored ceremony challenge: a signed-in staff member proving it is them again."""
CHALLENGE_LIFETIME = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class StaffPasskey:
    """A staff member's passkey as the console shows it (no public key: the store keeps it for the
    ceremony, it is never shown)."""

    id: int
    staff_id: int
    name: str
    credential_id: str
    """base64url, as the browser names it."""
    created_at: datetime
    last_used_at: datetime | None
    backup_eligible: bool
    backed_up: bool
    transports: tuple[str, ...]
    aaguid: str


@dataclass(frozen=True, slots=True)
class StaffCredential:
    """What verifying a passkey sign-in needs of a stored passkey (the public key included)."""

    passkey: StaffPasskey
    public_key: bytes
    sign_count: int
    rp_id: str


def passkey_name(value: str | None, fallback: str) -> str:
    """A passkey's name as typed: spaces folded, control characters dropped, at most PASSKEY_NAME_MAX
    characters; `fallback` when nothing is left."""
    text = " ".join("".join(c for c in (value or "") if c.isprintable()).split())[:PASSKEY_NAME_MAX].strip()
    return text or fallback
