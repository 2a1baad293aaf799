"""The pure rules of mailed login codes (2FA and one-time passcodes): when a second factor is due,
who may log in with a code, and what a typed code is. The flows that mail and check the codes are in
login/challenges.py; the random digits come from infra/tokens.py (`new_digits`), so these rules
take no randomness and no clock of their own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ticketbooth.domain.models import KIND_FINGERPRINT, KIND_REGION
from ticketbooth.domain.policies import SiteSettings

CODE_DIGITS = 6
MAX_CODE = 64


@dataclass(frozen=True, slots=True)
class LoginGate:
    """What decides whether an account may log in with a code."""

    account_id: int
    is_active: bool
    is_locked: bool
    lock_expires_at: datetime | None
    failed_login_count: int
    has_login: bool
    locked_by_admin: bool = False


def normalize_code(value: str | None) -> str:
    """A code as typed: spaces and dashes between the digits do not count."""
    return "".join(ch for ch in (value or "") if ch not in " -\t")[:MAX_CODE]


def two_factor_reasons(settings: SiteSettings, known: set[tuple[str, str]], fingerprint_hash: str | None,
                       region_hash: str | None) -> list[str]:
    """Which of the site's triggers make a second factor due; empty: none. A login that names no
    fingerprint (region) cannot show it is a known one, so it counts as new."""
    reasons: list[str] = []
    for trigger in settings.two_factor:
        if trigger == "always":
            reasons.append(trigger)
        elif trigger == "new-device" and (fingerprint_hash is None or (KIND_FINGERPRINT, fingerprint_hash) not in known):
            reasons.append(trigger)
        elif trigger == "region-change" and (region_hash is None or (KIND_REGION, region_hash) not in known):
            reasons.append(trigger)
    return reasons


def locked_by_failures(gate: LoginGate) -> bool:
    """Whether the account's lock came from failed password logins rather than an administrator: an
    administrator's lock (Set-Login-Locked) is marked as such in the store, also when it was laid over
    a lock that failures had made."""
    return gate.is_locked and not gate.locked_by_admin


def may_log_in_without_password(gate: LoginGate | None, now: datetime) -> bool:
    """Whether an account may log in by a factor other than its password (a mailed code, a passkey, a
    provider's sign-in): it is active and not locked, or locked only by failed password logins (so an
    attacker guessing passwords cannot shut the owner out), or its lock has run out."""
    if gate is None or not gate.is_active:
        return False
    if not gate.is_locked or (gate.lock_expires_at is not None and gate.lock_expires_at <= now):
        return True
    return locked_by_failures(gate)


def may_use_code(gate: LoginGate | None, now: datetime) -> bool:
    """Whether an account may log in with a mailed code: it has a login, and may log in without its password."""
    return gate is not None and gate.has_login and may_log_in_without_password(gate, now)
