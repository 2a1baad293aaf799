"""passkeys/rules.py and PasskeySettings: pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.policies import PasskeySettings, SiteSettings
from ticketbooth.passkeys import rules

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_off_by_default() -> None:
    assert SiteSettings().passkeys == PasskeySettings() and not PasskeySettings().enabled


@pytest.mark.parametrize("origins", [
    ["https://shop.example.com"], ["https://example.com", "https://www.example.com:8443"],
])
def test_origins_on_the_relying_party(origins: list[str]) -> None:
    assert PasskeySettings(rp_id="example.com", origins=origins).enabled


@pytest.mark.parametrize(("rp_id", "origins"), [
    ("example.com", []),                                    # no origin
    ("example.com", ["https://evil.com"]),                  # not under the rp id
    ("example.com", ["https://notexample.com"]),            # a suffix, not a parent domain
    ("example.com", ["http://shop.example.com"]),           # http only for localhost
    ("example.com", ["https://shop.example.com/path"]),     # an origin has no path
    ("Example.com", ["https://example.com"]),               # lower case
    ("https://example.com", ["https://example.com"]),       # no scheme in an rp id
    ("localhost", ["http://127.0.0.1:3000"]),               # another host
])
def test_settings_that_cannot_work_are_refused(rp_id: str, origins: list[str]) -> None:
    with pytest.raises(ValidationError):
        PasskeySettings(rp_id=rp_id, origins=origins)


def test_localhost_over_http() -> None:
    assert PasskeySettings(rp_id="localhost", origins=["http://localhost:3000"]).origins == ["http://localhost:3000"]


def test_a_fresh_login() -> None:
    assert rules.fresh_login("pwd", NOW - timedelta(minutes=5), NOW, 5)
    assert rules.fresh_login("pwd otp mfa", NOW, NOW, 5) and rules.fresh_login("hwk user mfa", NOW, NOW, 5)
    assert rules.fresh_login("otp", NOW, NOW, 5)
    assert not rules.fresh_login("pwd", NOW - timedelta(minutes=5, seconds=1), NOW, 5)
    assert not rules.fresh_login(None, NOW, NOW, 5)  # a registration's or an administrator's session
    assert not rules.fresh_login("", NOW, NOW, 5) and not rules.fresh_login("fed", NOW, NOW, 5)
    assert not rules.fresh_login("pwd", None, NOW, 5)
    assert not rules.fresh_login("pwd", NOW + timedelta(minutes=1), NOW, 5)


def test_passkey_names() -> None:
    assert rules.passkey_name(None, []) == "Passkey"
    assert rules.passkey_name("  ", ["Passkey", "Passkey 2"]) == "Passkey 3"
    assert rules.passkey_name(" Laptop ", ["Laptop"]) == "Laptop"
    for bad in ("x" * 101, "a\nb", "a\u200bb"):
        with pytest.raises(InvalidParameter):
            rules.passkey_name(bad, [])


def test_the_credential_json_gets_its_names_back() -> None:
    lowered = {"id": "a", "rawid": "a", "type": "public-key", "clientextensionresults": {"credprops": {"rk": True}},
               "response": {"clientdatajson": "x", "attestationobject": "y", "userhandle": "z", "unknownname": 1}}
    assert rules.credential_json(lowered) == {
        "id": "a", "rawId": "a", "type": "public-key", "clientExtensionResults": {"credProps": {"rk": True}},
        "response": {"clientDataJSON": "x", "attestationObject": "y", "userHandle": "z", "unknownname": 1}}
    with pytest.raises(InvalidParameter):
        rules.credential_json("text")
