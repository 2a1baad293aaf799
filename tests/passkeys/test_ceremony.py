"""passkeys/ceremony.py against the software authenticator: py_webauthn verifies its answers unmodified,
and every bent answer is refused with the reason an audit entry names."""

from __future__ import annotations

from typing import Any

import pytest

from tests.passkeys.authenticator import Authenticator, b64url, unb64url
from ticketbooth.domain.errors import PasskeyRefused
from ticketbooth.passkeys import ceremony
from ticketbooth.passkeys.ceremony import RelyingParty

RP = RelyingParty("shop.example.com", "Example shop", ("https://shop.example.com",))
HANDLE = b"0123456789abcdef0123456789abcdef"


def _registered(auth: Authenticator) -> tuple[ceremony.NewCredential, Any]:
    options = ceremony.registration_options(RP, user_handle=HANDLE, user_name="ann@example.com", display_name="Ann")
    answer = auth.create(options.options)
    return ceremony.verify_registration(RP, answer, options.challenge), auth.credentials[-1]


def _refused(reason: str, call: Any) -> None:
    with pytest.raises(PasskeyRefused) as caught:
        call()
    assert caught.value.reason == reason, caught.value.__cause__


def test_registration_options_ask_a_discoverable_credential_with_user_verification() -> None:
    options = ceremony.registration_options(RP, user_handle=HANDLE, user_name="ann@example.com",
                                            display_name="Ann", exclude=[b64url(b"x" * 16)])
    o = options.options
    assert o["rp"] == {"id": "shop.example.com", "name": "Example shop"}
    assert unb64url(o["user"]["id"]) == HANDLE and o["user"]["name"] == "ann@example.com"
    assert unb64url(o["challenge"]) == options.challenge and len(options.challenge) == 32
    assert o["authenticatorSelection"]["residentKey"] == "required"
    assert o["authenticatorSelection"]["userVerification"] == "required"
    assert o["excludeCredentials"] == [{"id": b64url(b"x" * 16), "type": "public-key"}]
    assert {"alg": -7, "type": "public-key"} in o["pubKeyCredParams"]
    other = ceremony.registration_options(RP, user_handle=HANDLE, user_name="a", display_name="a")
    assert other.challenge != options.challenge


def test_registration_then_authentication() -> None:
    auth = Authenticator("https://shop.example.com", backup=True)
    new, held = _registered(auth)
    assert new.credential_id == b64url(held.credential_id)
    assert new.sign_count == 0 and new.backup_eligible and new.backed_up
    assert new.transports == ("internal", "hybrid")
    assert new.aaguid == "7e3b2f6b-5a4c-4d2e-9f1a-0b1c2d3e4f50"
    options = ceremony.authentication_options(RP)
    assert options.options["allowCredentials"] == [] and options.options["userVerification"] == "required"
    answer = auth.get(options.options)
    claimed = ceremony.read_assertion(answer)
    assert claimed.credential_id == new.credential_id and claimed.user_handle == HANDLE
    verified = ceremony.verify_authentication(RP, answer, options.challenge, public_key=new.public_key,
                                              sign_count=new.sign_count, user_handle=HANDLE)
    assert verified.new_sign_count == 1 and verified.backed_up


def test_bent_registrations_are_refused() -> None:
    auth = Authenticator("https://shop.example.com")
    options = ceremony.registration_options(RP, user_handle=HANDLE, user_name="a", display_name="a")
    for bend, reason in (({"origin": "https://evil.example"}, ceremony.CEREMONY),
                         ({"rp_id": "evil.example"}, ceremony.CEREMONY),
                         ({"challenge": b64url(b"y" * 32)}, ceremony.CEREMONY),
                         ({"uv": False}, ceremony.USER_VERIFICATION)):
        answer = auth.create(options.options, **bend)
        _refused(reason, lambda a=answer: ceremony.verify_registration(RP, a, options.challenge))
    answer = auth.create(options.options)
    answer["response"]["attestationObject"] = b64url(b"\xff\x00garbage")
    _refused(ceremony.MALFORMED, lambda: ceremony.verify_registration(RP, answer, options.challenge))
    for junk in ({}, {"id": 1}, "text", {"id": "a", "rawId": "b", "response": {}}):
        _refused(ceremony.MALFORMED, lambda j=junk: ceremony.verify_registration(RP, j, options.challenge))


def test_an_assertion_as_a_registration_is_refused() -> None:
    auth = Authenticator("https://shop.example.com")
    _registered(auth)
    options = ceremony.registration_options(RP, user_handle=HANDLE, user_name="a", display_name="a")
    answer = auth.get({"rpId": RP.rp_id, "challenge": options.options["challenge"]})
    _refused(ceremony.MALFORMED, lambda: ceremony.verify_registration(RP, answer, options.challenge))


def test_bent_assertions_are_refused() -> None:
    auth = Authenticator("https://shop.example.com")
    new, held = _registered(auth)
    options = ceremony.authentication_options(RP)

    def verify(answer: dict[str, Any], count: int = 0, handle: bytes | None = HANDLE) -> Any:
        return ceremony.verify_authentication(RP, answer, options.challenge, public_key=new.public_key,
                                              sign_count=count, user_handle=handle)

    for bend, reason in (({"origin": "https://shop.example.com.evil.example"}, ceremony.CEREMONY),
                         ({"rp_id": "example.com"}, ceremony.CEREMONY),
                         ({"challenge": b64url(b"z" * 32)}, ceremony.CEREMONY),
                         ({"uv": False}, ceremony.USER_VERIFICATION),
                         ({"up": False}, ceremony.CEREMONY),
                         ({"user_handle": b"someone else"}, ceremony.USER_HANDLE)):
        answer = auth.get(options.options, **bend)
        _refused(reason, lambda a=answer: verify(a))
    answer = auth.get(options.options)
    answer["response"]["signature"] = b64url(unb64url(answer["response"]["signature"])[:-2] + b"\x00\x00")
    _refused(ceremony.SIGNATURE, lambda: verify(answer))
    # another key's signature
    other = Authenticator("https://shop.example.com")
    _registered(other)
    forged = other.get(options.options)
    forged["id"] = forged["rawId"] = b64url(held.credential_id)
    _refused(ceremony.SIGNATURE, lambda: verify(forged))


def test_a_counter_that_does_not_grow_is_a_clone() -> None:
    auth = Authenticator("https://shop.example.com")
    new, _ = _registered(auth)
    options = ceremony.authentication_options(RP)
    first = auth.get(options.options)
    result = ceremony.verify_authentication(RP, first, options.challenge, public_key=new.public_key, sign_count=0)
    assert result.new_sign_count == 1
    for count in (1, 0):  # the same count again, or a clone that starts over
        answer = auth.get(options.options, sign_count=count)
        _refused(ceremony.COUNTER, lambda a=answer: ceremony.verify_authentication(
            RP, a, options.challenge, public_key=new.public_key, sign_count=result.new_sign_count))


def test_a_counter_kept_at_zero_is_accepted() -> None:
    """Synced passkeys (Apple, Google) keep their counter at 0: no clone detection is possible, none refused."""
    auth = Authenticator("https://shop.example.com", counter_step=0)
    new, _ = _registered(auth)
    for _ in range(2):
        options = ceremony.authentication_options(RP)
        verified = ceremony.verify_authentication(RP, auth.get(options.options), options.challenge,
                                                  public_key=new.public_key, sign_count=0)
        assert verified.new_sign_count == 0


def test_allow_credentials_name_the_credentials() -> None:
    options = ceremony.authentication_options(RP, allow=[b64url(b"a" * 20)])
    assert options.options["allowCredentials"] == [{"id": b64url(b"a" * 20), "type": "public-key"}]
    assert options.options["rpId"] == "shop.example.com"
