"""The pure rules of federation: the linking rule, return URLs, what an ID token's claims say, and the site
settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.policies import FederationSettings
from ticketbooth.federation.rules import (
    AccountFacts,
    Assertion,
    Outcome,
    SignInError,
    assertion_of,
    audience_problem,
    back_to,
    check_alias,
    check_scopes,
    decide,
    needs_email_lookup,
    return_url_allowed,
)

ANN = AccountFacts(1, is_active=True, locked_by_admin=False)
BOB = AccountFacts(2, is_active=True, locked_by_admin=False)
INACTIVE = AccountFacts(3, is_active=False, locked_by_admin=False)
ADMIN_LOCKED = AccountFacts(4, is_active=True, locked_by_admin=True)
VERIFIED = Assertion("sub", "ann@example.com", True, None, None, False)
UNVERIFIED = Assertion("sub", "ann@example.com", False, None, None, False)


def _decide(**given: object) -> tuple[Outcome, int | None, SignInError | None]:
    facts = {"linked": None, "link_flow": False, "link_target": None, "assertion": VERIFIED, "trust_email": False,
             "create_accounts": True, "email_account": None, **given}
    d = decide(**facts)  # type: ignore[arg-type]
    return d.outcome, d.account_id, d.error


def test_rule_1_a_linked_identity_signs_in_to_its_account() -> None:
    assert _decide(linked=ANN, email_account=BOB, trust_email=True) == (Outcome.SIGN_IN, 1, None)
    assert _decide(linked=ANN, assertion=UNVERIFIED) == (Outcome.SIGN_IN, 1, None)
    assert _decide(linked=INACTIVE)[2] is SignInError.ACCOUNT_UNAVAILABLE
    assert _decide(linked=ADMIN_LOCKED)[2] is SignInError.ACCOUNT_UNAVAILABLE
    # a link flow for an identity linked elsewhere, or to the same account (a no-op sign-in)
    assert _decide(linked=ANN, link_flow=True, link_target=BOB)[2] is SignInError.IDENTITY_LINKED_ELSEWHERE
    assert _decide(linked=ANN, link_flow=True, link_target=ANN) == (Outcome.SIGN_IN, 1, None)


def test_rule_2_a_link_flow_links_to_the_signed_in_account_whatever_the_email() -> None:
    assert _decide(link_flow=True, link_target=BOB, assertion=UNVERIFIED) == (Outcome.LINK, 2, None)
    assert _decide(link_flow=True, link_target=BOB, email_account=ANN) == (Outcome.LINK, 2, None)
    assert _decide(link_flow=True, link_target=None)[2] is SignInError.ACCOUNT_UNAVAILABLE
    assert _decide(link_flow=True, link_target=ADMIN_LOCKED)[2] is SignInError.ACCOUNT_UNAVAILABLE


def test_rules_3_and_4_an_existing_email_links_only_for_a_trusted_provider() -> None:
    assert _decide(email_account=ANN, trust_email=True) == (Outcome.LINK, 1, None)
    assert _decide(email_account=ANN, trust_email=False)[2] is SignInError.LINK_REQUIRED
    assert _decide(email_account=ADMIN_LOCKED, trust_email=True)[2] is SignInError.ACCOUNT_UNAVAILABLE


def test_rule_5_new_accounts_and_unverified_emails() -> None:
    assert _decide() == (Outcome.CREATE, None, None)
    assert _decide(create_accounts=False)[2] is SignInError.REGISTRATION_CLOSED
    assert _decide(assertion=UNVERIFIED)[2] is SignInError.EMAIL_UNVERIFIED
    assert _decide(assertion=UNVERIFIED, email_account=ANN, trust_email=True)[2] is SignInError.EMAIL_UNVERIFIED
    no_email = Assertion("sub", None, False, None, None, False)
    assert _decide(assertion=no_email)[2] is SignInError.EMAIL_UNVERIFIED


def test_an_unverified_email_is_never_looked_up() -> None:
    assert needs_email_lookup(None, None, VERIFIED)
    assert not needs_email_lookup(None, None, UNVERIFIED)
    assert not needs_email_lookup(ANN, None, VERIFIED)
    assert not needs_email_lookup(None, ANN, VERIFIED)


def test_return_urls_match_exactly() -> None:
    allowed = ["https://shop.example.com/cb", "https://shop.example.com/cb?x=1"]
    assert return_url_allowed("https://shop.example.com/cb", allowed)
    assert return_url_allowed("https://shop.example.com/cb?x=1", allowed)
    for other in ("https://shop.example.com/cb/", "https://SHOP.example.com/cb", "https://shop.example.com/cb?x=2",
                  "https://shop.example.com/cb/../x", "https://shop.example.com:443/cb", "", None):
        assert not return_url_allowed(other, allowed)
    assert back_to("https://shop.example.com/cb?x=1", {"code": "a b&c"}) == "https://shop.example.com/cb?x=1&code=a+b%26c"


def test_site_settings_refuse_unusable_return_urls() -> None:
    for url in ("javascript:alert(1)", "/relative", "https://shop.example.com/cb#frag", "https://u:p@shop.example.com/",
                "https://shop.example.com/a b", "https://shop.example.com:99999/"):
        with pytest.raises(ValidationError):
            FederationSettings(return_urls=[url])
    assert FederationSettings(return_urls=["http://localhost:3000/cb"]).code_parameter == "code"


def test_claims() -> None:
    a = assertion_of({"sub": "1", "email": "x@example.com", "email_verified": "true", "amr": ["pwd", "mfa"],
                      "given_name": "X"})
    assert a.email_verified and a.mfa and a.given_name == "X"
    assert not assertion_of({"sub": "1", "email": "x@example.com", "email_verified": "yes"}).email_verified
    assert not assertion_of({"sub": "1", "email_verified": True}).email_verified  # no email, nothing verified
    assert assertion_of({"sub": "1", "email": "not an address"}).email is None
    with pytest.raises(ValueError):
        assertion_of({"sub": ""})
    assert audience_problem({"aud": "c"}, "c") is None
    assert audience_problem({"aud": ["c", "d"], "azp": "c"}, "c") is None
    assert audience_problem({"aud": ["c", "d"]}, "c") == "azp"
    assert audience_problem({"aud": "c", "azp": "d"}, "c") == "azp"
    assert audience_problem({"aud": "d"}, "c") == "aud"
    assert audience_problem({}, "c") == "aud"


def test_alias_and_scopes() -> None:
    assert check_alias(" Google ") == "google"
    for bad in ("", "a" * 64, "with space", "12", "-x"):
        with pytest.raises(InvalidParameter):
            check_alias(bad)
    assert check_scopes(None) == ("openid", "email", "profile")
    assert check_scopes(["email"]) == ("openid", "email")
    with pytest.raises(InvalidParameter):
        check_scopes(['quote"'])
