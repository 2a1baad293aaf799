"""The pure rules of mailed login codes: the 2FA triggers, who may log in with a code, code shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ticketbooth.domain.models import KIND_FINGERPRINT, KIND_REGION
from ticketbooth.domain.policies import SiteSettings
from ticketbooth.infra.tokens import new_digits
from ticketbooth.login.rules import (
    CODE_DIGITS,
    LoginGate,
    locked_by_failures,
    may_use_code,
    normalize_code,
    two_factor_reasons,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
KNOWN = {(KIND_FINGERPRINT, "f1"), (KIND_REGION, "r1")}


def gate(**changes: object) -> LoginGate:
    values: dict[str, object] = dict(account_id=1, is_active=True, is_locked=False, lock_expires_at=None,
                                     failed_login_count=0, has_login=True)
    values.update(changes)
    return LoginGate(**values)  # type: ignore[arg-type]


def test_no_trigger_no_second_factor() -> None:
    assert two_factor_reasons(SiteSettings(), set(), None, None) == []


def test_always_asks_even_on_a_known_device() -> None:
    assert two_factor_reasons(SiteSettings(two_factor=["always"]), KNOWN, "f1", "r1") == ["always"]


def test_new_device_and_region_change() -> None:
    site = SiteSettings(two_factor=["new-device", "region-change"])
    assert two_factor_reasons(site, KNOWN, "f1", "r1") == []
    assert two_factor_reasons(site, KNOWN, "f2", "r1") == ["new-device"]
    assert two_factor_reasons(site, KNOWN, "f1", "r2") == ["region-change"]
    assert two_factor_reasons(site, KNOWN, None, None) == ["new-device", "region-change"]
    # a fingerprint hash is no region hash
    assert two_factor_reasons(SiteSettings(two_factor=["region-change"]), KNOWN, None, "f1") == ["region-change"]


def test_who_may_log_in_with_a_code() -> None:
    assert may_use_code(gate(), NOW)
    assert not may_use_code(None, NOW)
    assert not may_use_code(gate(is_active=False), NOW)
    assert not may_use_code(gate(has_login=False), NOW)
    # locked by failed passwords: until a time, or for good once the count was reached
    assert may_use_code(gate(is_locked=True, lock_expires_at=NOW + timedelta(minutes=5)), NOW)
    assert may_use_code(gate(is_locked=True, failed_login_count=10), NOW)
    # an administrator's lock, marked so: also when laid over a lock by failed passwords
    assert not may_use_code(gate(is_locked=True, locked_by_admin=True), NOW)
    assert not may_use_code(gate(is_locked=True, failed_login_count=10, locked_by_admin=True), NOW)
    assert not locked_by_failures(gate(is_locked=True, locked_by_admin=True))
    assert locked_by_failures(gate(is_locked=True))
    # a lock that ran out no longer counts
    assert may_use_code(gate(is_locked=True, lock_expires_at=NOW - timedelta(seconds=1)), NOW)


def test_codes() -> None:
    codes = {new_digits(CODE_DIGITS) for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 150
    assert normalize_code(" 123-456 ") == "123456"
    assert normalize_code(None) == ""
    assert len(normalize_code("9" * 1000)) == 64
