"""Pure rules: the password policy, how logins compare, ticket lifetimes, tenant settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from ticketbooth.core import common_passwords
from ticketbooth.domain.policies import (
    MAX_ACCESS_TOKEN_MINUTES,
    PasswordPolicy,
    TenantSettings,
    TokenLifetimes,
    login_key,
    normalize_username,
    problems_with_password,
    ticket_ttls,
)
from ticketbooth.login.passwords import password_problems

DEFAULT = PasswordPolicy()
LEGACY = PasswordPolicy(rule="kibo-legacy")


# -- password policy: default (length and the common list) -------------------------------------

def test_default_policy_accepts_8_to_128_characters() -> None:
    assert problems_with_password("x" * 8, DEFAULT, is_common=False) == []
    assert problems_with_password("x" * 128, DEFAULT, is_common=False) == []


def test_default_policy_refuses_fewer_than_8_characters() -> None:
    problems = problems_with_password("x" * 7, DEFAULT, is_common=False)
    assert problems == ["must be at least 8 characters"]


def test_default_policy_refuses_more_than_128_characters() -> None:
    assert problems_with_password("x" * 129, DEFAULT, is_common=False) == ["must be at most 128 characters"]


def test_default_policy_needs_no_character_classes() -> None:
    assert problems_with_password("abcdefgh", DEFAULT, is_common=False) == []
    assert problems_with_password("        ", DEFAULT, is_common=False) == []


def test_common_passwords_are_refused_unless_the_tenant_allows_them() -> None:
    assert problems_with_password("password1", DEFAULT, is_common=True) == ["is too common"]
    allowing = PasswordPolicy(refuse_common=False)
    assert problems_with_password("password1", allowing, is_common=True) == []


def test_every_problem_is_reported() -> None:
    assert problems_with_password("abc", LEGACY, is_common=True) == [
        "must be at least 6 characters", "must contain a letter and a digit", "is too common"]


def test_the_bundled_common_list_is_loaded_lower_cased() -> None:
    common = common_passwords()
    assert len(common) > 10_000
    assert {"password", "12345678", "qwerty"} <= common
    assert all(p == p.lower() for p in common)


def test_password_problems_checks_the_bundled_list_case_insensitively() -> None:
    assert password_problems("password", DEFAULT) == ["is too common"]
    assert password_problems("PassWord", DEFAULT) == ["is too common"]
    assert password_problems("a perfectly fine passphrase", DEFAULT) == []


def test_a_custom_minimum_length_counts() -> None:
    policy = PasswordPolicy(min_length=12)
    assert problems_with_password("x" * 11, policy, is_common=False) == ["must be at least 12 characters"]
    assert problems_with_password("x" * 12, policy, is_common=False) == []


# -- password policy: kibo-legacy (>= 6 with a letter and a digit) ------------------------------

@pytest.mark.parametrize("password", ["abc123", "1a2b3c", "Zz9999", "ab cd 1"])
def test_legacy_policy_accepts_six_or_more_with_a_letter_and_a_digit(password: str) -> None:
    assert problems_with_password(password, LEGACY, is_common=False) == []


def test_legacy_policy_refuses_fewer_than_six() -> None:
    assert problems_with_password("abc12", LEGACY, is_common=False) == ["must be at least 6 characters"]


@pytest.mark.parametrize("password", ["abcdefgh", "12345678", "!!!!!!!!", "abc!@#$%"])
def test_legacy_policy_needs_both_a_letter_and_a_digit(password: str) -> None:
    assert problems_with_password(password, LEGACY, is_common=False) == ["must contain a letter and a digit"]


def test_legacy_policy_keeps_the_maximum_length() -> None:
    assert problems_with_password("a1" * 65, LEGACY, is_common=False) == ["must be at most 128 characters"]


# -- login keys ----------------------------------------------------------------------------------

def test_login_key_casefolds_and_trims() -> None:
    assert login_key("  Shopper@Example.COM ") == "shopper@example.com"


def fullwidth(ascii_text: str) -> str:
    """`ABC` -> `\uff21\uff22\uff23` (FULLWIDTH LATIN CAPITAL LETTER A ...)."""
    return "".join(chr(ord(c) + 0xFEE0) for c in ascii_text)


def test_login_key_folds_fullwidth_letters_to_ascii() -> None:
    typed = fullwidth("SHOPPER@example.com")
    assert typed != "SHOPPER@example.com"
    assert login_key(typed) == "shopper@example.com"


def test_login_key_full_casefolds_sharp_s() -> None:
    assert login_key("Straße") == login_key("STRASSE") == "strasse"


def test_login_key_unifies_composed_and_decomposed_forms() -> None:
    composed, decomposed = "Jos\u00e9", "Jose\u0301"
    assert composed != decomposed
    assert login_key(composed) == login_key(decomposed)


def test_login_key_is_idempotent() -> None:
    for value in [fullwidth("ABC"), "Straße", "ﬁle", "Ⅻ", "İstanbul", "ΣΊΣΥΦΟΣ", "x\u0345"]:
        key = login_key(value)
        assert login_key(key) == key, value


def test_normalize_username_keeps_case_but_normalizes_width() -> None:
    assert normalize_username(f" {fullwidth('A')}daLovelace ") == "AdaLovelace"


# -- ticket lifetimes ----------------------------------------------------------------------------

def test_default_lifetimes_for_a_registered_shopper() -> None:
    assert ticket_ttls(TokenLifetimes(), anonymous=False) == (timedelta(minutes=15), timedelta(hours=24))


def test_default_lifetimes_for_an_anonymous_shopper() -> None:
    assert ticket_ttls(TokenLifetimes(), anonymous=True) == (timedelta(minutes=15), timedelta(days=30))


def test_tenant_lifetimes_are_used() -> None:
    lifetimes = TokenLifetimes(access_token_minutes=5, refresh_token_minutes=90, anonymous_refresh_days=2)
    assert ticket_ttls(lifetimes, anonymous=False) == (timedelta(minutes=5), timedelta(minutes=90))
    assert ticket_ttls(lifetimes, anonymous=True) == (timedelta(minutes=5), timedelta(days=2))


def test_requested_lifetimes_within_the_maximums_are_honoured() -> None:
    access, refresh = ticket_ttls(TokenLifetimes(), anonymous=False, requested_access_minutes=30,
                                  requested_refresh_minutes=7 * 24 * 60)
    assert (access, refresh) == (timedelta(minutes=30), timedelta(days=7))


def test_requested_lifetimes_are_capped_by_the_tenant_maximums() -> None:
    lifetimes = TokenLifetimes(max_access_token_minutes=20, max_refresh_token_minutes=600)
    access, refresh = ticket_ttls(lifetimes, anonymous=False, requested_access_minutes=10_000,
                                  requested_refresh_minutes=10_000_000)
    assert (access, refresh) == (timedelta(minutes=20), timedelta(minutes=600))


def test_default_maximums_cap_requests() -> None:
    access, refresh = ticket_ttls(TokenLifetimes(), anonymous=True, requested_access_minutes=10**6,
                                  requested_refresh_minutes=10**9)
    assert (access, refresh) == (timedelta(minutes=60), timedelta(days=30))


def test_only_the_requested_lifetime_changes() -> None:
    access, refresh = ticket_ttls(TokenLifetimes(), anonymous=False, requested_access_minutes=3)
    assert (access, refresh) == (timedelta(minutes=3), timedelta(hours=24))


# -- tenant settings -----------------------------------------------------------------------------

def test_tenant_settings_defaults() -> None:
    settings = TenantSettings()
    assert settings.tokens.access_token_minutes == 15
    assert settings.tokens.refresh_token_minutes == 24 * 60
    assert settings.tokens.anonymous_refresh_days == 30
    assert settings.password.rule == "default"
    assert (settings.password.min_length, settings.password.max_length) == (8, 128)
    assert settings.password.refuse_common is True


def test_tenant_settings_roundtrip_through_json() -> None:
    settings = TenantSettings.model_validate(
        {"tokens": {"access_token_minutes": 5}, "password": {"rule": "kibo-legacy"}})
    assert TenantSettings.model_validate(settings.model_dump()) == settings
    assert TenantSettings.model_validate({}) == TenantSettings()


@pytest.mark.parametrize("data", [
    {"unknown": 1},
    {"tokens": {"acess_token_minutes": 5}},
    {"password": {"rule": "strong"}},
    {"password": {"min_length": 5}},
    {"password": {"min_length": 20, "max_length": 10}},
    {"tokens": {"access_token_minutes": 0}},
    {"tokens": {"access_token_minutes": MAX_ACCESS_TOKEN_MINUTES + 1}},
    {"tokens": {"max_access_token_minutes": MAX_ACCESS_TOKEN_MINUTES + 1}},
    {"tokens": {"app_token_seconds": 59}},
    {"tokens": {"anonymous_refresh_days": 0}},
])
def test_tenant_settings_refuse_unknown_names_and_out_of_range_values(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        TenantSettings.model_validate(data)
